import FlockTensor
import Foundation

/// A value flowing through the graph being written: its name and its per-sample shape
/// (the batch axis N, always first and dynamic, excluded).
struct ONNXValue {
    let name: String
    let shape: [Int]
}

/// The ONNX graph being written: nodes in topological order (the order they are added),
/// initializers (weights, constants), and names made unique by a counter.
struct ONNXGraphBuilder {
    private(set) var nodes: [Onnx_NodeProto] = []
    private(set) var initializers: [Onnx_TensorProto] = []
    private var usedNames: Set<String> = []

    /// `base`, or `base_2`, `base_3`, … when taken.
    mutating func unique(_ base: String) -> String {
        var name = base, suffix = 1
        while usedNames.contains(name) {
            suffix += 1
            name = "\(base)_\(suffix)"
        }
        usedNames.insert(name)
        return name
    }

    /// A float32 initializer of `shape` holding `values` (row-major); its name.
    mutating func constant(_ values: [Float], shape: [Int], name: String) -> String {
        precondition(values.count == shape.reduce(1, *), "constant \(name): \(values.count) values for shape \(shape)")
        var tensor = Onnx_TensorProto()
        tensor.name = unique(name)
        tensor.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        tensor.dims = shape.map(Int64.init)
        tensor.rawData = values.withUnsafeBufferPointer { Data(buffer: $0) }
        initializers.append(tensor)
        return tensor.name
    }

    /// An int64 initializer (shapes, axes, indices) of shape (count), or a scalar with `scalar`.
    mutating func int64s(_ values: [Int], name: String, scalar: Bool = false) -> String {
        precondition(!scalar || values.count == 1, "a scalar holds one value")
        var tensor = Onnx_TensorProto()
        tensor.name = unique(name)
        tensor.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
        tensor.dims = scalar ? [] : [Int64(values.count)]
        tensor.int64Data = values.map(Int64.init)
        initializers.append(tensor)
        return tensor.name
    }

    /// Appends an `op` node reading `inputs`; returns its `outputs` output names, made
    /// from `name` (the node's name too).
    @discardableResult
    mutating func node(_ op: String, _ inputs: [String], _ attributes: [Onnx_AttributeProto] = [], name: String,
                       outputs: Int = 1) -> [String] {
        var node = Onnx_NodeProto()
        node.opType = op
        node.name = unique(name)
        node.input = inputs
        // A single output takes the node's name (a separate namespace in ONNX).
        node.output = outputs == 1 ? [node.name] : (0..<outputs).map { unique("\(node.name)_\($0)") }
        node.attribute = attributes
        nodes.append(node)
        return node.output
    }

    /// One-output `node`.
    mutating func op(_ op: String, _ inputs: [String], _ attributes: [Onnx_AttributeProto] = [], name: String) -> String {
        node(op, inputs, attributes, name: name)[0]
    }

    /// `x` reshaped to (N, shape…), the batch axis kept (`0` in ONNX Reshape copies it).
    mutating func reshape(_ x: String, perSample shape: [Int], name: String) -> String {
        op("Reshape", [x, int64s([0] + shape, name: "\(name)_shape")], name: name)
    }

    /// `x` with a per-column affine map `x · scale + shift` (either may be absent), as Mul then Add.
    mutating func affine(_ x: String, scale: [Float]?, shift: [Float]?, shape: [Int], name: String) -> String {
        var y = x
        if let scale { y = op("Mul", [y, constant(scale, shape: shape, name: "\(name)_scale")], name: "\(name)_mul") }
        if let shift { y = op("Add", [y, constant(shift, shape: shape, name: "\(name)_shift")], name: "\(name)_add") }
        return y
    }
}

/// Node attributes, built by kind.
enum ONNXAttribute {
    static func int(_ name: String, _ value: Int) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .int
        attribute.i = Int64(value)
        return attribute
    }

    static func ints(_ name: String, _ values: [Int]) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .ints
        attribute.ints = values.map(Int64.init)
        return attribute
    }

    static func float(_ name: String, _ value: Float) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .float
        attribute.f = value
        return attribute
    }

    static func strings(_ name: String, _ values: [String]) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .strings
        attribute.strings = values.map { Data($0.utf8) }
        return attribute
    }
}

extension ONNXGraphBuilder {
    /// x (N, …, C) · Wᵀ + b for a PyTorch-layout weight W (units, C): MatMul with Wᵀ
    /// stored transposed (C, units), broadcast over the leading axes, then Add.
    mutating func linear(_ x: String, weight: ParameterSlot, bias: ParameterSlot?, context: ONNXLayerContext, name: String) -> String {
        let (units, features) = (weight.shape[0], weight.shape[1])
        let w = context.values(weight)
        var transposed = [Float](repeating: 0, count: w.count)
        for row in 0..<units { for column in 0..<features { transposed[column * units + row] = w[row * features + column] } }
        let y = op("MatMul", [x, constant(transposed, shape: [features, units], name: "\(name)/weight")], name: "\(name)/matmul")
        guard let bias else { return y }
        return op("Add", [y, constant(context.values(bias), shape: [units], name: "\(name)/bias")], name: "\(name)/bias_add")
    }
}
