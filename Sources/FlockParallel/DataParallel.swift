import FlockComm
import FlockTensor
import Foundation

/// Data parallelism for one rank: the gradient buffer lives in memory the communicator
/// provides, gradients are averaged bucket by bucket while backward is still running,
/// and the optimizer step waits for all buckets (PyTorch DDP's design, without copies
/// into fusion buffers: a bucket is a contiguous range of the flat gradient buffer).
///
/// Per step:
/// ```swift
/// dataParallel.prepare(synchronize: true)   // false for accumulation micro-steps
/// tape.backward(from: loss, seed: scale)    // buckets start as their gradients finish
/// try dataParallel.finish()                 // waits; gradients are now the average
/// optimizer.step(parameters, learningRate: lr)
/// ```
public final class DataParallel {
    public let parameters: ParameterStore
    public let communicator: any Communicator
    public let buckets: GradientBuckets
    /// Start each bucket's allreduce during backward (true) or all after it (false).
    public var overlap: Bool
    /// How the buckets cross hosts: 16-bit values with error feedback, or Float32.
    public let compression: WireCompression
    private var remaining: [Int]
    private var pending: [(any PendingOperation)?]
    private var synchronizing = true
    /// Seconds the last `finish()` waited for allreduces after backward ended.
    public private(set) var lastExposedSeconds = 0.0
    /// Buckets of the last synchronizing step whose allreduce backward started (the
    /// overlap); the others started in `finish()`.
    public private(set) var bucketsStartedDuringBackward = 0

    /// Moves the store's gradients into communicator memory. Collective.
    public init(parameters: ParameterStore, communicator: any Communicator, bucketBytes: Int, overlap: Bool = true,
                compression: WireCompression = .none) throws {
        self.parameters = parameters
        self.communicator = communicator
        self.overlap = overlap
        self.compression = compression
        buckets = GradientBuckets(slots: parameters.slots, bucketBytes: bucketBytes)
        remaining = buckets.buckets.map(\.slots.count)
        pending = Array(repeating: nil, count: buckets.buckets.count)
        let memory = try communicator.allocateBuffer(count: parameters.count, of: Float.self)
        parameters.useGradientMemory(memory)
    }

    /// Makes every rank's parameters and buffers rank `root`'s. Collective.
    public func broadcastModelState(root: Int = 0) throws {
        try parameters.withParameters { try communicator.broadcast($0, root: root) }
        if !parameters.bufferSlots.isEmpty {
            try parameters.withBuffers { try communicator.broadcast($0, root: root) }
        }
    }

    /// Hooks the bucket launches onto `tape`'s gradient-ready events.
    public func attach(to tape: Tape) {
        tape.addGradientReadyObserver { [unowned self] slot in self.gradientReady(slot) }
    }

    /// Call before each backward. With `synchronize: false` (accumulation micro-steps)
    /// gradients only accumulate locally.
    public func prepare(synchronize: Bool) {
        synchronizing = synchronize
        remaining = buckets.buckets.map(\.slots.count)
        if synchronize { bucketsStartedDuringBackward = 0 }
    }

    private func gradientReady(_ slot: ParameterSlot) {
        guard synchronizing && overlap else { return }
        let bucket = buckets.bucketOfSlot[slot.index]
        remaining[bucket] -= 1
        if remaining[bucket] == 0 {
            start(bucket)
            bucketsStartedDuringBackward += 1
        }
    }

    private func start(_ bucket: Int) {
        guard pending[bucket] == nil else { return }
        let range = buckets.buckets[bucket].range
        do {
            pending[bucket] = try parameters.withGradients { gradients in
                try communicator.startAllreduce(UnsafeMutableBufferPointer(rebasing: gradients[range]), operation: .average,
                                                compression: compression)
            }
        } catch {
            pending[bucket] = FailedOperation(error: error)
        }
    }

    /// Starts the buckets backward did not (unused parameters, no overlap, or a rank
    /// with no samples this step) in bucket order, and waits for all of them.
    public func finish() throws {
        guard synchronizing else { return }
        let started = DispatchTime.now().uptimeNanoseconds
        for bucket in buckets.buckets.indices where pending[bucket] == nil { start(bucket) }
        var firstError: (any Error)?
        for bucket in pending.indices {
            do { try pending[bucket]?.wait() } catch { firstError = firstError ?? error }
            pending[bucket] = nil
        }
        lastExposedSeconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        if let firstError { throw firstError }
    }
}

/// An allreduce that could not even start; `wait()` rethrows why.
private final class FailedOperation: PendingOperation {
    let error: any Error
    init(error: any Error) { self.error = error }
    func wait() throws { throw error }
}
