import FlockComm
import FlockNN
import FlockTensor
import Foundation

/// How a pipeline job cuts the model's top-level layers into stages.
public enum PipelinePartitioning: Equatable, Sendable {
    /// Balance the stages' parameter counts (each layer counts one more, so layers
    /// without parameters still weigh something).
    case parameters
    /// Balance the stages' measured forward + backward time per layer (timed on world
    /// rank 0 over a few passes at the micro-batch size; every rank gets rank 0's plan).
    case time
    /// Explicit first layers of stages 1…S−1.
    case boundaries([Int])

    /// The partition of `model` into `stages`; `.time` is collective over `world`.
    func partition(_ model: Model, stages: Int, microBatchRows: Int, world: any Communicator) throws -> (PipelinePartition, costs: [Double]) {
        switch self {
        case .parameters:
            let costs = model.root.layers.map { Double($0.allParameters.reduce(0) { $0 + $1.count } + 1) }
            return (try .balanced(costs: costs, stages: stages), costs)
        case .time:
            var costs = world.rank == 0 ? LayerProfiler.secondsPerLayer(model, rows: microBatchRows) : []
            costs = try world.broadcast(costs.isEmpty ? [Double](repeating: 0, count: model.layers.count) : costs, root: 0)
            return (try .balanced(costs: costs, stages: stages), costs)
        case .boundaries(let starts):
            return (try PipelinePartition(boundaries: starts, layerCount: model.layers.count, stages: stages), [])
        }
    }
}

/// Times each top-level layer's forward and backward on its own, on a random batch.
enum LayerProfiler {
    /// Median seconds of a forward + backward pass per layer, over a few timed passes
    /// after one warm-up. Leaves `model`'s values (running statistics included) as they
    /// were and its gradients zero.
    static func secondsPerLayer(_ model: Model, rows: Int, passes: Int = 5) -> [Double] {
        let saved = model.parameters.snapshotState()
        defer {
            model.parameters.restoreState(saved)
            model.parameters.zeroGradients()
        }
        var shape = model.inputShape
        var generator = RandomGenerator(seed: 7)
        var costs: [Double] = []
        for layer in model.root.layers {
            let input = Tensor(shape: [max(rows, 1)] + shape, scalars: (0..<(max(rows, 1) * shape.reduce(1, *))).map { _ in
                generator.nextUniform(-1, 1)
            })
            var times: [Double] = []
            let tape = Tape(parameters: model.parameters)
            for pass in 0...passes {
                tape.reset()
                let started = DispatchTime.now().uptimeNanoseconds
                var context = ForwardContext(tape: tape, isTraining: true, generator: generator)
                let output = layer.forward(tape.leaf(input), context: &context)
                tape.backward(from: output, gradient: Tensor(repeating: 1, shape: output.shape))
                if pass > 0 { times.append(Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9) }
            }
            tape.reset()
            costs.append(times.sorted()[times.count / 2])
            shape = layer.outputShape
        }
        return costs
    }
}
