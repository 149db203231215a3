import FlockTensor
import Foundation

/// How a parameter's first values are drawn. Seeded: element i of a parameter takes draw i
/// of the parameter's own counter-based stream (see `ParameterInitialization`). fan-in/fan-out follow Glorot & Bengio (2010) and He et al. (2015).
public enum Initializer: Sendable, Equatable {
    case zeros
    case ones
    case uniform(low: Float, high: Float)
    case normal(mean: Float, standardDeviation: Float)
    /// U(±√(6/(fanIn + fanOut))).
    case xavierUniform
    /// N(0, 2/(fanIn + fanOut)).
    case xavierNormal
    /// U(±√(6/fanIn)).
    case heUniform
    /// N(0, 2/fanIn).
    case heNormal

    /// Names accepted in configs.
    public static let names = ["zeros", "ones", "uniform", "normal", "xavier_uniform", "glorot_uniform",
                               "xavier_normal", "glorot_normal", "he_uniform", "he_normal"]

    /// Parses a config name; `uniform` and `normal` take `scale` as the half-width /
    /// standard deviation (defaults 0.05, as Keras).
    public init?(name: String, scale: Float = 0.05) {
        switch name {
        case "zeros": self = .zeros
        case "ones": self = .ones
        case "uniform": self = .uniform(low: -scale, high: scale)
        case "normal": self = .normal(mean: 0, standardDeviation: scale)
        case "xavier_uniform", "glorot_uniform": self = .xavierUniform
        case "xavier_normal", "glorot_normal": self = .xavierNormal
        case "he_uniform": self = .heUniform
        case "he_normal": self = .heNormal
        default: return nil
        }
    }

    /// Fills `buffer` with elements `offset ..< offset + buffer.count` (flat, row-major) of
    /// a parameter whose values are drawn from `stream`: element i takes draw i, so a slice
    /// gets the values the whole parameter has there.
    public func fill(_ buffer: UnsafeMutableBufferPointer<Float>, fanIn: Int, fanOut: Int,
                     stream: CounterRandom, offset: Int = 0) {
        let fanIn = Float(Swift.max(fanIn, 1)), fanOut = Float(Swift.max(fanOut, 1))
        func uniform(_ i: Int, _ low: Float, _ high: Float) -> Float { low + (high - low) * stream.uniform(UInt64(offset + i)) }
        func normal(_ i: Int) -> Float { stream.normal(UInt64(offset + i)) }
        switch self {
        case .zeros: buffer.update(repeating: 0)
        case .ones: buffer.update(repeating: 1)
        case let .uniform(low, high): for i in buffer.indices { buffer[i] = uniform(i, low, high) }
        case let .normal(mean, deviation): for i in buffer.indices { buffer[i] = mean + deviation * normal(i) }
        case .xavierUniform:
            let limit = (6 / (fanIn + fanOut)).squareRoot()
            for i in buffer.indices { buffer[i] = uniform(i, -limit, limit) }
        case .xavierNormal:
            let deviation = (2 / (fanIn + fanOut)).squareRoot()
            for i in buffer.indices { buffer[i] = deviation * normal(i) }
        case .heUniform:
            let limit = (6 / fanIn).squareRoot()
            for i in buffer.indices { buffer[i] = uniform(i, -limit, limit) }
        case .heNormal:
            let deviation = (2 / fanIn).squareRoot()
            for i in buffer.indices { buffer[i] = deviation * normal(i) }
        }
    }
}

extension Initializer {
    /// The config name (`uniform` and `normal` with their default scale).
    public var name: String {
        switch self {
        case .zeros: return "zeros"
        case .ones: return "ones"
        case .uniform: return "uniform"
        case .normal: return "normal"
        case .xavierUniform: return "xavier_uniform"
        case .xavierNormal: return "xavier_normal"
        case .heUniform: return "he_uniform"
        case .heNormal: return "he_normal"
        }
    }

    /// Parses an optional config name, naming the field at `path` when it is unknown.
    public static func decode(_ name: String?, path: String) throws -> Initializer? {
        guard let name else { return nil }
        guard let value = Initializer(name: name) else {
            throw ConfigError(path: path, "unknown initializer '\(name)' (expected one of: \(names.joined(separator: ", ")))")
        }
        return value
    }
}
