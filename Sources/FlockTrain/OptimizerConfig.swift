import FlockNN

/// `optimizer: {name: adam, lr: 0.001}`. Defaults follow PyTorch.
public struct OptimizerConfig: Codable, Equatable, Sendable {
    public static let names = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"]

    public var name: String
    public var lr: Double
    /// sgd: 0; `momentum` and `nesterov`: 0.9.
    public var momentum: Double?
    /// 0, except adamw: 0.01.
    public var weightDecay: Double?
    public var beta1: Double?
    public var beta2: Double?
    public var epsilon: Double?
    /// RMSprop's smoothing constant (0.99).
    public var alpha: Double?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, lr, momentum, beta1, beta2, epsilon, alpha
        case weightDecay = "weight_decay"
    }

    public init(name: String = "adam", lr: Double = 0.001) {
        self.name = name
        self.lr = lr
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.value(.name, or: "adam")
        lr = try c.value(.lr, or: 0.001)
        momentum = try c.decodeIfPresent(Double.self, forKey: .momentum)
        weightDecay = try c.decodeIfPresent(Double.self, forKey: .weightDecay)
        beta1 = try c.decodeIfPresent(Double.self, forKey: .beta1)
        beta2 = try c.decodeIfPresent(Double.self, forKey: .beta2)
        epsilon = try c.decodeIfPresent(Double.self, forKey: .epsilon)
        alpha = try c.decodeIfPresent(Double.self, forKey: .alpha)
    }

    public func makeOptimizer(path: String) throws -> any Optimizer {
        try Check.oneOf(name, Self.names, "\(path).name", what: "optimizer")
        // Checked as the Float each optimizer holds (see Check.inRange(float:)).
        try Check.positive(float: lr, "\(path).lr")
        let decay: Double = weightDecay ?? (name == "adamw" ? 0.01 : 0)
        try Check.nonNegative(float: decay, "\(path).weight_decay")
        if let epsilon { try Check.positive(float: epsilon, "\(path).epsilon") }
        for (field, value) in [("beta1", beta1), ("beta2", beta2), ("alpha", alpha)] {
            if let value { try Check.inRange(float: value, 0, 1, "\(path).\(field)") }
        }
        if let momentum { try Check.inRange(float: momentum, 0, 1, "\(path).momentum") }
        switch name {
        case "sgd", "momentum", "nesterov":
            let mu = momentum ?? (name == "sgd" ? 0 : 0.9)
            if name == "nesterov", Float(mu) == 0 {
                throw ConfigError(path: "\(path).momentum", "nesterov needs momentum > 0" + (mu == 0 ? "" : ", got \(mu), which is 0.0 as a 32-bit float"))
            }
            return SGD(momentum: Float(mu), nesterov: name == "nesterov", weightDecay: Float(decay))
        case "adagrad":
            return AdaGrad(epsilon: Float(epsilon ?? 1e-10), weightDecay: Float(decay))
        case "rmsprop":
            return RMSprop(alpha: Float(alpha ?? 0.99), epsilon: Float(epsilon ?? 1e-8), weightDecay: Float(decay))
        default:
            return Adam(beta1: Float(beta1 ?? 0.9), beta2: Float(beta2 ?? 0.999), epsilon: Float(epsilon ?? 1e-8),
                        weightDecay: Float(decay), decoupledWeightDecay: name == "adamw")
        }
    }
}

/// `schedule: {name: cosine, warmup_epochs: 2}`.
public struct ScheduleConfig: Codable, Equatable, Sendable {
    public static let names = ["constant", "step", "exponential", "cosine"]

    public var name: String
    /// step: epochs between decays (10).
    public var stepSize: Int?
    /// step: 0.1; exponential: 0.95.
    public var gamma: Double?
    /// cosine: the final learning rate (0).
    public var minLR: Double?
    /// Linear warm-up over this many epochs (0).
    public var warmupEpochs: Int?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, gamma
        case stepSize = "step_size"
        case minLR = "min_lr"
        case warmupEpochs = "warmup_epochs"
    }

    public init(name: String = "constant") {
        self.name = name
    }

    public init(from decoder: any Decoder) throws {
        if let shorthand = try? decoder.singleValueContainer().decode(String.self) {
            self.init(name: shorthand)
            return
        }
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(name: try c.value(.name, or: "constant"))
        stepSize = try c.decodeIfPresent(Int.self, forKey: .stepSize)
        gamma = try c.decodeIfPresent(Double.self, forKey: .gamma)
        minLR = try c.decodeIfPresent(Double.self, forKey: .minLR)
        warmupEpochs = try c.decodeIfPresent(Int.self, forKey: .warmupEpochs)
    }

    public func makeSchedule(stepsPerEpoch: Int, path: String) throws -> LearningRateSchedule {
        try Check.oneOf(name, Self.names, "\(path).name", what: "schedule")
        let warmup = warmupEpochs ?? 0
        try Check.within(warmup, 0, 1_000_000, "\(path).warmup_epochs")
        let decay: LearningRateSchedule.Decay
        switch name {
        case "constant": decay = .constant
        case "step":
            let size = stepSize ?? 10
            try Check.within(size, 1, 1_000_000, "\(path).step_size")
            let factor = gamma ?? 0.1
            try Check.positive(factor, "\(path).gamma")
            decay = .step(stepSize: size, gamma: Float(factor))
        case "exponential":
            let factor = gamma ?? 0.95
            try Check.positive(factor, "\(path).gamma")
            decay = .exponential(gamma: Float(factor))
        default:
            let minimum = minLR ?? 0
            try Check.nonNegative(minimum, "\(path).min_lr")
            decay = .cosine(minimum: Float(minimum))
        }
        let (warmupSteps, overflow) = warmup.multipliedReportingOverflow(by: stepsPerEpoch)
        guard !overflow else {
            throw ConfigError(path: "\(path).warmup_epochs", "\(warmup) epochs of \(stepsPerEpoch) steps overflow a step count")
        }
        return LearningRateSchedule(decay, warmupSteps: warmupSteps)
    }
}
