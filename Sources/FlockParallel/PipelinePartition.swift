import FlockNN

/// Which of a model's top-level layers each pipeline stage runs: contiguous ranges, every
/// stage at least one layer.
///
/// ```swift
/// let partition = try PipelinePartition.balanced(costs: [8_320, 0, 16_512, 1_290], stages: 2)
/// partition.layers(ofStage: 1)   // 2..<4
/// ```
public struct PipelinePartition: Equatable, Sendable, CustomStringConvertible {
    /// First layer of each stage (`stageStarts[0] == 0`, increasing).
    public let stageStarts: [Int]
    /// Top-level layers in the model.
    public let layerCount: Int

    public var stages: Int { stageStarts.count }

    /// A partition with the given first layer of stages 1…S−1 (stage 0 starts at layer 0).
    /// Throws naming `path` when the boundaries do not cut `layerCount` layers into
    /// `stages` non-empty ranges.
    public init(boundaries: [Int], layerCount: Int, stages: Int, path: String = "parallel.partition") throws {
        guard stages >= 1 else { throw ConfigError(path: path, "expected at least one pipeline stage, got \(stages)") }
        guard layerCount >= stages else {
            throw ConfigError(path: path, "\(stages) pipeline stages need at least \(stages) top-level layers; the model has \(layerCount)")
        }
        guard boundaries.count == stages - 1 else {
            throw ConfigError(path: path, "expected \(stages - 1) stage boundaries (the first layer of stages 1…\(stages - 1)) for \(stages) stages, got \(boundaries.count)")
        }
        let starts = [0] + boundaries
        for (index, start) in boundaries.enumerated() where start <= starts[index] || start >= layerCount {
            throw ConfigError(path: "\(path)[\(index)]",
                              "stage \(index + 1) must start after layer \(starts[index]) and before layer \(layerCount) (the model's \(layerCount) layers are numbered from 0), got \(start)")
        }
        stageStarts = starts
        self.layerCount = layerCount
    }

    /// Top-level layers of stage `stage`.
    public func layers(ofStage stage: Int) -> Range<Int> {
        stageStarts[stage]..<(stage + 1 < stages ? stageStarts[stage + 1] : layerCount)
    }

    /// The stage that runs layer `layer`.
    public func stage(ofLayer layer: Int) -> Int {
        stageStarts.lastIndex { $0 <= layer } ?? 0
    }

    /// The contiguous split of layers with costs `costs` into `stages` ranges whose largest
    /// total cost is smallest (ties: earlier stages lighter, so the last stage, which also
    /// computes the loss, is not the lightest). Every stage gets at least one layer.
    public static func balanced(costs: [Double], stages: Int, path: String = "parallel.partition") throws -> PipelinePartition {
        let count = costs.count
        guard stages >= 1, count >= stages else {
            throw ConfigError(path: path, "\(stages) pipeline stages need at least \(stages) top-level layers; the model has \(count)")
        }
        let prefix = costs.reduce(into: [0.0]) { $0.append($0.last! + $1) }
        // best[s][i]: the smallest largest-stage cost of layers 0..<i in s stages; cut[s][i] its last start.
        var best = [[Double]](repeating: [Double](repeating: .infinity, count: count + 1), count: stages + 1)
        var cut = [[Int]](repeating: [Int](repeating: 0, count: count + 1), count: stages + 1)
        best[0][0] = 0
        for s in 1...stages {
            for end in s...count {
                for start in (s - 1)..<end where best[s - 1][start].isFinite {
                    let cost = max(best[s - 1][start], prefix[end] - prefix[start])
                    if cost < best[s][end] {
                        best[s][end] = cost
                        cut[s][end] = start
                    }
                }
            }
        }
        var starts: [Int] = []
        var end = count
        for s in stride(from: stages, through: 1, by: -1) {
            let start = cut[s][end]
            starts.insert(start, at: 0)
            end = start
        }
        return try PipelinePartition(boundaries: Array(starts.dropFirst()), layerCount: count, stages: stages, path: path)
    }

    public var description: String {
        (0..<stages).map { stage in
            let range = layers(ofStage: stage)
            return "stage \(stage): layers \(range.lowerBound)…\(range.upperBound - 1)"
        }.joined(separator: ", ")
    }
}
