import FlockNN
import FlockTensor

/// `precision:` in a config: the inputs of the matrix products (Dense, attention).
/// Master weights, gradients, optimizer state, losses, softmax and normalization stay
/// Float32 under every choice.
public enum PrecisionChoice: String, ConfigChoice, SettableValue {
    /// OpenBLAS sgemm throughout (the default).
    case float32
    /// bf16 inputs with Float32 accumulation on oneDNN; an error on a CPU without native
    /// bf16 (AVX512-BF16 or AMX) or when the kernel fails its start-up self-check.
    case bf16
    /// bf16 where the CPU multiplies it natively and the self-check passes, else Float32.
    case auto
}

/// The precision a run used and why: `summary.json`'s and `flock doctor`'s `precision`.
public struct PrecisionRecord: Codable, Sendable, Equatable, CustomStringConvertible {
    /// What the config asked for.
    public var configured: PrecisionChoice
    /// What the products use.
    public var used: MatrixPrecision
    /// "oneDNN 2.6.3".
    public var library: String
    /// The instruction set oneDNN runs here ("AVX512_CORE_BF16").
    public var isa: String
    public var nativeBF16: Bool
    /// The bf16 self-check's largest relative error (nil: not run).
    public var selfCheckError: Double?
    /// Why, in words.
    public var detail: String

    enum CodingKeys: String, CodingKey {
        case configured, used, library, isa, detail
        case nativeBF16 = "native_bf16"
        case selfCheckError = "self_check_error"
    }

    public var description: String {
        "precision: \(used.rawValue) (\(configured.rawValue): \(detail))"
    }
}

extension PrecisionRecord {
    /// Float32 as configured, before anything is resolved.
    init(configured: PrecisionChoice) {
        self.init(configured: configured, used: .float32, library: OneDNN.library, isa: OneDNN.effectiveISA,
                  nativeBF16: OneDNN.hasNativeBF16, selfCheckError: nil, detail: "as configured")
    }
}
