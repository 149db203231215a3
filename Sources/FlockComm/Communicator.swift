/// How `allreduce` and `reduceScatter` combine values. AVERAGE is SUM then one scale.
public enum ReduceOperation: String, Sendable, CaseIterable {
    case sum, average, max, min
}

/// Collective and point-to-point communication among the ranks of one group, on raw
/// buffers. It knows nothing of tensors or layers.
///
/// Every rank of the group must call the same collectives in the same order with the
/// same element counts (as in MPI). A rank that does not arrive within `deadline`
/// seconds turns into a thrown `CommunicatorError` on the ranks that wait for it, and
/// mismatched counts are detected and thrown rather than producing garbage.
///
/// Buffers are borrowed only for the duration of the call, except for
/// `startAllreduce`, whose buffer must stay valid and untouched until `wait()` returns.
public protocol Communicator: AnyObject {
    var rank: Int { get }
    var size: Int { get }
    /// Seconds a collective waits for its peers before throwing.
    var deadline: Double { get set }
    /// The training step, when the caller sets it, named in errors.
    var step: Int? { get set }

    func barrier() throws
    func broadcast<T: CommunicatorScalar>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int) throws
    /// Combines `buffer` across ranks, in place; every rank ends with identical values.
    func allreduce<T: CommunicatorScalar>(_ buffer: UnsafeMutableBufferPointer<T>, operation: ReduceOperation) throws
    /// Concatenates each rank's `send` in rank order into `receive` (size × send.count).
    func allgather<T: CommunicatorScalar>(_ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>) throws
    /// Like `allgather` with per-rank counts: rank r contributes `counts[r]` elements.
    /// `send` may be this rank's own block of `receive` (it starts at the sum of the lower
    /// ranks' counts): the gather is then in place and nothing is copied for that block
    /// (`MPI_IN_PLACE`), which is how ZeRO gathers rows straight into the whole store.
    func allgather<T: CommunicatorScalar>(_ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>,
                                          counts: [Int]) throws
    /// Combines `send` (size × receive.count) across ranks; rank r receives block r.
    func reduceScatter<T: CommunicatorScalar>(_ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>,
                                              operation: ReduceOperation) throws
    func send<T: CommunicatorScalar>(_ buffer: UnsafeBufferPointer<T>, to destination: Int, tag: Int) throws
    func receive<T: CommunicatorScalar>(_ buffer: UnsafeMutableBufferPointer<T>, from source: Int, tag: Int) throws
    /// Starts sending `values` and returns at once; `wait()` returns when the send is
    /// complete. The operation keeps its own reference to the array (a value: the caller's
    /// later changes copy it first), so nothing is copied up front. Sends to one destination
    /// with one tag arrive in the order they were started, as blocking sends do.
    func startSend<T: CommunicatorScalar>(_ values: [T], to destination: Int, tag: Int) throws -> any PendingOperation
    /// Posts a receive of exactly `count` elements from `source` with `tag` and returns at
    /// once, so the message can land while the caller computes; `wait()` hands over the
    /// values. A message of another length is an error at `wait()`.
    func startReceive<T: CommunicatorScalar>(count: Int, from source: Int, tag: Int) throws -> PendingReceive<T>
    /// Starts an allreduce and returns at once; the result is in `buffer` after `wait()`.
    func startAllreduce<T: CommunicatorScalar>(_ buffer: UnsafeMutableBufferPointer<T>,
                                               operation: ReduceOperation) throws -> any PendingOperation
    /// Starts a reduce-scatter and returns at once; rank r's block of the result is in
    /// `receive` after `wait()`. Both buffers must stay valid and untouched until then
    /// (ZeRO stage 2 reduce-scatters gradient buckets while backward goes on).
    func startReduceScatter<T: CommunicatorScalar>(_ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>,
                                                   operation: ReduceOperation) throws -> any PendingOperation
    /// Starts an allgather with per-rank counts (as the blocking one, in place too) and returns at once;
    /// `receive` holds every rank's values after `wait()`. Both buffers must stay valid and
    /// untouched until then (ZeRO stage 3 gathers the next layer's rows while one runs).
    func startAllgather<T: CommunicatorScalar>(_ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>,
                                               counts: [Int]) throws -> any PendingOperation
    /// `startAllreduce` whose part that crosses hosts travels as `compression` (16-bit
    /// values with error feedback). Backends without hosts to cross ignore it.
    func startAllreduce(_ buffer: UnsafeMutableBufferPointer<Float>, operation: ReduceOperation,
                        compression: WireCompression) throws -> any PendingOperation
    /// A zeroed buffer that lives as long as the communicator and that collectives can
    /// work on without copies (shared memory on one node for MPI). Collective: every rank
    /// calls it with the same count. Put the gradient buffer here.
    func allocateBuffer<T: CommunicatorScalar>(count: Int, of type: T.Type) throws -> UnsafeMutableBufferPointer<T>
    /// Splits the group: ranks with the same `color` form a new group, ordered by
    /// (`key`, old rank). A collective over the whole group.
    func split(color: Int, key: Int) throws -> any Communicator
}

/// A started nonblocking operation.
public protocol PendingOperation: AnyObject {
    /// Blocks until the operation is complete; throws what the operation threw.
    func wait() throws
    /// Whether the operation is complete, without blocking. Over MPI each call also moves
    /// the process's transfers along (MPI progresses only inside MPI calls).
    func test() throws -> Bool
}

extension PendingOperation {
    /// Operations that progress on their own thread only report nothing new.
    public func test() throws -> Bool { false }
}

extension Communicator {
    /// Nothing crosses hosts: the plain allreduce.
    public func startAllreduce(_ buffer: UnsafeMutableBufferPointer<Float>, operation: ReduceOperation,
                               compression: WireCompression) throws -> any PendingOperation {
        try startAllreduce(buffer, operation: operation)
    }

    /// Throws `invalidArgument(detail)` for `operation` unless `valid`: the argument checks
    /// both backends make before a collective starts.
    func checkArgument(_ valid: Bool, _ operation: String, count: Int, _ detail: @autoclosure () -> String) throws {
        guard valid else {
            throw CommunicatorError(operation: operation, rank: rank, count: count, step: step, reason: .invalidArgument(detail()))
        }
    }

    /// Throws when `peer` (a root, source or destination) is not a rank of this group.
    func checkRank(_ peer: Int, _ what: String, _ operation: String, count: Int) throws {
        try checkArgument(peer >= 0 && peer < size, operation, count: count, "\(what) \(peer) is outside 0..<\(size)")
    }

    /// Throws unless `send` holds one `receive`-sized block per rank.
    func checkReduceScatter(send: Int, receive: Int) throws {
        try checkArgument(send == receive * size, "reduceScatter", count: receive,
                          "send buffer holds \(send) elements, needs \(receive * size)")
    }

    /// Allreduce of a Swift array, for small values such as metrics and counts.
    public func allreduce<T: CommunicatorScalar>(_ values: [T], operation: ReduceOperation) throws -> [T] {
        var result = values
        try result.withUnsafeMutableBufferPointer { try allreduce($0, operation: operation) }
        return result
    }

    /// Every rank's `values` (all of the same count), in rank order.
    public func allgather<T: CommunicatorScalar>(_ values: [T]) throws -> [[T]] {
        var gathered = [T](repeating: .zero, count: values.count * size)
        try values.withUnsafeBufferPointer { send in
            try gathered.withUnsafeMutableBufferPointer { try allgather(send, into: $0) }
        }
        return (0..<size).map { Array(gathered[($0 * values.count)..<(($0 + 1) * values.count)]) }
    }

    /// Root's `values`, on every rank (each rank passes an array of the same count).
    public func broadcast<T: CommunicatorScalar>(_ values: [T], root: Int) throws -> [T] {
        var result = values
        try result.withUnsafeMutableBufferPointer { try broadcast($0, root: root) }
        return result
    }
}
