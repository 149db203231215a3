import FlockTensor
import FlockTrain
import Foundation

/// Maps parameter values to the unit cube the GP models: a numeric parameter to one
/// coordinate (its internal value — log for log domains, integers widened by half a step
/// — scaled from its range to [0, 1]); a categorical one to one coordinate per choice
/// (one-hot), so the kernel learns a length scale for each choice.
struct UnitCubeEncoding {
    enum Column {
        /// One coordinate: internal value scaled from `range`.
        case numeric(ParameterSpec, range: (low: Double, high: Double), index: Int)
        /// `choices.count` coordinates starting at `first`.
        case categorical(ParameterSpec, choices: [ParameterValue], first: Int)
    }

    let columns: [Column]
    let dimension: Int

    init(_ parameters: [ParameterSpec]) {
        var columns: [Column] = [], next = 0
        for parameter in parameters {
            if case let .categorical(choices) = parameter.domain {
                columns.append(.categorical(parameter, choices: choices, first: next))
                next += choices.count
            } else {
                columns.append(.numeric(parameter, range: parameter.internalRange, index: next))
                next += 1
            }
        }
        self.columns = columns
        dimension = next
    }

    /// Coordinates the local search moves by gradient (the numeric ones).
    var numericIndices: [Int] {
        columns.compactMap { if case let .numeric(_, _, index) = $0 { return index }; return nil }
    }

    /// The (first, count) coordinates of each categorical parameter.
    var categoricalBlocks: [(first: Int, count: Int)] {
        columns.compactMap { if case let .categorical(_, choices, first) = $0 { return (first, choices.count) }; return nil }
    }

    /// The point of `params`, nil when one of the columns' parameters is missing or out of its domain.
    func encode(_ params: [String: ParameterValue]) -> [Double]? {
        var x = [Double](repeating: 0, count: dimension)
        for column in columns {
            switch column {
            case let .numeric(parameter, range, index):
                guard let value = params[parameter.name], let coordinate = parameter.internalValue(value) else { return nil }
                x[index] = min(max((coordinate - range.low) / (range.high - range.low), 0), 1)
            case let .categorical(parameter, choices, first):
                guard let value = params[parameter.name], let choice = choices.firstIndex(of: value) else { return nil }
                x[first + choice] = 1
            }
        }
        return x
    }

    /// The parameter values at `x`: numeric ones clamped and (integers) rounded to the
    /// step, categoricals the choice with the largest coordinate.
    func decode(_ x: [Double]) -> [String: ParameterValue] {
        var values: [String: ParameterValue] = [:]
        for column in columns {
            switch column {
            case let .numeric(parameter, range, index):
                values[parameter.name] = parameter.value(atInternal: range.low + x[index] * (range.high - range.low))
            case let .categorical(parameter, choices, first):
                let block = x[first..<(first + choices.count)]
                values[parameter.name] = choices[block.indices.max { block[$0] < block[$1] }! - first]
            }
        }
        return values
    }

    /// A uniform point: numeric coordinates uniform in [0, 1], a random choice of each categorical.
    func random(using generator: inout RandomGenerator) -> [Double] {
        var x = [Double](repeating: 0, count: dimension)
        for column in columns {
            switch column {
            case let .numeric(_, _, index): x[index] = generator.nextUnit()
            case let .categorical(_, choices, first): x[first + min(Int(generator.nextUnit() * Double(choices.count)), choices.count - 1)] = 1
            }
        }
        return x
    }
}
