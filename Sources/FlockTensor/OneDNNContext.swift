import CDNNL

/// A oneDNN CPU engine and an in-order stream on it: one per rank-level kernel object
/// (matrix products, convolutions), used by one thread at a time.
final class OneDNNContext {
    let engine: dnnl_engine_t
    let stream: dnnl_stream_t

    /// Throws when oneDNN has no CPU engine (a broken installation).
    init() throws {
        var engine: dnnl_engine_t?
        guard dnnl_engine_create(&engine, dnnl_cpu, 0) == dnnl_success, let engine else {
            throw OneDNNError(description: "\(OneDNN.library) could not create a CPU engine")
        }
        var stream: dnnl_stream_t?
        guard dnnl_stream_create(&stream, engine, dnnl_stream_default_flags.rawValue) == dnnl_success, let stream else {
            dnnl_engine_destroy(engine)
            throw OneDNNError(description: "\(OneDNN.library) could not create a CPU stream")
        }
        self.engine = engine
        self.stream = stream
    }

    deinit {
        dnnl_stream_destroy(stream)
        dnnl_engine_destroy(engine)
    }
}
