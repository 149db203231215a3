import CDNNL

/// A created oneDNN primitive with one memory object per argument (data pointers set
/// per call) and its own scratchpad: no state shared between ranks, and nothing
/// allocated per call (the argument list is built once).
final class OneDNNPrimitive {
    private let primitive: dnnl_primitive_t
    private let memories: [dnnl_memory_t]  // the arguments, then the scratchpad
    private let scratchpad: UnsafeMutableRawPointer
    private var arguments: [dnnl_exec_arg_t]
    private let name: String

    /// `descriptor` must have been created with `dnnl_scratchpad_mode_user`;
    /// `arguments` are (DNNL_ARG_…, memory descriptor) pairs, in `setData`'s order.
    init(_ descriptor: dnnl_primitive_desc_t, arguments described: [(Int32, dnnl_memory_desc_t)],
         engine: dnnl_engine_t, name: String) {
        self.name = name
        var made: dnnl_primitive_t?
        OneDNN.check(dnnl_primitive_create(&made, descriptor), "primitive_create(\(name))")
        primitive = made!
        let scratchpadDescriptor = dnnl_primitive_desc_query_md(descriptor, dnnl_query_scratchpad_md, 0)!
        scratchpad = .allocate(byteCount: max(dnnl_memory_desc_get_size(scratchpadDescriptor), 64), alignment: 64)
        var objects: [dnnl_memory_t] = []
        for (_, var memoryDescriptor) in described {
            var memory: dnnl_memory_t?
            OneDNN.check(dnnl_memory_create(&memory, &memoryDescriptor, engine, nil), "memory_create")
            objects.append(memory!)
        }
        var memory: dnnl_memory_t?
        OneDNN.check(dnnl_memory_create(&memory, scratchpadDescriptor, engine, scratchpad), "memory_create(scratchpad)")
        objects.append(memory!)
        memories = objects
        arguments = zip(described.map(\.0) + [flock_dnnl_arg_scratchpad()], objects).map { dnnl_exec_arg_t(arg: $0, memory: $1) }
    }

    deinit {
        for memory in memories { dnnl_memory_destroy(memory) }
        dnnl_primitive_destroy(primitive)
        scratchpad.deallocate()
    }

    /// Points argument `index` (in `init`'s order) at `data` for the next `execute`.
    @inline(__always)
    func setData(_ index: Int, _ data: UnsafeRawPointer) {
        OneDNN.check(dnnl_memory_set_data_handle(memories[index], UnsafeMutableRawPointer(mutating: data)), "memory_set_data_handle")
    }

    /// Runs on `stream` (in order, on the calling thread's OpenMP team).
    func execute(stream: dnnl_stream_t) {
        OneDNN.check(dnnl_primitive_execute(primitive, stream, Int32(arguments.count), &arguments), "primitive_execute(\(name))")
    }

    /// A 2-D memory descriptor at the given strides (elements between rows, between columns).
    static func matrix(rows: Int, columns: Int, strides: (Int, Int), type: dnnl_data_type_t) -> dnnl_memory_desc_t {
        var descriptor = dnnl_memory_desc_t()
        var dimensions: [Int64] = [Int64(rows), Int64(columns)], steps: [Int64] = [Int64(strides.0), Int64(strides.1)]
        OneDNN.check(dnnl_memory_desc_init_by_strides(&descriptor, 2, &dimensions, type, &steps), "memory_desc_init_by_strides")
        return descriptor
    }
}
