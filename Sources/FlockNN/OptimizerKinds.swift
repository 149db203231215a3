/// Flock's optimizer kinds as configs name them. Defaults follow PyTorch.
extension SGD {
    /// `sgd`: plain SGD, or with `momentum` (default 0).
    public struct Spec: OptimizerKind {
        public static let typeName = "sgd"
        public var momentum: Double?
        enum CodingKeys: String, CodingKey, CaseIterable { case momentum }
        public init() {}
        public init(from decoder: any Decoder) throws {
            momentum = try Self.container(decoder, CodingKeys.self).decodeIfPresent(Double.self, forKey: .momentum)
        }
        public func validate(path: String) throws { try SGD.checkMomentum(momentum, path: path) }
        public func makeOptimizer(weightDecay: Float) -> any Optimizer {
            SGD(momentum: Float(momentum ?? 0), weightDecay: weightDecay)
        }
    }

    /// `momentum`: heavy-ball SGD, momentum 0.9 by default.
    public struct MomentumSpec: OptimizerKind {
        public static let typeName = "momentum"
        public var momentum: Double?
        enum CodingKeys: String, CodingKey, CaseIterable { case momentum }
        public init() {}
        public init(from decoder: any Decoder) throws {
            momentum = try Self.container(decoder, CodingKeys.self).decodeIfPresent(Double.self, forKey: .momentum)
        }
        public func validate(path: String) throws { try SGD.checkMomentum(momentum, path: path) }
        public func makeOptimizer(weightDecay: Float) -> any Optimizer {
            SGD(momentum: Float(momentum ?? 0.9), weightDecay: weightDecay)
        }
    }

    /// `nesterov`: Nesterov momentum (> 0; 0.9 by default).
    public struct NesterovSpec: OptimizerKind {
        public static let typeName = "nesterov"
        public var momentum: Double?
        enum CodingKeys: String, CodingKey, CaseIterable { case momentum }
        public init() {}
        public init(from decoder: any Decoder) throws {
            momentum = try Self.container(decoder, CodingKeys.self).decodeIfPresent(Double.self, forKey: .momentum)
        }
        public func validate(path: String) throws {
            try SGD.checkMomentum(momentum, path: path)
            let mu = momentum ?? 0.9
            if Float(mu) == 0 {
                throw ConfigError(path: "\(path).momentum", "nesterov needs momentum > 0" + (mu == 0 ? "" : ", got \(mu), which is 0.0 as a 32-bit float"))
            }
        }
        public func makeOptimizer(weightDecay: Float) -> any Optimizer {
            SGD(momentum: Float(momentum ?? 0.9), nesterov: true, weightDecay: weightDecay)
        }
    }

    static func checkMomentum(_ momentum: Double?, path: String) throws {
        if let momentum { try Check.inRange(float: momentum, 0, 1, "\(path).momentum") }
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
    /// `adam`: `beta1` 0.9, `beta2` 0.999, `epsilon` 1e-8; weight decay added to the gradient.
    public struct Spec: OptimizerKind {
        public static let typeName = "adam"
        public var moments = Moments()
        public init() {}
        public init(from decoder: any Decoder) throws {
            moments = try Moments(Self.container(decoder, Moments.CodingKeys.self))
        }
        public func encode(to encoder: any Encoder) throws { try moments.encode(to: encoder) }
        public func validate(path: String) throws { try moments.validate(path: path) }
        public func makeOptimizer(weightDecay: Float) -> any Optimizer { moments.adam(weightDecay: weightDecay, decoupled: false) }
    }

    /// `adamw`: Adam with decoupled weight decay (default 0.01).
    public struct DecoupledSpec: OptimizerKind {
        public static let typeName = "adamw"
        public static var defaultWeightDecay: Double { 0.01 }
        public var moments = Moments()
        public init() {}
        public init(from decoder: any Decoder) throws {
            moments = try Moments(Self.container(decoder, Moments.CodingKeys.self))
        }
        public func encode(to encoder: any Encoder) throws { try moments.encode(to: encoder) }
        public func validate(path: String) throws { try moments.validate(path: path) }
        public func makeOptimizer(weightDecay: Float) -> any Optimizer { moments.adam(weightDecay: weightDecay, decoupled: true) }
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
