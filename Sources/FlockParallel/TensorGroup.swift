import FlockComm
import FlockTensor

/// The ranks that split the same layers' weights (a tensor-parallel group), with the
/// collectives tensor-parallel layers put on the tape: Megatron-LM's pair `f` (identity
/// forward, allreduce backward) and `g` (allreduce forward, identity backward), and a
/// gather along the last axis.
///
/// Tape ops cannot throw (backward runs inside `Tape.backward`), so the first failed
/// collective is kept, later ones are skipped, and `rethrow()` raises it after the pass.
public final class TensorGroup {
    public let communicator: any Communicator
    private var failure: (any Error)?

    public init(communicator: any Communicator) {
        self.communicator = communicator
    }

    public var rank: Int { communicator.rank }
    public var width: Int { communicator.size }

    /// Throws the first collective failure since the last call.
    public func rethrow() throws {
        if let failure {
            self.failure = nil
            throw failure
        }
    }

    /// `f`: the input of a column-parallel layer. Forward: the same values; backward: the
    /// input gradient summed over the group (each rank saw only its columns' part).
    public func copyIn(_ x: Variable) -> Variable {
        x.tape.record(x.value, inputs: [x]) { [self] tape, gradient in
            tape.accumulate(allreduceSum(gradient), into: x)
        }
    }

    /// `g`: the output of a row-parallel layer. Forward: the partial products summed over
    /// the group; backward: the gradient as is (every rank's partial fed the sum).
    public func reduceOut(_ x: Variable) -> Variable {
        x.tape.record(allreduceSum(x.value), inputs: [x]) { tape, gradient in
            tape.accumulate(gradient, into: x)
        }
    }

    /// The whole last axis from every rank's slice of it: (…, split.length(of: rank)) →
    /// (…, split.count). Backward keeps this rank's columns of the gradient.
    public func gatherLastAxis(_ x: Variable, split: UnevenSplit) -> Variable {
        let local = x.value, width = split.length(of: rank), rows = local.shape.dropLast().reduce(1, *)
        var gathered = [Float](repeating: 0, count: rows * split.count)
        if failure == nil {
            do {
                var blocks = [Float](repeating: 0, count: rows * split.count)
                try local.scalars.withUnsafeBufferPointer { send in
                    try blocks.withUnsafeMutableBufferPointer {
                        try communicator.allgather(send, into: $0, counts: split.lengths.map { $0 * rows })
                    }
                }
                // Rank r's block is (rows, width_r); interleave the blocks row by row.
                for part in 0..<split.parts {
                    let blockStart = split.start(of: part) * rows, partWidth = split.length(of: part), column = split.start(of: part)
                    for row in 0..<rows {
                        for k in 0..<partWidth { gathered[row * split.count + column + k] = blocks[blockStart + row * partWidth + k] }
                    }
                }
            } catch { failure = error }
        }
        let output = Tensor(shape: Array(local.shape.dropLast()) + [split.count], scalars: gathered)
        let column = split.start(of: rank)
        return x.tape.record(output, inputs: [x]) { tape, gradient in
            var mine = [Float](repeating: 0, count: rows * width)
            for row in 0..<rows {
                for k in 0..<width { mine[row * width + k] = gradient.scalars[row * split.count + column + k] }
            }
            tape.accumulate(Tensor(shape: local.shape, scalars: mine), into: x)
        }
    }

    /// The elementwise sum of `tensor` over the group (the tensor itself after a failure).
    func allreduceSum(_ tensor: Tensor) -> Tensor {
        guard failure == nil, width > 1 else { return tensor }
        var result = tensor
        do {
            try result.scalars.withUnsafeMutableBufferPointer { try communicator.allreduce($0, operation: .sum) }
        } catch {
            failure = error
            return tensor
        }
        return result
    }
}
