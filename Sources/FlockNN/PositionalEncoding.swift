import FlockTensor
import Foundation

/// Adds where each position is to a sequence (B, T, D): the fixed sinusoids of Vaswani et
/// al. (2017), PE(t, 2i) = sin(t / 10000^(2i/D)), PE(t, 2i+1) = cos(t / 10000^(2i/D)),
/// or a learned table (T, D) as BERT's.
///
/// Parameters (learned only): `<path>.weight` (T, D).
public struct PositionalEncoding: IncrementalLayer {
    /// (T, D) sinusoids, or nil when learned.
    public let fixed: Tensor?
    public let table: ParameterSlot?
    public let outputShape: [Int]

    public var ownParameters: [ParameterSlot] { table.map { [$0] } ?? [] }

    public func forward(_ input: Variable, context: inout ForwardContext) -> Variable {
        let tape = context.tape
        let positions = table.map { tape.parameter($0) } ?? tape.constant(fixed!)
        return tape.add(input, positions)
    }

    /// The sinusoid table (T, D).
    public static func sinusoids(steps: Int, width: Int) -> Tensor {
        var table = Tensor(zeros: [steps, width])
        for t in 0..<steps {
            for j in 0..<width {
                let frequency = Foundation.pow(10_000, -Double(j - j % 2) / Double(width))
                let angle = Double(t) * frequency
                table.scalars[t * width + j] = Float(j % 2 == 0 ? Foundation.sin(angle) : Foundation.cos(angle))
            }
        }
        return table
    }

    public enum Kind: String, Sendable, CaseIterable {
        case sinusoidal, learned
    }

    /// `{type: positional_encoding, kind: sinusoidal}` or `kind: learned`.
    public struct Spec: LayerSpec, Equatable {
        public static let typeName = "positional_encoding"
        public var kind: Kind

        public init(kind: Kind = .sinusoidal) { self.kind = kind }

        enum CodingKeys: String, CodingKey, CaseIterable { case kind }

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self, alsoAllowed: LayerConfig.sharedKeys, owner: "a positional_encoding layer")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let kind = try c.value(.kind, or: Kind.sinusoidal.rawValue)
            try Check.oneOf(kind, Kind.allCases.map(\.rawValue), decoder.fieldPath(CodingKeys.kind), what: "positional encoding")
            self.init(kind: Kind(rawValue: kind)!)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(kind.rawValue, forKey: .kind)
        }

        public func makeLayer(inputShape: [Int], builder: inout LayerBuilder) throws -> any Layer {
            guard inputShape.count == 2, inputShape.allSatisfy({ $0 > 0 }) else {
                throw builder.error("a positional_encoding layer needs per-sample sequences of shape (steps, features), got \(inputShape)")
            }
            switch kind {
            case .sinusoidal:
                return PositionalEncoding(fixed: Self.sinusoids(inputShape), table: nil, outputShape: inputShape)
            case .learned:
                let table = builder.parameter("weight", shape: inputShape, isDecayed: false,
                                              initializer: .normal(mean: 0, standardDeviation: 0.02))
                return PositionalEncoding(fixed: nil, table: table, outputShape: inputShape)
            }
        }

        private static func sinusoids(_ shape: [Int]) -> Tensor {
            PositionalEncoding.sinusoids(steps: shape[0], width: shape[1])
        }
    }
}

extension LayerConfig {
    /// Adds fixed sinusoidal or learned position vectors to a (T, D) sequence.
    public static func positionalEncoding(_ kind: PositionalEncoding.Kind = .sinusoidal) -> LayerConfig {
        LayerConfig(PositionalEncoding.Spec(kind: kind))
    }
}

extension PositionalEncoding {
    /// No state: each position adds its own row.
    public func beginDecoding(memory: AttentionMemory?, context: inout ForwardContext) -> DecodingState { DecodingState() }

    /// Adds the encoding of `position` alone.
    public func step(_ input: Variable, position: Int, state: inout DecodingState, context: inout ForwardContext) -> Variable {
        let tape = context.tape
        let positions = table.map { tape.parameter($0) } ?? tape.constant(fixed!)
        return tape.add(input, tape.slice(positions, axis: 0, range: position..<(position + 1)))
    }
}
