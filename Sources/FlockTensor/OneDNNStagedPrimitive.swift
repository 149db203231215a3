import CDNNL

/// A oneDNN primitive whose arguments Flock holds as plain Float32 tensors while the
/// primitive works on the layouts and types it chose for this CPU (created with
/// `format any`): each argument whose layout differs goes through a reorder into a
/// buffer this object owns before the primitive runs (inputs; bf16 rounding happens
/// here) or out of it after (outputs). An accumulated output is always reordered, with
/// a sum post-op, so the primitive's result is added to the tensor's old contents.
final class OneDNNStagedPrimitive {
    /// One argument: its DNNL_ARG_…, Flock's plain layout, what the primitive was asked for.
    struct Argument {
        var kind: Int32
        var user: dnnl_memory_desc_t
        var query: dnnl_query_t
        var role: Role
    }

    enum Role { case input, output, accumulatedOutput }

    /// A reorder and the buffer between it and the primitive.
    private struct Staging {
        let reorder: OneDNNPrimitive
        let buffer: UnsafeMutableRawPointer
    }

    private let primitive: OneDNNPrimitive
    private let roles: [Role]
    private let stagings: [Staging?]

    /// nil when oneDNN has no reorder between a plain layout and the primitive's.
    init?(_ descriptor: dnnl_primitive_desc_t, arguments: [Argument], engine: dnnl_engine_t, name: String) {
        var described: [(Int32, dnnl_memory_desc_t)] = [], stagings: [Staging?] = []
        for argument in arguments {
            var wanted = dnnl_primitive_desc_query_md(descriptor, argument.query, 0)!.pointee
            described.append((argument.kind, wanted))
            var user = argument.user
            if argument.role != .accumulatedOutput, dnnl_memory_desc_equal(&user, &wanted) != 0 {
                stagings.append(nil)
                continue
            }
            let reorder = argument.role == .input
                ? OneDNNReorder.make(from: user, to: wanted, engine: engine)
                : OneDNNReorder.make(from: wanted, to: user, beta: argument.role == .accumulatedOutput ? 1 : 0, engine: engine)
            guard let reorder else {
                for case let staging? in stagings { staging.buffer.deallocate() }
                return nil
            }
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(dnnl_memory_desc_get_size(&wanted), 64), alignment: 64)
            stagings.append(Staging(reorder: reorder, buffer: buffer))
        }
        primitive = OneDNNPrimitive(descriptor, arguments: described, engine: engine, name: name)
        roles = arguments.map(\.role)
        self.stagings = stagings
    }

    deinit {
        for case let staging? in stagings { staging.buffer.deallocate() }
    }

    /// Runs on `stream` with `data[i]` the plain tensor of argument i (init's order).
    func execute(_ data: [UnsafeRawPointer], stream: dnnl_stream_t) {
        for (index, staging) in stagings.enumerated() {
            guard let staging else { primitive.setData(index, data[index]); continue }
            primitive.setData(index, staging.buffer)
            if roles[index] == .input { run(staging.reorder, from: data[index], to: staging.buffer, stream: stream) }
        }
        primitive.execute(stream: stream)
        for (index, staging) in stagings.enumerated() where roles[index] != .input {
            if let staging { run(staging.reorder, from: staging.buffer, to: data[index], stream: stream) }
        }
        OneDNN.check(dnnl_stream_wait(stream), "stream_wait")
    }

    private func run(_ reorder: OneDNNPrimitive, from source: UnsafeRawPointer, to target: UnsafeRawPointer,
                     stream: dnnl_stream_t) {
        reorder.setData(0, source)
        reorder.setData(1, target)
        reorder.execute(stream: stream)
    }
}
