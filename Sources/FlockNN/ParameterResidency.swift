import FlockTensor

/// Where a rank's parameter values live when it keeps only its own rows of them between
/// uses (ZeRO stage 3, FSDP): a layer's values are gathered from every data rank just
/// before they are read and given back just after. A `RecomputedLayer` (the unit of
/// gathering) asks for its parameters around its forward and around its backward (and
/// the forward a replaying one runs again there).
///
/// Both calls are collective over the data group: every rank of the group gathers the
/// same layers in the same order. Neither throws (they run inside forward and backward);
/// a failure is kept and thrown when the step's gradients are finished.
public protocol ParameterResidency: AnyObject {
    /// Makes the whole values of `slots` (a layer's, in slot order) readable in the store.
    func gather(_ slots: [ParameterSlot])
    /// Gives back what `gather` made resident, keeping this rank's own rows.
    func release(_ slots: [ParameterSlot])
}
