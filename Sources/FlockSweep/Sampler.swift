import FlockTensor
import FlockTrain

/// What a sampler knows when it suggests a trial: every earlier trial's parameters
/// (never suggest them again) and the finished ones' objective, oriented so that lower
/// is better. It is rebuilt from the store each time, so a restarted sweep continues as
/// if it had never stopped.
public struct SamplerHistory: Sendable {
    public struct Observation: Sendable {
        public let params: [String: ParameterValue]
        /// The objective, sign-flipped when maximizing: lower is better.
        public let loss: Double

        public init(params: [String: ParameterValue], loss: Double) {
            self.params = params
            self.loss = loss
        }
    }

    public let observations: [Observation]
    public let suggested: Set<[String: ParameterValue]>
    /// Parameters of trials running or waiting to run, in trial order: the GP sampler
    /// steers away from them so that concurrent workers explore different points.
    public let pending: [[String: ParameterValue]]

    public init(observations: [Observation], suggested: Set<[String: ParameterValue]>,
                pending: [[String: ParameterValue]] = []) {
        self.observations = observations
        self.suggested = suggested
        self.pending = pending
    }
}

/// Chooses the parameters of the next trial.
public protocol Sampler: Sendable {
    /// Parameters for trial `number`, or nil when the space is exhausted. Deterministic in
    /// (history, number) for a given seed.
    func suggest(space: SearchSpace, history: SamplerHistory, number: Int) -> [String: ParameterValue]?
}

extension Sampler {
    /// Draws with `draw` until the result is new; nil after `attempts` repeats (the space
    /// is effectively exhausted).
    func fresh(_ history: SamplerHistory, attempts: Int = 200,
               _ draw: (Int) -> [String: ParameterValue]) -> [String: ParameterValue]? {
        for attempt in 0..<attempts {
            let values = draw(attempt)
            if !history.suggested.contains(values) { return values }
        }
        return nil
    }
}

/// Independent uniform (or log-uniform) draws.
public struct RandomSampler: Sampler {
    public let seed: UInt64

    public init(seed: UInt64 = 0) { self.seed = seed }

    public func suggest(space: SearchSpace, history: SamplerHistory, number: Int) -> [String: ParameterValue]? {
        fresh(history) { attempt in
            var generator = RandomGenerator(seed: seed, stream: UInt64(number) << 16 | UInt64(attempt))
            return space.assemble { parameter, _ in SearchSpace.randomValue(parameter, using: &generator) }
        }
    }
}

/// Every combination of the grid, in order, each once.
public struct GridSampler: Sampler {
    public init() {}

    public func suggest(space: SearchSpace, history: SamplerHistory, number: Int) -> [String: ParameterValue]? {
        space.grid()?.first { !history.suggested.contains($0) }
    }
}
