import FlockComm
import FlockNN
import FlockTensor
import Foundation

/// Running one schedule on this stage.
extension ModelParallelStep {
    /// What a stage holds for one micro-batch between its actions.
    struct InFlight {
        var tape: Tape?
        var input: Variable?
        var output: Variable?
        var objective: Variable?
        var receivedActivation: Tensor?
        var receivedGradient: Tensor?
        var inputGradient: Tensor?
    }

    /// One schedule's run on this stage: what its actions read and change.
    struct ScheduleRun {
        let schedule: PipelineSchedule
        let actions: [PipelineAction]
        let pieces: [MicroBatch]
        let shard: ModelShard
        let loss: Loss
        let step: Int
        /// Under ZeRO stage 3, what gathers each recomputed layer's weights.
        let residency: (any ParameterResidency)?
        var state: [InFlight]
        var outcomes: [MicroBatchOutcome?]
        /// Sends started and not yet seen complete, oldest first.
        var sends: [any PendingOperation] = []
        var receives: PipelineReceiveWindow
        var earlyWeights: EarlyWeightPasses
        var generator: RandomGenerator
    }

    /// Runs this stage's actions of `schedule` on `pieces`; returns the pieces' outcomes
    /// on the last stage (empty elsewhere). A failing action throws a
    /// `PipelineStageError` naming the stage, rank, micro-batch and action. The schedule
    /// may run more micro-batches than there are pieces: the rest are ghosts (ZeRO stage 3,
    /// see `ModelParallelStep+ShardedWeights`).
    func run(_ schedule: PipelineSchedule, pieces: [MicroBatch], shard: ModelShard, loss: Loss, step: Int,
             residency: (any ParameterResidency)? = nil, generator: inout RandomGenerator) throws -> [MicroBatchOutcome] {
        let started = DispatchTime.now().uptimeNanoseconds
        let actions = schedule.actions[stage]
        var run = ScheduleRun(schedule: schedule, actions: actions, pieces: pieces, shard: shard, loss: loss, step: step,
                              residency: residency,
                              state: Array(repeating: InFlight(), count: schedule.microBatches),
                              outcomes: Array(repeating: nil, count: schedule.microBatches),
                              receives: PipelineReceiveWindow(actions: actions, link: link),
                              earlyWeights: EarlyWeightPasses(actions: actions), generator: generator)
        defer {
            generator = run.generator
            for index in run.state.indices { if let tape = run.state[index].tape { tapes.release(tape) } }
        }
        for index in actions.indices where !run.earlyWeights.hasRun(index) {
            // A receive not yet landed: deferred weight-gradient passes fill the wait.
            if case .receive = actions[index], fillsWaitsWithWeightPasses {
                while let weight = run.earlyWeights.next(at: index), try !landed(index, in: &run) {
                    try execute(weight, in: &run)
                    lastProfile.earlyWeightPasses += 1
                }
            }
            try execute(index, in: &run)
        }
        // A step ends with its data delivered: waiting for the sends is transfer time, not
        // the last pass's compute.
        let waitStarted = DispatchTime.now().uptimeNanoseconds
        do {
            for send in run.sends { try send.wait() }
        } catch {
            throw failure(error, at: actions.count - 1, of: schedule, step: step)
        }
        lastProfile.transferSeconds += seconds(since: waitStarted)
        lastProfile.stageSeconds += seconds(since: started)
        return isLastStage ? run.outcomes.prefix(pieces.count).map { $0! } : []
    }

    /// Runs action `index` of `run` with its bookkeeping: receives posted ahead, timing,
    /// and after a pass a poll of the transfers in flight.
    private func execute(_ index: Int, in run: inout ScheduleRun) throws {
        let action = run.actions[index]
        trace.record(index, action)
        do {
            let transferStarted = DispatchTime.now().uptimeNanoseconds
            try run.receives.postAhead(expectedShape(in: run))
            lastProfile.transferSeconds += seconds(since: transferStarted)
            let actionStarted = DispatchTime.now().uptimeNanoseconds
            run.sends += try perform(action, at: index, in: &run)
            try run.shard.tensorGroup?.rethrow()
            let actionSeconds = seconds(since: actionStarted)
            if action.isCompute { lastProfile.computeSeconds += actionSeconds } else { lastProfile.transferSeconds += actionSeconds }
            lastProfile.addPass(action, seconds: actionSeconds)
            if case .backwardWeight = action { run.earlyWeights.didRun(index) }
            // After a pass (not after every transfer: each poll is an MPI call), let the
            // next receive land, and let completed sends give up their arrays (a send
            // holds its micro-batch's activation: held to the step's end, 1F1B would
            // keep M of them).
            if action.isCompute {
                let progressStarted = DispatchTime.now().uptimeNanoseconds
                try run.receives.progress()
                while let oldest = run.sends.first, try oldest.test() { run.sends.removeFirst() }
                lastProfile.transferSeconds += seconds(since: progressStarted)
            }
        } catch {
            throw failure(error, at: index, of: run.schedule, step: run.step)
        }
        // Only a forward records new activations.
        if case .forward = action {
            lastProfile.peakActivationBytes = max(lastProfile.peakActivationBytes,
                                                  run.state.reduce(0) { $0 + ($1.tape?.recordedBytes ?? 0) })
        }
    }

    /// Whether receive action `index` of `run` has landed (transfer time).
    private func landed(_ index: Int, in run: inout ScheduleRun) throws -> Bool {
        let testStarted = DispatchTime.now().uptimeNanoseconds
        defer { lastProfile.transferSeconds += seconds(since: testStarted) }
        do {
            return try run.receives.hasLanded(at: index, expectedShape(in: run))
        } catch {
            throw failure(error, at: index, of: run.schedule, step: run.step)
        }
    }

    /// A receive action's tensor shape in `run`.
    private func expectedShape(in run: ScheduleRun) -> (PipelineAction) -> [Int] {
        { [pieces = run.pieces, shard = run.shard] action in self.expectedShape(of: action, pieces: pieces, shard: shard) }
    }

    /// Wall seconds since `start` (a `DispatchTime` uptime in nanoseconds).
    private func seconds(since start: UInt64) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// `error` from this stage's action `index` as the job should see it: another rank's
    /// failure as is (that rank says so itself), anything else as a `PipelineStageError`.
    private func failure(_ error: any Error, at index: Int, of schedule: PipelineSchedule, step: Int) -> any Error {
        if let communication = error as? CommunicatorError, communication.isPeerFailure { return error }
        let action = schedule.actions[stage][index]
        return PipelineStageError(stage: stage, rank: layout.world.rank, step: step, microBatch: action.microBatch,
                                  action: action.label(stage: stage), underlying: error,
                                  grid: schedule.failureGrid(stage: stage, index: index), recent: trace.recent)
    }

    /// Runs `action`; returns the sends it started (sends do not wait for the receiver:
    /// the validator proved the schedule deadlock-free even with blocking ones).
    private func perform(_ action: PipelineAction, at index: Int, in run: inout ScheduleRun) throws -> [any PendingOperation] {
        let (pieces, shard) = (run.pieces, run.shard)
        guard action.microBatch < pieces.count else {
            ghostGathers(action, shard: shard, residency: run.residency)
            return []
        }
        switch action {
        case .forward(let m):
            let tape = tapes.acquire(parameters: shard.parameters)
            run.state[m].tape = tape
            let input = stage == 0 ? tape.constant(pieces[m].features) : tape.leaf(run.state[m].receivedActivation!)
            run.state[m].receivedActivation = nil
            var context = ForwardContext(tape: tape, isTraining: true, generator: run.generator)
            context.sequencePadding = pieces[m].paddingMask
            context.parameterResidency = run.residency
            let output = shard.forward(input, context: &context)
            run.generator = context.generator
            run.state[m].input = input
            run.state[m].output = output
            if isLastStage {
                let objective = run.loss(output, target: pieces[m].targets, features: pieces[m].features)
                run.state[m].objective = objective
                run.outcomes[m] = MicroBatchOutcome(loss: objective.value.scalar, outputs: output.value, targets: pieces[m].targets)
            }
        case .backward(let m), .backwardInput(let m):
            let timing: WeightGradientTiming = action == .backward(microBatch: m) ? .immediate : .deferred
            let tape = run.state[m].tape!
            if let objective = run.state[m].objective {
                tape.backward(from: objective, seed: pieces[m].gradientScale, weightGradients: timing)
            } else {
                tape.backward(from: run.state[m].output!, gradient: run.state[m].receivedGradient!, weightGradients: timing)
                run.state[m].receivedGradient = nil
            }
            if stage > 0 {
                run.state[m].inputGradient = run.state[m].input!.gradient ?? Tensor(zeros: run.state[m].input!.shape)
            }
            if timing == .immediate { finish(m, state: &run.state) }
        case .backwardWeight(let m):
            run.state[m].tape!.backwardWeights()
            finish(m, state: &run.state)
        case .send(.activation, let m, let peer):
            return try link.send(run.state[m].output!.value, .activation, microBatch: m, to: peer)
        case .send(.gradient, let m, let peer):
            defer { run.state[m].inputGradient = nil }
            return try link.send(run.state[m].inputGradient!, .gradient, microBatch: m, to: peer)
        case .receive(.activation, let m, _):
            run.state[m].receivedActivation = try run.receives.take(at: index, expectedShape(in: run))
        case .receive(.gradient, let m, _):
            run.state[m].receivedGradient = try run.receives.take(at: index, expectedShape(in: run))
        }
        return []
    }

    /// What a receive brings: micro-batch m's input of this stage (an activation) or the
    /// gradient of its output.
    private func expectedShape(of action: PipelineAction, pieces: [MicroBatch], shard: ModelShard) -> [Int] {
        guard case .receive(let kind, let m, _) = action else { preconditionFailure("not a receive: \(action)") }
        return [pieces[m].sampleCount] + (kind == .activation ? shard.inputShape : shard.outputShape)
    }

    /// Returns micro-batch `m`'s tape once its weight gradients are in the store. The
    /// output's value stays for a send that follows (a value outlives its tape's reset).
    private func finish(_ m: Int, state: inout [InFlight]) {
        guard let tape = state[m].tape else { return }
        state[m].tape = nil
        state[m].objective = nil
        state[m].input = nil
        state[m].output = nil
        tapes.release(tape)
    }
}
