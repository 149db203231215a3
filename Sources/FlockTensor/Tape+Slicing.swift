/// Slicing and joining along one axis: what recurrent layers use to take a time step
/// out of (B, T, C) or a gate out of (B, 4H), and to stack per-step outputs back.
extension Tape {
    /// The elements of `x` whose index on `axis` lies in `range`; the axis keeps its
    /// place with size `range.count`.
    ///
    /// Shapes: x (outer…, A, inner…) → (outer…, range.count, inner…).
    public func slice(_ x: Variable, axis: Int, range: Range<Int>) -> Variable {
        let shape = x.shape
        precondition(axis >= 0 && axis < shape.count && range.lowerBound >= 0 && range.upperBound <= shape[axis],
                     "slice \(range) on axis \(axis) of shape \(shape)")
        let (outer, inner) = AxisLayout.split(shape, axis: axis)
        let (full, part) = (shape[axis] * inner, range.count * inner)
        let start = range.lowerBound * inner
        var outputShape = shape
        outputShape[axis] = range.count
        let input = x.value
        let y = makeTensor(shape: outputShape, uninitializedFill: { out in
            input.scalars.withUnsafeBufferPointer { source in
                for o in 0..<outer where part > 0 {
                    (out.baseAddress! + o * part).update(from: source.baseAddress! + o * full + start, count: part)
                }
            }
        })
        return record(y, inputs: [x]) { tape, g in
            // The gradient lands in the sliced positions; everything else is 0.
            let dx = Tensor(shape: shape) { out in
                out.update(repeating: 0)
                g.scalars.withUnsafeBufferPointer { pg in
                    for o in 0..<outer where part > 0 {
                        (out.baseAddress! + o * full + start).update(from: pg.baseAddress! + o * part, count: part)
                    }
                }
            }
            tape.accumulate(dx, into: x)
        }
    }

    /// `parts` joined along `axis`; every other axis must agree.
    ///
    /// Shapes: each part (outer…, Aᵢ, inner…) → (outer…, ΣAᵢ, inner…).
    public func concatenate(_ parts: [Variable], axis: Int) -> Variable {
        precondition(!parts.isEmpty, "concatenate of no tensors")
        let first = parts[0].shape
        let (outer, inner) = AxisLayout.split(first, axis: axis)
        let sizes = parts.map { part -> Int in
            var expected = part.shape
            expected[axis] = first[axis]
            precondition(expected == first, "concatenate along axis \(axis) of shapes \(first) and \(part.shape)")
            return part.shape[axis] * inner
        }
        let total = sizes.reduce(0, +)
        var outputShape = first
        outputShape[axis] = total / Swift.max(inner, 1)
        let values = parts.map(\.value)
        let y = makeTensor(shape: outputShape, uninitializedFill: { out in
            var offset = 0
            for (value, size) in zip(values, sizes) {
                value.scalars.withUnsafeBufferPointer { source in
                    for o in 0..<outer where size > 0 {
                        (out.baseAddress! + o * total + offset).update(from: source.baseAddress! + o * size, count: size)
                    }
                }
                offset += size
            }
        })
        return record(y, inputs: parts) { tape, g in
            var offset = 0
            for (part, size) in zip(parts, sizes) {
                defer { offset += size }
                guard part.requiresGradient else { continue }
                let dx = Tensor(shape: part.shape) { out in
                    g.scalars.withUnsafeBufferPointer { pg in
                        for o in 0..<outer where size > 0 {
                            (out.baseAddress! + o * size).update(from: pg.baseAddress! + o * total + offset, count: size)
                        }
                    }
                }
                tape.accumulate(dx, into: part)
            }
        }
    }
}

/// A row-major shape seen around one axis: how many blocks lie before it (`outer`) and
/// how many elements each index of the axis spans (`inner`).
enum AxisLayout {
    static func split(_ shape: [Int], axis: Int) -> (outer: Int, inner: Int) {
        (shape[..<axis].reduce(1, *), shape[(axis + 1)...].reduce(1, *))
    }
}
