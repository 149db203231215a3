import FlockTensor

/// One stage's receives, posted a few actions before they are needed, so an activation or
/// gradient lands while the stage computes instead of after its receive action starts
/// (which was a probe, a header round trip and an allocation on the critical path).
///
/// At most `depth` receives are posted at once: each holds one micro-batch's tensor, so
/// the window adds that many tensors to what a schedule keeps in memory.
struct PipelineReceiveWindow {
    static let depth = 2
    private let link: StageLink
    private let actions: [PipelineAction]
    /// The indices of the stage's receive actions, in schedule order.
    private let receiveIndices: [Int]
    private var nextToPost = 0
    /// Posted and not yet taken, oldest first (receives are taken in schedule order).
    private var posted: [(index: Int, transfer: StageLink.PostedReceive)] = []

    init(actions: [PipelineAction], link: StageLink) {
        self.actions = actions
        self.link = link
        receiveIndices = actions.indices.filter { if case .receive = actions[$0] { return true } else { return false } }
    }

    /// Posts the next receives until `depth` are outstanding; `expectedShape` gives a
    /// receive action's tensor shape.
    mutating func postAhead(_ expectedShape: (PipelineAction) -> [Int]) throws {
        while posted.count < Self.depth && nextToPost < receiveIndices.count {
            let index = receiveIndices[nextToPost]
            guard case .receive(let kind, let m, let peer) = actions[index] else { preconditionFailure("not a receive") }
            let transfer = try link.post(kind == .activation ? .activation : .gradient, microBatch: m, from: peer,
                                         expectedShape: expectedShape(actions[index]))
            posted.append((index, transfer))
            nextToPost += 1
        }
    }

    /// Moves the oldest posted transfer along (MPI progresses only inside MPI calls); no
    /// MPI call once it has landed.
    func progress() throws {
        guard let oldest = posted.first else { return }
        _ = try Self.test(oldest.transfer)
    }

    /// Header first, then values: the order they were posted in, which is the order a
    /// receive that matches by source and tag alone must take them in.
    private static func test(_ transfer: StageLink.PostedReceive) throws -> Bool {
        try transfer.header.test() && transfer.values.test()
    }

    /// Whether the receive of action `index`, the next in schedule order, has landed
    /// (posting it first if need be); moves MPI's transfers along.
    mutating func hasLanded(at index: Int, _ expectedShape: (PipelineAction) -> [Int]) throws -> Bool {
        try postAhead(expectedShape)
        guard let oldest = posted.first, oldest.index == index else {
            preconditionFailure("receive action \(index) tested out of schedule order")
        }
        return try Self.test(oldest.transfer)
    }

    /// The tensor received by action `index`, the next receive in schedule order.
    mutating func take(at index: Int, _ expectedShape: (PipelineAction) -> [Int]) throws -> Tensor {
        try postAhead(expectedShape)
        guard let oldest = posted.first, oldest.index == index else {
            preconditionFailure("receive action \(index) taken out of schedule order")
        }
        posted.removeFirst()
        return try link.complete(oldest.transfer)
    }
}
