import FlockTensor

/// Gathers rows from every rank of a data group, for a loss computed over the global
/// batch (triplet mining): each rank passes its (n, width) rows and gets every rank's, in
/// rank order, with the offset of its own. Made by the step around a communicator
/// (FlockParallel); a failed collective is kept (the loss carries on with its own rows)
/// and thrown after the micro-batch's backward by `rethrow()`.
public final class BatchGather {
    private let gatherRows: ([Float], Int) throws -> (values: [Float], offset: Int)
    private var failure: (any Error)?

    /// `gather(rows, width)` returns every rank's rows and this rank's first row's index.
    public init(_ gather: @escaping ([Float], Int) throws -> (values: [Float], offset: Int)) {
        gatherRows = gather
    }

    /// Every rank's rows of `width` values, and where this rank's start; nil after a failure.
    public func gather(_ rows: [Float], width: Int) -> (values: [Float], offset: Int)? {
        guard failure == nil else { return nil }
        do { return try gatherRows(rows, width) } catch {
            failure = error
            return nil
        }
    }

    /// Throws the first failure of a gather.
    public func rethrow() throws {
        if let failure { throw failure }
    }
}

/// A loss kind computed over the global batch: given a gather, its value is the loss of
/// every rank's rows, and its backward sends each rank the gradient of its own rows,
/// scaled so that the data group's average is the global loss's gradient.
public protocol GlobalBatchLoss: LossKind {
    func callAsFunction(_ prediction: Variable, target: Tensor, gather: BatchGather?) -> Variable
}

extension GlobalBatchLoss {
    public func callAsFunction(_ prediction: Variable, target: Tensor) -> Variable {
        self(prediction, target: target, gather: nil)
    }
}
