extension Tape {
    /// Rows of an embedding table picked by token ids, reading the store in place.
    ///
    /// Shapes: ids (B, T) holding integers in 0..<V (as floats, the way every dataset
    /// holds features); table (V, D); output (B, T, D).
    ///
    /// Backward has only a weight part: d table[id] += g at every position holding `id`.
    /// Ids are constants; nothing flows back into them.
    public func embedding(ids: Tensor, table: ParameterSlot) -> Variable {
        let (vocabulary, width) = (table.shape[0], table.shape[1])
        let rows = ids.scalars.map { id -> Int in
            let row = Int(id)
            precondition(id == id.rounded(.towardZero) && row >= 0 && row < vocabulary,
                         "token id \(id) outside the vocabulary 0..<\(vocabulary) of \(table.name)")
            return row
        }
        let store = parameters
        let y = makeTensor(shape: ids.shape + [width], uninitializedFill: { out in
            store.withParameter(table) { t in
                for (position, row) in rows.enumerated() where width > 0 {
                    (out.baseAddress! + position * width).update(from: t.baseAddress! + row * width, count: width)
                }
            }
        })
        let node = recordWithWeights(y, inputBackward: { _, _ in }, weightBackward: { tape, g in
            g.scalars.withUnsafeBufferPointer { pg in
                tape.accumulateParameterGradient(table) { dt in
                    // Row pointers: `row * width + j` would be overflow-checked per element.
                    for (position, row) in rows.enumerated() where width > 0 {
                        let target = dt.baseAddress! + row * width, source = pg.baseAddress! + position * width
                        for j in 0..<width { target[j] += source[j] }
                    }
                }
            }
        })
        noteUse(of: table, atNode: node.id)
        return node
    }
}
