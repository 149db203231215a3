import FlockNN
import FlockTensor
import Testing
@testable import FlockParallel

/// A layer kind of a user's own: doubles its input. Whether a split activation may pass
/// through it is what its spec declares.
struct Doubling: Layer {
    let outputShape: [Int]

    func forward(_ input: Variable, context: inout ForwardContext) -> Variable {
        context.tape.scale(input, by: 2)
    }

    struct Spec: LayerSpec, Equatable {
        static let typeName = "doubling"
        var declaresElementwise: Bool

        func makeLayer(inputShape: [Int], builder: inout LayerBuilder) throws -> any Layer { Doubling(outputShape: inputShape) }
        var tensorParallelRole: TensorParallelRole { declaresElementwise ? .elementwise : .replicated }
    }
}

@Suite struct TensorParallelRoleTests {
    @Test func aLayerThatDeclaresItselfElementwiseSitsInsideAColumnRowPair() {
        let elementwise = [LayerConfig.dense(units: 8, activation: .relu), LayerConfig(Doubling.Spec(declaresElementwise: true)),
                           LayerConfig.dense(units: 4)]
        #expect(ModelShard.tensorRoles(elementwise, in: 0..<3, width: 2) == [0: .column(gathersOutput: false), 2: .row])
        // Undeclared, it is replicated: each Dense gathers its own outputs.
        let replicated = [elementwise[0], LayerConfig(Doubling.Spec(declaresElementwise: false)), elementwise[2]]
        #expect(ModelShard.tensorRoles(replicated, in: 0..<3, width: 2)
                == [0: .column(gathersOutput: true), 2: .column(gathersOutput: true)])
    }

    @Test func theBuiltInKindsDeclareTheirRoles() {
        #expect(LayerConfig.dense(units: 3, activation: .tanh).spec.tensorParallelRole
                == .linear(LinearShape(units: 3, activation: .tanh)))
        #expect(LayerConfig.dropout(rate: 0.1).spec.tensorParallelRole == .elementwise)
        #expect(LayerConfig(ActivationLayer.Spec(.softmax)).spec.tensorParallelRole == .replicated)
        #expect(LayerConfig(ActivationLayer.Spec(.relu)).spec.tensorParallelRole == .elementwise)
        #expect(LayerConfig(MultiHeadAttention.Spec(heads: 4, causal: true)).spec.tensorParallelRole
                == .attention(AttentionShape(heads: 4, causal: true)))
    }
}
