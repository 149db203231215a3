import FlockTensor

extension OptimizerStateShard {
    /// This rank's rows of every parameter's values, back to back in slot order (the
    /// layout of `store`): what a stage-3 rank keeps of a copy of the weights.
    public func ownValues() -> [Float] {
        parameters.withParameters { rows(of: UnsafeBufferPointer($0)) }
    }

    /// Sets this rank's rows of every parameter from `compact` (as `ownValues` returns them).
    public func setOwnValues(_ compact: ArraySlice<Float>) {
        precondition(compact.count == store.count, "expected \(store.count) values of this rank's rows, got \(compact.count)")
        parameters.withParameters { values in
            forEachOwnedRun { full, part in
                let start = compact.startIndex + part.lowerBound
                _ = UnsafeMutableBufferPointer(rebasing: values[full]).update(fromContentsOf: compact[start..<(start + part.count)])
            }
        }
    }
}
