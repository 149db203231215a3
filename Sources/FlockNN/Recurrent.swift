import FlockTensor

/// A recurrent layer over a sequence (B, T, C): the whole sequence is one tape node
/// (`Tape.recurrent`: the forward loop in place, backpropagation through time in one
/// closure). The input projection x_t·W_ihᵀ + b_ih of every step is one product; each step
/// mixes it with the hidden state's h_{t−1}·W_hhᵀ + b_hh through the `Cell`'s gates; the
/// state starts at zero. It returns the last hidden state (B, H), or every step's
/// (B, T, H) with `return_sequences: true`, which stacks.
///
/// Parameters, PyTorch's layout (gates stacked in the cell's order on the first axis):
/// `<path>.weight_ih` (G·H, C), `<path>.weight_hh` (G·H, H), `<path>.bias_ih` (G·H),
/// `<path>.bias_hh` (G·H), all drawn from U(±1/√H) as PyTorch draws them.
public struct Recurrent<Cell: RecurrentCell>: Layer {
    public let weightIH: ParameterSlot, weightHH: ParameterSlot
    public let biasIH: ParameterSlot, biasHH: ParameterSlot
    public let units: Int
    public let returnSequences: Bool
    public let outputShape: [Int]

    public var ownParameters: [ParameterSlot] { [weightIH, weightHH, biasIH, biasHH] }

    public func forward(_ input: Variable, context: inout ForwardContext) -> Variable {
        let weights = RecurrentWeights(input: weightIH, hidden: weightHH, inputBias: biasIH, hiddenBias: biasHH)
        return context.tape.recurrent(input, cell: Cell.kind, weights: weights, returnSequences: returnSequences)
    }

    /// `{type: lstm, units: 64, return_sequences: false}` (likewise `gru`, `simple_rnn`).
    public struct Spec: LayerSpec, Equatable {
        public static var typeName: String { Cell.typeName }
        public var units: Int
        public var returnSequences: Bool

        public init(units: Int, returnSequences: Bool = false) {
            self.units = units
            self.returnSequences = returnSequences
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case units
            case returnSequences = "return_sequences"
        }

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self, alsoAllowed: LayerConfig.sharedKeys, owner: "a \(Cell.typeName) layer")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            guard let units = try c.decodeIfPresent(Int.self, forKey: .units) else {
                throw ConfigError(path: decoder.fieldPath(CodingKeys.units), "a \(Cell.typeName) layer needs units")
            }
            try Check.within(units, 1, 1 << 16, decoder.fieldPath(CodingKeys.units))
            self.init(units: units, returnSequences: try c.value(.returnSequences, or: false))
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(units, forKey: .units)
            try c.encode(returnSequences, forKey: .returnSequences)
        }

        public func makeLayer(inputShape: [Int], builder: inout LayerBuilder) throws -> any Layer {
            guard units > 0 else { throw builder.error("units: expected a positive integer, got \(units)") }
            guard inputShape.count == 2, inputShape.allSatisfy({ $0 > 0 }) else {
                throw builder.error("a \(Cell.typeName) layer needs per-sample sequences of shape (steps, features), got \(inputShape); set data.sequence: {steps: T, features: C}")
            }
            let limit = 1 / Float(units).squareRoot()
            let draw = Initializer.uniform(low: -limit, high: limit)
            let rows = Cell.gates * units
            let weightIH = builder.parameter("weight_ih", shape: [rows, inputShape[1]], isDecayed: true, initializer: draw)
            let weightHH = builder.parameter("weight_hh", shape: [rows, units], isDecayed: true, initializer: draw)
            let biasIH = builder.parameter("bias_ih", shape: [rows], isDecayed: false, initializer: draw)
            let biasHH = builder.parameter("bias_hh", shape: [rows], isDecayed: false, initializer: draw)
            return Recurrent(weightIH: weightIH, weightHH: weightHH, biasIH: biasIH, biasHH: biasHH, units: units,
                             returnSequences: returnSequences,
                             outputShape: returnSequences ? [inputShape[0], units] : [units])
        }
    }
}

/// Which gates a recurrent layer runs (`Tape.recurrent` holds their arithmetic).
public protocol RecurrentCell: Sendable {
    static var typeName: String { get }
    /// G: how many blocks of H rows the weights stack.
    static var gates: Int { get }
    static var kind: RecurrentCellKind { get }
}

public typealias SimpleRNN = Recurrent<SimpleRNNCell>
public typealias LSTM = Recurrent<LSTMCell>
public typealias GRU = Recurrent<GRUCell>

extension LayerConfig {
    /// Elman RNN, h_t = tanh(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh).
    public static func simpleRNN(units: Int, returnSequences: Bool = false) -> LayerConfig {
        LayerConfig(SimpleRNN.Spec(units: units, returnSequences: returnSequences))
    }

    /// Long short-term memory (Hochreiter & Schmidhuber 1997).
    public static func lstm(units: Int, returnSequences: Bool = false) -> LayerConfig {
        LayerConfig(LSTM.Spec(units: units, returnSequences: returnSequences))
    }

    /// Gated recurrent unit (Cho et al. 2014).
    public static func gru(units: Int, returnSequences: Bool = false) -> LayerConfig {
        LayerConfig(GRU.Spec(units: units, returnSequences: returnSequences))
    }
}
