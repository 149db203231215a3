import FlockTensor

/// Knowledge distillation (Hinton et al. 2015) from logits:
/// α · T²·KL(teacher_T ‖ student_T) + (1 − α) · cross-entropy with the label.
/// `{name: distillation, teacher: runs/teacher, temperature: 4, alpha: 0.9}`. Training
/// targets are rows (label, teacher logits…) (B, 1 + C); targets of class indices alone
/// (validation) give the cross-entropy.
public struct DistillationLoss: LossKind {
    public static let typeName = "distillation"
    /// The teacher's checkpoint: a run directory or checkpoint folder, relative to the
    /// config file (the trainer reads it; the loss sees its logits in the targets).
    public var teacher: String?
    /// The softening temperature T (default 4).
    public var temperature: Double?
    /// The teacher term's weight against the labels' cross-entropy (default 0.9).
    public var alpha: Double?

    enum CodingKeys: String, CodingKey, CaseIterable { case teacher, temperature, alpha }

    public init() {}

    public init(teacher: String? = nil, temperature: Double, alpha: Double) {
        self.teacher = teacher
        self.temperature = temperature
        self.alpha = alpha
    }

    public init(from decoder: any Decoder) throws {
        let c = try Self.container(decoder, CodingKeys.self)
        teacher = try c.decodeIfPresent(String.self, forKey: .teacher)
        temperature = try c.decodeIfPresent(Double.self, forKey: .temperature)
        alpha = try c.decodeIfPresent(Double.self, forKey: .alpha)
    }

    public func validate(path: String) throws {
        guard let teacher, !teacher.isEmpty else {
            throw ConfigError(path: "\(path).teacher", "distillation needs the teacher's checkpoint (a run directory or checkpoint folder)")
        }
        try Check.positive(temperature ?? 4, atMost: 1000, "\(path).temperature")
        let alpha = self.alpha ?? 0.9
        guard alpha >= 0, alpha <= 1 else { throw ConfigError(path: "\(path).alpha", "expected a number in [0, 1], got \(alpha)") }
    }

    public var reading: OutputReading { .classLogits }

    public func callAsFunction(_ prediction: Variable, target: Tensor) -> Variable {
        let tape = prediction.tape
        guard target.rank == 2, target.shape[1] == prediction.shape[1] + 1 else {
            return tape.softmaxCrossEntropy(prediction, labels: target.scalars.map { Int($0) })
        }
        let (labels, teacher) = Self.splitTargets(target)
        let alpha = Float(self.alpha ?? 0.9)
        let soft = tape.distillationDivergence(prediction, teacherLogits: teacher, temperature: Float(temperature ?? 4))
        let hard = tape.softmaxCrossEntropy(prediction, labels: labels)
        return tape.add(tape.scale(soft, by: alpha), tape.scale(hard, by: 1 - alpha))
    }

    public func metricTargets(_ targets: Tensor) -> Tensor {
        guard targets.rank == 2 else { return targets }
        return Tensor(shape: [targets.shape[0]], scalars: Self.splitTargets(targets).labels.map(Float.init))
    }

    /// Rows (label, teacher logits…) (B, 1 + C) split into B labels and logits (B, C).
    public static func splitTargets(_ target: Tensor) -> (labels: [Int], teacher: Tensor) {
        let (rows, width) = (target.shape[0], target.shape[1])
        let labels = (0..<rows).map { Int(target.scalars[$0 * width]) }
        let teacher = Tensor(shape: [rows, width - 1], scalars: (0..<rows).flatMap { row in
            target.scalars[(row * width + 1)..<((row + 1) * width)]
        })
        return (labels, teacher)
    }
}
