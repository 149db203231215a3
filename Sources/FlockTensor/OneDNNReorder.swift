import CDNNL

/// oneDNN reorders: a copy between two layouts or data types of the same dimensions
/// (Float32 → bf16 rounds to nearest, ties to even), on oneDNN's JIT code for this CPU.
enum OneDNNReorder {
    /// The reorder `from` → `to`, adding `beta` times the target's old contents when
    /// `beta` is not 0 (a sum post-op); nil when oneDNN has none for the pair. Its own
    /// scratchpad: the library's would be shared by the ranks' threads.
    static func make(from source: dnnl_memory_desc_t, to target: dnnl_memory_desc_t, beta: Float = 0,
                     engine: dnnl_engine_t) -> OneDNNPrimitive? {
        var source = source, target = target
        var attributes: dnnl_primitive_attr_t?
        OneDNN.check(dnnl_primitive_attr_create(&attributes), "primitive_attr_create")
        defer { dnnl_primitive_attr_destroy(attributes) }
        OneDNN.check(dnnl_primitive_attr_set_scratchpad_mode(attributes, dnnl_scratchpad_mode_user), "set_scratchpad_mode")
        if beta != 0 { OneDNN.appendSum(beta, to: attributes) }
        var descriptor: dnnl_primitive_desc_t?
        guard dnnl_reorder_primitive_desc_create(&descriptor, &source, engine, &target, engine, attributes) == dnnl_success,
              let descriptor else { return nil }
        defer { dnnl_primitive_desc_destroy(descriptor) }
        return OneDNNPrimitive(descriptor, arguments: [(flock_dnnl_arg_from(), source), (flock_dnnl_arg_to(), target)],
                               engine: engine, name: "reorder")
    }
}

extension OneDNN {
    /// Adds `beta · dst` to a primitive's result (oneDNN's sum post-op).
    /// max(x, 0) on the output, the primitive's only post-op (a fused dense layer's ReLU).
    static func appendReLU(to attributes: dnnl_primitive_attr_t?) {
        var postOps: dnnl_post_ops_t?
        check(dnnl_post_ops_create(&postOps), "post_ops_create")
        defer { dnnl_post_ops_destroy(postOps) }
        check(dnnl_post_ops_append_eltwise(postOps, 1, dnnl_eltwise_relu, 0, 0), "post_ops_append_eltwise")
        check(dnnl_primitive_attr_set_post_ops(attributes, postOps), "set_post_ops")
    }

    static func appendSum(_ beta: Float, to attributes: dnnl_primitive_attr_t?) {
        var postOps: dnnl_post_ops_t?
        check(dnnl_post_ops_create(&postOps), "post_ops_create")
        defer { dnnl_post_ops_destroy(postOps) }
        check(dnnl_post_ops_append_sum(postOps, beta), "post_ops_append_sum")
        check(dnnl_primitive_attr_set_post_ops(attributes, postOps), "set_post_ops")
    }
}
