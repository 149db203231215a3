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

    /// Runs this stage's actions of `schedule` on `pieces`; returns the pieces' outcomes
    /// on the last stage (empty elsewhere). A failing action throws a
    /// `PipelineStageError` naming the stage, rank, micro-batch and action.
    func run(_ schedule: PipelineSchedule, pieces: [MicroBatch], shard: ModelShard, loss: Loss, step: Int,
             generator: inout RandomGenerator) throws -> [MicroBatchOutcome] {
        var state = [InFlight](repeating: InFlight(), count: pieces.count)
        var outcomes = [MicroBatchOutcome?](repeating: nil, count: pieces.count)
        var sends: [any PendingOperation] = []
        let started = DispatchTime.now().uptimeNanoseconds
        defer { for index in state.indices { if let tape = state[index].tape { tapes.release(tape) } } }
        let actions = schedule.actions[stage]
        var receives = PipelineReceiveWindow(actions: actions, link: link)
        let expectedShape = { (action: PipelineAction) in self.expectedShape(of: action, pieces: pieces, shard: shard) }
        func landed(_ index: Int) throws -> Bool {
            do {
                let testStarted = DispatchTime.now().uptimeNanoseconds
                defer { lastProfile.transferSeconds += seconds(since: testStarted) }
                return try receives.hasLanded(at: index, expectedShape)
            } catch {
                throw failure(error, at: index, of: schedule, step: step)
            }
        }
        var earlyWeights = EarlyWeightPasses(actions: actions)
        func execute(_ index: Int) throws {
            let action = actions[index]
            trace.record(index, action)
            do {
                let transferStarted = DispatchTime.now().uptimeNanoseconds
                try receives.postAhead(expectedShape)
                lastProfile.transferSeconds += seconds(since: transferStarted)
                let actionStarted = DispatchTime.now().uptimeNanoseconds
                sends += try perform(action, at: index, state: &state, outcomes: &outcomes, pieces: pieces, shard: shard,
                                     loss: loss, receives: &receives, generator: &generator)
                try shard.tensorGroup?.rethrow()
                let actionSeconds = seconds(since: actionStarted)
                if action.isCompute { lastProfile.computeSeconds += actionSeconds } else { lastProfile.transferSeconds += actionSeconds }
                lastProfile.addPass(action, seconds: actionSeconds)
                if case .backwardWeight = action { earlyWeights.didRun(index) }
                // After a pass (not after every transfer: each poll is an MPI call), let the
                // next receive land, and let completed sends give up their arrays (a send
                // holds its micro-batch's activation: held to the step's end, 1F1B would
                // keep M of them).
                if action.isCompute {
                    let progressStarted = DispatchTime.now().uptimeNanoseconds
                    try receives.progress()
                    while let oldest = sends.first, try oldest.test() { sends.removeFirst() }
                    lastProfile.transferSeconds += seconds(since: progressStarted)
                }
            } catch {
                throw failure(error, at: index, of: schedule, step: step)
            }
            // Only a forward records new activations.
            if case .forward = action {
                lastProfile.peakActivationBytes = max(lastProfile.peakActivationBytes,
                                                      state.reduce(0) { $0 + ($1.tape?.recordedBytes ?? 0) })
            }
        }
        for (index, action) in actions.enumerated() where !earlyWeights.hasRun(index) {
            // A receive not yet landed: deferred weight-gradient passes fill the wait.
            if case .receive = action {
                while let weight = earlyWeights.next(at: index), try !landed(index) {
                    try execute(weight)
                    lastProfile.earlyWeightPasses += 1
                }
            }
            try execute(index)
        }
        // A step ends with its data delivered: waiting for the sends is transfer time, not
        // the last pass's compute.
        let waitStarted = DispatchTime.now().uptimeNanoseconds
        do {
            for send in sends { try send.wait() }
        } catch {
            throw failure(error, at: actions.count - 1, of: schedule, step: step)
        }
        lastProfile.transferSeconds += seconds(since: waitStarted)
        lastProfile.stageSeconds += seconds(since: started)
        return isLastStage ? outcomes.map { $0! } : []
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
    private func perform(_ action: PipelineAction, at index: Int, state: inout [InFlight],
                         outcomes: inout [MicroBatchOutcome?], pieces: [MicroBatch], shard: ModelShard, loss: Loss,
                         receives: inout PipelineReceiveWindow,
                         generator: inout RandomGenerator) throws -> [any PendingOperation] {
        switch action {
        case .forward(let m):
            let tape = tapes.acquire(parameters: shard.parameters)
            state[m].tape = tape
            let input = stage == 0 ? tape.constant(pieces[m].features) : tape.leaf(state[m].receivedActivation!)
            state[m].receivedActivation = nil
            var context = ForwardContext(tape: tape, isTraining: true, generator: generator)
            context.sequencePadding = upstreamEmbedding?.paddingMask(tokenIDs: pieces[m].features)
            let output = shard.forward(input, context: &context)
            generator = context.generator
            state[m].input = input
            state[m].output = output
            if isLastStage {
                let objective = loss(output, target: pieces[m].targets)
                state[m].objective = objective
                outcomes[m] = MicroBatchOutcome(loss: objective.value.scalar, outputs: output.value, targets: pieces[m].targets)
            }
        case .backward(let m), .backwardInput(let m):
            let timing: WeightGradientTiming = action == .backward(microBatch: m) ? .immediate : .deferred
            let tape = state[m].tape!
            if let objective = state[m].objective {
                tape.backward(from: objective, seed: pieces[m].gradientScale, weightGradients: timing)
            } else {
                tape.backward(from: state[m].output!, gradient: state[m].receivedGradient!, weightGradients: timing)
                state[m].receivedGradient = nil
            }
            if stage > 0 {
                state[m].inputGradient = state[m].input!.gradient ?? Tensor(zeros: state[m].input!.shape)
            }
            if timing == .immediate { finish(m, state: &state) }
        case .backwardWeight(let m):
            state[m].tape!.backwardWeights()
            finish(m, state: &state)
        case .send(.activation, let m, let peer):
            return try link.send(state[m].output!.value, .activation, microBatch: m, to: peer)
        case .send(.gradient, let m, let peer):
            defer { state[m].inputGradient = nil }
            return try link.send(state[m].inputGradient!, .gradient, microBatch: m, to: peer)
        case .receive(.activation, let m, _):
            state[m].receivedActivation = try receives.take(at: index) { expectedShape(of: $0, pieces: pieces, shard: shard) }
        case .receive(.gradient, let m, _):
            state[m].receivedGradient = try receives.take(at: index) { expectedShape(of: $0, pieces: pieces, shard: shard) }
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
