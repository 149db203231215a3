import FlockTensor

/// Parameters that share an update rule: a learning-rate multiplier and whether they move
/// at all. A layer's `lr_multiplier` and `trainable: false` put its parameters in their own
/// group; a step's phase picks the groups it updates.
public struct ParameterGroup: Sendable, Equatable {
    /// `default`, `frozen` or `lr×0.1`.
    public let name: String
    public let slots: [ParameterSlot]
    /// The phase's learning rate times this.
    public let learningRateScale: Float
    /// Frozen parameters get no gradient transform, no update and no optimizer state change.
    public var isFrozen: Bool { learningRateScale == 0 }

    public init(name: String, slots: [ParameterSlot], learningRateScale: Float) {
        self.name = name
        self.slots = slots
        self.learningRateScale = learningRateScale
    }

    /// The groups of `slots` by their update scale (`scales` by parameter path, from the
    /// layers' `lr_multiplier` and `trainable`; absent: 1), in order of first appearance.
    public static func grouping(_ slots: [ParameterSlot], scales: [String: Double]) -> [ParameterGroup] {
        var order: [Float] = []
        var members: [Float: [ParameterSlot]] = [:]
        for slot in slots {
            let scale = Float(scales[slot.name] ?? 1)
            if members[scale] == nil { order.append(scale) }
            members[scale, default: []].append(slot)
        }
        return order.map { scale in
            let name = scale == 1 ? "default" : scale == 0 ? "frozen" : "lr×\(scale)"
            return ParameterGroup(name: name, slots: members[scale]!, learningRateScale: scale)
        }
    }

    /// The update spans of `groups` at `learningRate`: each group's slots with the group's
    /// rate, adjacent slots of equal rate merged, in buffer order. Frozen groups have none.
    public static func spans(of groups: [ParameterGroup], learningRate: Float) -> [UpdateSpan] {
        let runs = groups.filter { !$0.isFrozen }
            .flatMap { group in group.slots.map { (range: $0.range, rate: learningRate * group.learningRateScale) } }
            .sorted { $0.range.lowerBound < $1.range.lowerBound }
        var spans: [UpdateSpan] = []
        for run in runs {
            if let last = spans.last, last.range.upperBound == run.range.lowerBound, last.learningRate == run.rate {
                spans[spans.count - 1] = UpdateSpan(range: last.range.lowerBound..<run.range.upperBound, learningRate: run.rate)
            } else {
                spans.append(UpdateSpan(range: run.range, learningRate: run.rate))
            }
        }
        return spans
    }
}
