import CDNNL

/// How a rank's tapes run Conv2D: per convolution shape, Flock's im2col path or
/// oneDNN's convolution primitives, in the rank's matrix precision. What
/// `ParameterStore.convolutions` holds; one per rank (it keeps primitives per shape and
/// a oneDNN stream, and is used by one thread at a time).
///
/// `choices` is filled at start-up (`ConvolutionTiming` measures both kernels on rank
/// 0, which broadcasts what won) and kept by a resume; a shape not in it runs on
/// `defaultKernel`, a rule of the precision alone, so every rank agrees.
///
/// Threads: oneDNN's parallel regions run on OpenMP (libgomp); `threads` sets the calling
/// thread's team before every primitive, as `BF16MatrixProducts` does.
public final class ConvolutionKernels {
    public let precision: MatrixPrecision
    public let threads: Int
    /// The kernel each shape runs on.
    public var choices: [ConvolutionShape: ConvolutionKernel] = [:]
    /// Every shape the tapes asked about, in first-seen order (the start-up survey).
    public private(set) var seenShapes: [ConvolutionShape] = []
    /// The seen shapes some call of which needed its input's gradient (not a model's
    /// first convolution): what timing includes the backward-data pass for.
    public private(set) var shapesNeedingInputGradient: Set<ConvolutionShape> = []
    private let context: OneDNNContext
    /// nil for a shape oneDNN cannot run here (it then runs on im2col).
    private var convolutions: [OneDNNConvolution.Key: OneDNNConvolution?] = [:]

    /// Throws when oneDNN has no CPU engine (a broken installation).
    public init(precision: MatrixPrecision, threads: Int = 1) throws {
        precondition(threads >= 1, "convolutions need at least one thread, got \(threads)")
        self.precision = precision
        self.threads = threads
        context = try OneDNNContext()
    }

    deinit {
        convolutions.removeAll()  // the primitives before the engine they were made on
    }

    /// bf16 convolutions run on oneDNN (im2col would round the patch matrix, 9× the
    /// input); Float32 ones on im2col + sgemm unless timing chose otherwise.
    public var defaultKernel: ConvolutionKernel { precision == .bf16 ? .onednn : .im2col }

    /// `choices` as `state.json` lists them, in a fixed order (by shape).
    public var choiceList: [ConvolutionChoice] {
        choices.map { ConvolutionChoice(shape: $0.key, kernel: $0.value) }.sorted { $0.shape.description < $1.shape.description }
    }

    /// The kernel `shape` runs on, for a call whose input needs a gradient or not.
    public func kernel(for shape: ConvolutionShape, inputGradient: Bool = true) -> ConvolutionKernel {
        if let chosen = choices[shape] { return chosen }
        if !seenShapes.contains(shape) { seenShapes.append(shape) }
        if inputGradient { shapesNeedingInputGradient.insert(shape) }
        return defaultKernel
    }

    /// oneDNN's primitives for `shape` at `batch`, made on first use; nil when oneDNN has
    /// none here.
    /// Primitives made so far (one per shape, batch and precision run on oneDNN).
    var primitivesMade: Int { convolutions.count }

    func convolution(for shape: ConvolutionShape, batch: Int) -> OneDNNConvolution? {
        let key = OneDNNConvolution.Key(shape: shape, batch: batch, precision: precision)
        if let cached = convolutions[key] { return cached }
        omp_set_num_threads(Int32(threads))  // oneDNN sizes its blocking by the team it will get
        let made = OneDNNConvolution(key, engine: context.engine)
        convolutions[key] = .some(made)
        return made
    }

    /// Runs `body` with the stream, the calling thread's OpenMP team set to `threads`.
    func run<R>(_ body: (dnnl_stream_t) -> R) -> R {
        omp_set_num_threads(Int32(threads))
        return body(context.stream)
    }
}
