import FlockTensor

/// How a layer splits across a tensor-parallel group (Megatron-LM's scheme), declared by
/// its spec: FlockParallel reads the role and never asks for a concrete layer type. A
/// layer kind of your own is `.replicated` unless it says otherwise.
public enum TensorParallelRole: Sendable, Equatable {
    /// Held whole and computed alike on every rank of the group (norms, embeddings, pooling).
    case replicated
    /// Parameter-free and elementwise: a slice of the features passes through it (dropout,
    /// an activation other than softmax), so it may sit between a column and a row split.
    case elementwise
    /// A linear map over the last axis: its outputs can be split (column) and its inputs
    /// (row).
    case linear(LinearShape)
    /// Multi-head attention over (T, D): split by heads.
    case attention(AttentionShape)
    /// A Transformer encoder block: attention by heads, its MLP as a column → row pair.
    case transformerBlock(TransformerBlockShape)
}

/// What a split linear layer needs of the whole one.
public struct LinearShape: Sendable, Equatable {
    public var units: Int
    public var activation: Activation
    /// LeakyReLU slope / ELU scale.
    public var alpha: Double?
    public var useBias: Bool

    public init(units: Int, activation: Activation, alpha: Double? = nil, useBias: Bool = true) {
        self.units = units
        self.activation = activation
        self.alpha = alpha
        self.useBias = useBias
    }
}

/// What attention split by heads needs of the whole layer.
public struct AttentionShape: Sendable, Equatable {
    public var heads: Int
    public var causal: Bool
    public var useBias: Bool

    public init(heads: Int, causal: Bool, useBias: Bool = true) {
        self.heads = heads
        self.causal = causal
        self.useBias = useBias
    }
}

/// What a split Transformer encoder block needs of the whole one.
public struct TransformerBlockShape: Sendable, Equatable {
    public var heads: Int
    /// The MLP's hidden width (nil: 4 × the model width).
    public var mlpUnits: Int?
    public var dropout: Double
    public var causal: Bool
    public var activation: Activation

    public init(heads: Int, mlpUnits: Int?, dropout: Double, causal: Bool, activation: Activation) {
        self.heads = heads
        self.mlpUnits = mlpUnits
        self.dropout = dropout
        self.causal = causal
        self.activation = activation
    }
}

extension LayerSpec {
    public var tensorParallelRole: TensorParallelRole { .replicated }
}

extension Dense.Spec {
    public var tensorParallelRole: TensorParallelRole {
        .linear(LinearShape(units: units, activation: activation, alpha: alpha, useBias: useBias))
    }
}

extension Dropout.Spec {
    public var tensorParallelRole: TensorParallelRole { .elementwise }
}

extension ActivationLayer.Spec {
    /// Softmax reads every feature of a row: it cannot run on a slice.
    public var tensorParallelRole: TensorParallelRole { activation == .softmax ? .replicated : .elementwise }
}

extension MultiHeadAttention.Spec {
    public var tensorParallelRole: TensorParallelRole { .attention(AttentionShape(heads: heads, causal: causal, useBias: useBias)) }
}

extension TransformerEncoder.Spec {
    public var tensorParallelRole: TensorParallelRole {
        .transformerBlock(TransformerBlockShape(heads: heads, mlpUnits: mlpUnits, dropout: dropout, causal: causal,
                                                activation: activation))
    }
}
