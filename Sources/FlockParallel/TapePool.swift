import FlockTensor

/// Tapes for the micro-batches a pipeline stage holds at once: one per micro-batch in
/// flight, reset and reused (with their storage) once its backward is done.
struct TapePool {
    private var free: [Tape] = []

    mutating func acquire(parameters: ParameterStore) -> Tape {
        if let tape = free.popLast(), tape.parameters === parameters { return tape }
        return Tape(parameters: parameters)
    }

    mutating func release(_ tape: Tape) {
        tape.reset()
        free.append(tape)
    }
}
