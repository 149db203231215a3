/// Flock's optimizer kinds as configs name them. Defaults follow PyTorch.
extension SGD {
    /// `sgd` (momentum 0 by default), `momentum` (heavy ball, 0.9) and `nesterov` (> 0;
    /// 0.9): one kind each, differing only in their defaults.
    public typealias Spec = VariantSpec<Plain>
    public typealias MomentumSpec = VariantSpec<HeavyBall>
    public typealias NesterovSpec = VariantSpec<Nesterov>

    /// What tells the three SGD kinds apart.
    public protocol Variant: Sendable {
        static var typeName: String { get }
        static var defaultMomentum: Double { get }
        static var nesterov: Bool { get }
    }
    public enum Plain: Variant {
        public static let typeName = "sgd", defaultMomentum = 0.0, nesterov = false
    }
    public enum HeavyBall: Variant {
        public static let typeName = "momentum", defaultMomentum = 0.9, nesterov = false
    }
    public enum Nesterov: Variant {
        public static let typeName = "nesterov", defaultMomentum = 0.9, nesterov = true
    }

    public struct VariantSpec<Kind: Variant>: OptimizerKind {
        public static var typeName: String { Kind.typeName }
        public var momentum: Double?
        enum CodingKeys: String, CodingKey, CaseIterable { case momentum }
        public init() {}
        public init(from decoder: any Decoder) throws {
            momentum = try Self.container(decoder, CodingKeys.self).decodeIfPresent(Double.self, forKey: .momentum)
        }
        public func validate(path: String) throws {
            if let momentum { try Check.inRange(float: momentum, 0, 1, "\(path).momentum") }
            let mu = momentum ?? Kind.defaultMomentum
            if Kind.nesterov, Float(mu) == 0 {
                throw ConfigError(path: "\(path).momentum", "nesterov needs momentum > 0" + (mu == 0 ? "" : ", got \(mu), which is 0.0 as a 32-bit float"))
            }
        }
        public func makeOptimizer(weightDecay: Float) -> any Optimizer {
            SGD(momentum: Float(momentum ?? Kind.defaultMomentum), nesterov: Kind.nesterov, weightDecay: weightDecay)
        }
    }
}

extension AdaGrad {
    /// `adagrad`: `epsilon` 1e-10.
    public struct Spec: OptimizerKind {
        public static let typeName = "adagrad"
        public var epsilon: Double?
        enum CodingKeys: String, CodingKey, CaseIterable { case epsilon }
        public init() {}
        public init(from decoder: any Decoder) throws {
            epsilon = try Self.container(decoder, CodingKeys.self).decodeIfPresent(Double.self, forKey: .epsilon)
        }
        public func validate(path: String) throws {
            if let epsilon { try Check.positive(float: epsilon, "\(path).epsilon") }
        }
        public func makeOptimizer(weightDecay: Float) -> any Optimizer {
            AdaGrad(epsilon: Float(epsilon ?? 1e-10), weightDecay: weightDecay)
        }
    }
}

extension RMSprop {
    /// `rmsprop`: smoothing constant `alpha` 0.99, `epsilon` 1e-8.
    public struct Spec: OptimizerKind {
        public static let typeName = "rmsprop"
        public var epsilon: Double?
        public var alpha: Double?
        enum CodingKeys: String, CodingKey, CaseIterable { case epsilon, alpha }
        public init() {}
        public init(from decoder: any Decoder) throws {
            let c = try Self.container(decoder, CodingKeys.self)
            epsilon = try c.decodeIfPresent(Double.self, forKey: .epsilon)
            alpha = try c.decodeIfPresent(Double.self, forKey: .alpha)
        }
        public func validate(path: String) throws {
            if let epsilon { try Check.positive(float: epsilon, "\(path).epsilon") }
            if let alpha { try Check.inRange(float: alpha, 0, 1, "\(path).alpha") }
        }
        public func makeOptimizer(weightDecay: Float) -> any Optimizer {
            RMSprop(alpha: Float(alpha ?? 0.99), epsilon: Float(epsilon ?? 1e-8), weightDecay: weightDecay)
        }
    }
}

extension Adam {
    /// `adam` (weight decay added to the gradient) and `adamw` (decoupled weight decay,
    /// 0.01 by default): `beta1` 0.9, `beta2` 0.999, `epsilon` 1e-8.
    public typealias Spec = VariantSpec<Coupled>
    public typealias DecoupledSpec = VariantSpec<Decoupled>

    /// What tells Adam and AdamW apart.
    public protocol Variant: Sendable {
        static var typeName: String { get }
        static var decoupled: Bool { get }
    }
    public enum Coupled: Variant {
        public static let typeName = "adam", decoupled = false
    }
    public enum Decoupled: Variant {
        public static let typeName = "adamw", decoupled = true
    }

    public struct VariantSpec<Kind: Variant>: OptimizerKind {
        public static var typeName: String { Kind.typeName }
        public static var defaultWeightDecay: Double { Kind.decoupled ? 0.01 : 0 }
        public var moments = Moments()
        public init() {}
        public init(from decoder: any Decoder) throws {
            moments = try Moments(Self.container(decoder, Moments.CodingKeys.self))
        }
        public func encode(to encoder: any Encoder) throws { try moments.encode(to: encoder) }
        public func validate(path: String) throws { try moments.validate(path: path) }
        public func makeOptimizer(weightDecay: Float) -> any Optimizer {
            moments.adam(weightDecay: weightDecay, decoupled: Kind.decoupled)
        }
    }

    /// The fields Adam and AdamW share.
    public struct Moments: Codable, Sendable, Equatable {
        public var beta1: Double?
        public var beta2: Double?
        public var epsilon: Double?
        enum CodingKeys: String, CodingKey, CaseIterable { case beta1, beta2, epsilon }

        public init() {}

        init(_ c: KeyedDecodingContainer<CodingKeys>) throws {
            beta1 = try c.decodeIfPresent(Double.self, forKey: .beta1)
            beta2 = try c.decodeIfPresent(Double.self, forKey: .beta2)
            epsilon = try c.decodeIfPresent(Double.self, forKey: .epsilon)
        }

        func validate(path: String) throws {
            if let epsilon { try Check.positive(float: epsilon, "\(path).epsilon") }
            for (field, value) in [("beta1", beta1), ("beta2", beta2)] {
                if let value { try Check.inRange(float: value, 0, 1, "\(path).\(field)") }
            }
        }

        func adam(weightDecay: Float, decoupled: Bool) -> Adam {
            Adam(beta1: Float(beta1 ?? 0.9), beta2: Float(beta2 ?? 0.999), epsilon: Float(epsilon ?? 1e-8),
                 weightDecay: weightDecay, decoupledWeightDecay: decoupled)
        }
    }
}
