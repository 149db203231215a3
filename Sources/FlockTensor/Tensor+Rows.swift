extension Tensor {
    /// Rows `range` of the first axis: (range.count, other axes…).
    public func rows(_ range: Range<Int>) -> Tensor {
        let width = shape.dropFirst().reduce(1, *)
        return Tensor(shape: [range.count] + shape.dropFirst(),
                      scalars: Array(scalars[(range.lowerBound * width)..<(range.upperBound * width)]))
    }

    /// `tensors`, each (nᵢ, featureShape…), stacked along the first axis:
    /// (Σnᵢ, featureShape…); (0, featureShape…) when there are none.
    public static func concatenatingRows(_ tensors: [Tensor], featureShape: [Int]) -> Tensor {
        let rows = tensors.reduce(0) { $0 + ($1.shape.first ?? 0) }
        return Tensor(shape: [rows] + featureShape, scalars: tensors.flatMap(\.scalars))
    }
}
