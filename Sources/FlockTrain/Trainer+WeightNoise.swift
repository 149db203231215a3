import FlockNN
import FlockParallel
import FlockTensor

/// Weight noise on the weights a rank holds: its shard's, or under ZeRO stage 3 its rows,
/// each element drawn at its place in the whole tensor, so the forward runs on the
/// weights the unsharded model would perturb.
extension Trainer {
    /// The clean values of perturbed runs of the flat parameter buffer, to put back.
    struct CleanWeights {
        var runs: [Range<Int>] = []
        var values: [Float] = []
    }

    /// Adds step `step`'s noise to the decayed weights this rank holds; returns their clean values.
    func perturbWeights(_ noise: WeightNoise, step: Int) throws -> CleanWeights {
        // A gather started before this read the clean rows.
        try shardedParameters?.dropPrefetch()
        let rows = ownRowsOfWeights
        var clean = CleanWeights()
        parameters.withParameters { w in
            for slot in parameters.slots where slot.isDecayed {
                slot.forEachHeldGlobalRun(heldUnder: rows, placed: placement(of: slot.name, localShape: slot.shape)) { run, global in
                    clean.runs.append(run)
                    clean.values += w[run]
                    noise.add(to: UnsafeMutableBufferPointer(rebasing: w[run]), parameter: slot.name, from: global,
                              seed: options.seed, step: step)
                }
            }
        }
        return clean
    }

    /// Puts back what `perturbWeights` changed.
    func restoreWeights(_ clean: CleanWeights) {
        parameters.withParameters { w in
            var taken = 0
            for run in clean.runs {
                _ = UnsafeMutableBufferPointer(rebasing: w[run]).update(fromContentsOf: clean.values[taken..<(taken + run.count)])
                taken += run.count
            }
        }
    }
}
