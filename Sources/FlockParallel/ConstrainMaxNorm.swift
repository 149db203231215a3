import FlockNN

/// The max-norm constraint on the units of the phase's decayed weights, after the update,
/// with each unit's norm that of its whole row in the whole model: where a row is split
/// between ranks (a tensor-parallel slice cut along its inputs, and under ZeRO stage 3 the
/// data ranks' rows of such a slice) the parts' squared sums are added over the ranks that
/// hold them before any unit is scaled. A unit's row held whole by one rank is summed
/// exactly as the unsharded model sums it.
public struct ConstrainMaxNorm: GradientTransform {
    public let constraint: MaxNormConstraint

    public init(_ constraint: MaxNormConstraint) { self.constraint = constraint }

    public func apply(_ update: GradientUpdate) throws -> Bool {
        for slot in update.trainableSlots where constraint.constrains(slot) {
            var runs: [Range<Int>] = []
            slot.forEachRun(heldUnder: update.valueRows) { runs.append($0) }
            var squared = MaxNormConstraint.squaredUnitNorms(of: slot, in: update.parameters, runs: runs)
            // The data ranks' rows split along the slot's first axis hold whole units.
            if let rows = update.valueRows, rows.group.size > 1, (rows.placement(of: slot).axis ?? 0) != 0 {
                squared = try rows.group.allreduce(squared, operation: .sum)
            }
            if let axis = update.sharding.placement(ofTensor: slot.name)?.axis, axis != 0,
               let tensor = update.sharding.layout?.tensorGroup, tensor.size > 1 {
                squared = try tensor.allreduce(squared, operation: .sum)
            }
            constraint.rescale(slot, in: update.parameters, runs: runs, squaredNorms: squared)
        }
        return true
    }
}
