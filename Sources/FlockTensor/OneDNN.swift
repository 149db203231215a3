import CDNNL

/// What oneDNN, Flock's second kernel library, says about itself and this CPU.
///
/// oneDNN picks its instruction set once per process from CPUID, limited by
/// `ONEDNN_MAX_CPU_ISA` (or `DNNL_MAX_CPU_ISA`) in the environment: a test sets
/// `ONEDNN_MAX_CPU_ISA=AVX512_CORE` to stand for a CPU without bf16 instructions.
public enum OneDNN {
    /// "oneDNN 2.6.3".
    public static var library: String {
        guard let version = dnnl_version() else { return "oneDNN" }
        return "oneDNN \(version.pointee.major).\(version.pointee.minor).\(version.pointee.patch)"
    }

    /// The instruction set oneDNN runs, as oneDNN names it in `ONEDNN_MAX_CPU_ISA`.
    public static var effectiveISA: String { name(of: dnnl_get_effective_cpu_isa()) }

    /// Whether oneDNN multiplies bf16 natively here: AVX512-BF16 (Cooper Lake, Zen 4) or
    /// AMX (Sapphire Rapids). Without them a bf16 product is emulated and slower than
    /// Float32, so Flock does not use it.
    public static var hasNativeBF16: Bool {
        let isa = dnnl_get_effective_cpu_isa().rawValue
        let bf16 = dnnl_cpu_isa_avx512_core_bf16.rawValue
        // The ISA values are nested bit sets: AMX contains every bit of AVX512_CORE_BF16.
        return isa & bf16 == bf16
    }

    static func name(of isa: dnnl_cpu_isa_t) -> String {
        switch isa {
        case dnnl_cpu_isa_sse41: return "SSE41"
        case dnnl_cpu_isa_avx: return "AVX"
        case dnnl_cpu_isa_avx2: return "AVX2"
        case dnnl_cpu_isa_avx2_vnni: return "AVX2_VNNI"
        case dnnl_cpu_isa_avx512_mic, dnnl_cpu_isa_avx512_mic_4ops: return "AVX512_MIC"
        case dnnl_cpu_isa_avx512_core: return "AVX512_CORE"
        case dnnl_cpu_isa_avx512_core_vnni: return "AVX512_CORE_VNNI"
        case dnnl_cpu_isa_avx512_core_bf16: return "AVX512_CORE_BF16"
        case dnnl_cpu_isa_avx512_core_amx: return "AVX512_CORE_AMX"
        default: return "ISA 0x\(String(isa.rawValue, radix: 16))"
        }
    }

    /// Stops on a oneDNN call that failed: every call Flock makes is on shapes it checked
    /// and memory it owns, so a failure is a library bug or an out-of-memory.
    @inline(__always)
    static func check(_ status: dnnl_status_t, _ call: @autoclosure () -> String) {
        precondition(status == dnnl_success, "oneDNN \(call()) failed with status \(status.rawValue)")
    }
}
