/// What `sampler: {name: auto}` picks.
public enum SamplerChoice {
    /// The most parameters `auto` gives to the GP: past this, a few dozen trials cannot
    /// fit one length scale per parameter.
    public static let gaussianProcessParameterLimit = 8
    /// The largest trial budget `auto` gives to the GP: its cost per suggestion grows with
    /// the cube of the finished trials.
    public static let gaussianProcessTrialLimit = 500

    /// The GP for small numeric spaces — every parameter a float or an int, none
    /// conditional, at most `gaussianProcessParameterLimit` of them, and a trial budget of
    /// at most `gaussianProcessTrialLimit` — and TPE otherwise (categoricals, conditions,
    /// wide spaces, a wall-clock budget alone or a long study).
    public static func prefersGaussianProcess(space: SearchSpace, trialBudget: Int?) -> Bool {
        let numeric = space.parameters.allSatisfy { parameter in
            if case .categorical = parameter.domain { return false }
            return parameter.conditions.isEmpty
        }
        guard let trialBudget else { return false }
        return numeric && space.parameters.count <= gaussianProcessParameterLimit && trialBudget <= gaussianProcessTrialLimit
    }
}
