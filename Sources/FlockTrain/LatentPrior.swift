import FlockNN

/// Where `Predictor.generate` draws the codes it decodes.
public enum LatentPrior: Sendable, Equatable, CustomStringConvertible {
    /// z ~ N(0, T²): the prior a VAE's KL term pulls its codes toward.
    case standardNormal
    /// z from a mixture of `components` full-covariance Gaussians fitted by EM to the
    /// latent node's values on the training split (a VAE's posterior means): Ghosh et al.'s
    /// ex-post density estimation (ICLR 2020), for codes that do not fill N(0, 1).
    case mixture(components: Int)

    /// The most components `mixture:K` takes.
    public static let componentLimit = 1000

    /// `normal` or `mixture:K` (1 ≤ K ≤ 1000), as `flock generate --prior` reads it.
    public init(parsing text: String) throws {
        if text == "normal" {
            self = .standardNormal
            return
        }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0] == "mixture" else {
            throw ConfigError(path: "prior", "expected 'normal' or 'mixture:K' (K components, 1 to \(Self.componentLimit)), got '\(text)'")
        }
        guard let components = Int(parts[1]), (1...Self.componentLimit).contains(components) else {
            throw ConfigError(path: "prior", "mixture:K needs K from 1 to \(Self.componentLimit), got '\(parts[1])'")
        }
        self = .mixture(components: components)
    }

    public var description: String {
        switch self {
        case .standardNormal: return "normal"
        case let .mixture(components): return "mixture:\(components)"
        }
    }
}
