/// A receive posted ahead of need (`Communicator.startReceive`): the values land in this
/// object's array, which `wait()` hands over without a copy.
public final class PendingReceive<T: CommunicatorScalar> {
    /// Written by the transport until the operation completes; read only after.
    private var storage: [T]
    private var operation: (any PendingOperation)?
    private var isComplete = false

    /// `start` posts the receive into the buffer it is given and returns the operation
    /// that completes it. The buffer is the array's own storage: the array is never
    /// resized and nothing else holds it until `wait()` returns, so it does not move.
    init(count: Int, start: (UnsafeMutableBufferPointer<T>) throws -> any PendingOperation) rethrows {
        // Scalars are plain values: uninitialized storage is filled by the transport.
        storage = [T](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
        let buffer = storage.withUnsafeMutableBufferPointer { $0 }
        operation = try start(buffer)
    }

    deinit {
        // A receive still posted (a failed step) may yet be written by MPI: its storage is
        // left to the process's end rather than freed under MPI's feet.
        if !isComplete { _ = Unmanaged.passRetained(AbandonedStorage(storage)) }
    }

    /// Whether the values have arrived, without blocking; moves MPI's transfers along.
    public func test() throws -> Bool {
        if isComplete { return true }
        isComplete = try operation?.test() ?? true
        return isComplete
    }

    /// Blocks until the values have arrived and returns them.
    public func wait() throws -> [T] {
        if !isComplete {
            try operation?.wait()
            isComplete = true
        }
        operation = nil
        return storage
    }
}

/// Keeps the storage of a transfer abandoned in flight alive to the process's end (retained
/// once more and never released), since MPI may still read or write it.
final class AbandonedStorage<T> {
    let storage: [T]
    init(_ storage: [T]) { self.storage = storage }
}
