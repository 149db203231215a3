import FlockComm
import FlockTensor

/// Moves activations and their gradients between neighbouring pipeline stages: a tagged
/// send of a small header (the micro-batch and the tensor's shape) and then the values,
/// so the receiver learns the shape of whatever batch comes (the short last batch of an
/// epoch included) and a mismatch is an error naming both stages and the micro-batch.
struct StageLink {
    /// What a transfer carries; each has its own tags.
    enum Payload: Int {
        case activation = 0
        case gradient = 1
        case evaluation = 2

        var name: String {
            switch self {
            case .activation: return "activation"
            case .gradient: return "activation gradient"
            case .evaluation: return "evaluation activation"
            }
        }
    }

    /// The pipeline group: group rank = stage.
    let communicator: any Communicator
    static let headerLength = 10
    static let maximumRank = headerLength - 2

    var stage: Int { communicator.rank }

    /// Starts sending `tensor`'s header and values; the operations complete later (wait
    /// for them before the step ends).
    func send(_ tensor: Tensor, _ payload: Payload, microBatch: Int, to peer: Int) throws -> [any PendingOperation] {
        precondition(tensor.rank <= Self.maximumRank, "a stage's output of rank \(tensor.rank)")
        var header = [Int64](repeating: -1, count: Self.headerLength)
        header[0] = Int64(microBatch)
        header[1] = Int64(tensor.rank)
        for (axis, size) in tensor.shape.enumerated() { header[2 + axis] = Int64(size) }
        let tag = Self.tag(payload, microBatch: microBatch)
        return [try communicator.startSend(header, to: peer, tag: tag),
                try communicator.startSend(tensor.scalars, to: peer, tag: tag)]
    }

    /// Receives `payload` of `microBatch` from stage `peer`; `expectedShape` (when known)
    /// is checked against what arrived.
    func receive(_ payload: Payload, microBatch: Int, from peer: Int, expectedShape: [Int]?) throws -> Tensor {
        let tag = Self.tag(payload, microBatch: microBatch)
        var header = [Int64](repeating: 0, count: Self.headerLength)
        try header.withUnsafeMutableBufferPointer { try communicator.receive($0, from: peer, tag: tag) }
        let shape = try checkedShape(header, payload: payload, microBatch: microBatch, from: peer, expectedShape: expectedShape)
        let count = shape.reduce(1, *)
        // Received straight into the tensor's storage, with no zeroing pass first.
        let scalars = try [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            try communicator.receive(UnsafeMutableBufferPointer(rebasing: buffer[0..<count]), from: peer, tag: tag)
            initialized = count
        }
        return Tensor(shape: shape, scalars: scalars)
    }

    /// A receive posted before its action runs: header and values land while the stage
    /// computes, straight into the array the tensor will hold.
    struct PostedReceive {
        let payload: Payload
        let microBatch: Int
        let peer: Int
        let expectedShape: [Int]
        let header: PendingReceive<Int64>
        let values: PendingReceive<Float>
    }

    /// Posts the receive of `payload` of `microBatch` from stage `peer`, whose shape the
    /// stage knows in advance (its input, or its output's gradient).
    func post(_ payload: Payload, microBatch: Int, from peer: Int, expectedShape: [Int]) throws -> PostedReceive {
        let tag = Self.tag(payload, microBatch: microBatch)
        return PostedReceive(payload: payload, microBatch: microBatch, peer: peer, expectedShape: expectedShape,
                             header: try communicator.startReceive(count: Self.headerLength, from: peer, tag: tag),
                             values: try communicator.startReceive(count: expectedShape.reduce(1, *), from: peer, tag: tag))
    }

    /// The tensor of a posted receive, once its header matches what the stage expects.
    func complete(_ posted: PostedReceive) throws -> Tensor {
        let shape = try checkedShape(try posted.header.wait(), payload: posted.payload, microBatch: posted.microBatch,
                                     from: posted.peer, expectedShape: posted.expectedShape)
        return Tensor(shape: shape, scalars: try posted.values.wait())
    }

    /// The shape a header announces, checked against the micro-batch and the expected shape.
    private func checkedShape(_ header: [Int64], payload: Payload, microBatch: Int, from peer: Int,
                              expectedShape: [Int]?) throws -> [Int] {
        let rank = Int(header[1])
        guard Int(header[0]) == microBatch, (0...Self.maximumRank).contains(rank),
              header[2..<(2 + rank)].allSatisfy({ $0 >= 0 && $0 < 1 << 31 }) else {
            throw StageTransferError(description: "stage \(stage) expected the \(payload.name) of micro-batch \(microBatch) from stage \(peer), got a header for micro-batch \(header[0]) of rank \(header[1])")
        }
        let shape = header[2..<(2 + rank)].map { Int($0) }
        if let expectedShape, expectedShape != shape {
            throw StageTransferError(description: "stage \(stage) expected the \(payload.name) of micro-batch \(microBatch) from stage \(peer) with shape \(expectedShape), got \(shape)")
        }
        return shape
    }

    /// Tags keep payload kinds apart; within a kind, MPI's non-overtaking order keeps
    /// micro-batches apart, and the header's micro-batch checks it.
    static func tag(_ payload: Payload, microBatch: Int) -> Int {
        payload.rawValue + 3 * (microBatch % 4096)
    }
}

/// A transfer between stages that does not fit what the receiving stage expects.
public struct StageTransferError: Error, CustomStringConvertible {
    public let description: String
}
