import FlockComm
import FlockNN
import FlockTensor

/// Turns `precision:` into the matrix products a rank's tapes use, checking the CPU and
/// the bf16 kernel first.
///
/// ```swift
/// let (products, record) = try MixedPrecision.resolve(.auto, threads: BLAS.threadCount)
/// model.parameters.matrixProducts = products
/// ```
public enum MixedPrecision {
    /// `float32`: sgemm. `bf16`: oneDNN's bf16 matmul after its self-check, or a
    /// `ConfigError` at `precision` saying why not. `auto`: bf16 when that would succeed.
    /// With a `world` of several ranks every rank must get bf16 for any to use it (a job
    /// on mixed CPUs under `auto` runs Float32 everywhere; under `bf16` every rank fails,
    /// naming the ranks without it). Collective when `world` has several ranks.
    public static func resolve(_ choice: PrecisionChoice, threads: Int,
                               world: (any Communicator)? = nil) throws -> (MatrixProducts, PrecisionRecord) {
        var record = PrecisionRecord(configured: choice)
        if choice == .float32 { return (.float32, record) }
        let local = bf16Kernel(threads: threads, record: &record)
        var failure: String?
        if case .failure(let reason) = local { failure = reason.description }
        if let world, world.size > 1 {
            let codes = try world.allgather([failure == nil ? 1 : 0] as [Int64])
            let without = codes.indices.filter { codes[$0] != [1] }
            if failure == nil, !without.isEmpty {
                failure = "rank\(without.count == 1 ? "" : "s") \(without.map(String.init).joined(separator: ", ")) cannot run it"
            }
        }
        switch (local, failure) {
        case (.success(let kernel), nil):
            record.used = .bf16
            record.detail = "\(record.library) on \(record.isa), self-check passed"
            return (.bf16(kernel), record)
        default:
            let reason = failure ?? "unknown"
            guard choice == .auto else {
                throw ConfigError(path: "precision", "bf16 is not available here: \(reason); use precision: float32 or auto")
            }
            record.detail = reason
            return (.float32, record)
        }
    }

    /// A bf16 kernel that passed its self-check, or why there is none.
    static func bf16Kernel(threads: Int, record: inout PrecisionRecord) -> Result<BF16MatrixProducts, OneDNNError> {
        guard record.nativeBF16 else {
            return .failure(OneDNNError(description: "the CPU has no native bf16 (\(record.library) runs \(record.isa); bf16 needs AVX512_CORE_BF16 or AMX)"))
        }
        let kernel: BF16MatrixProducts
        do { kernel = try BF16MatrixProducts(threads: threads) } catch let error as OneDNNError {
            return .failure(error)
        } catch {
            return .failure(OneDNNError(description: "\(error)"))
        }
        let check = BF16SelfCheck().run(kernel)
        record.selfCheckError = check.maxRelativeError
        guard check.passed else {
            return .failure(OneDNNError(description: "the bf16 kernel failed its self-check (max relative error \(check.maxRelativeError), bound \(BF16SelfCheck().tolerance))"))
        }
        return .success(kernel)
    }
}
