import SwiftProtobuf

// The three TensorBoard messages a scalar event file needs, written in the form
// protoc-gen-swift generates (field numbers from TensorBoard's `event.proto` and
// `summary.proto`); only the fields Flock writes are declared. Encoded by SwiftProtobuf.

/// `tensorboard.Summary.Value`: one tagged scalar (`simple_value`, the form TensorBoard's
/// `EventAccumulator.Scalars` reads).
struct TensorBoardSummaryValue: Sendable {
    /// Field 1.
    var tag = ""
    /// Field 2 (`float simple_value`, in the `value` oneof).
    var simpleValue: Float = 0
    var unknownFields = UnknownStorage()
}

/// `tensorboard.Summary`: field 1, `repeated Value value`.
struct TensorBoardSummary: Sendable {
    var values: [TensorBoardSummaryValue] = []
    var unknownFields = UnknownStorage()
}

/// `tensorboard.Event`: wall time, step, and either the file version (the first event of
/// a file) or a summary.
struct TensorBoardEvent: Sendable {
    /// Field 1, seconds since 1970.
    var wallTime: Double = 0
    /// Field 2.
    var step: Int64 = 0
    /// Field 3 (`what` oneof): `brain.Event:2` in a file's first event.
    var fileVersion: String?
    /// Field 5 (`what` oneof).
    var summary: TensorBoardSummary?
    var unknownFields = UnknownStorage()
}

extension TensorBoardSummaryValue: Message, _MessageImplementationBase {
    static let protoMessageName = "tensorboard.Summary.Value"

    mutating func decodeMessage<D: Decoder>(decoder: inout D) throws {
        while let fieldNumber = try decoder.nextFieldNumber() {
            switch fieldNumber {
            case 1: try decoder.decodeSingularStringField(value: &tag)
            case 2: try decoder.decodeSingularFloatField(value: &simpleValue)
            default: break
            }
        }
    }

    func traverse<V: Visitor>(visitor: inout V) throws {
        if !tag.isEmpty { try visitor.visitSingularStringField(value: tag, fieldNumber: 1) }
        // A oneof member is written even when zero: a scalar of 0 is a value, not "unset".
        try visitor.visitSingularFloatField(value: simpleValue, fieldNumber: 2)
        try unknownFields.traverse(visitor: &visitor)
    }

    static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.tag == rhs.tag && lhs.simpleValue == rhs.simpleValue && lhs.unknownFields == rhs.unknownFields
    }
}

extension TensorBoardSummary: Message, _MessageImplementationBase {
    static let protoMessageName = "tensorboard.Summary"

    mutating func decodeMessage<D: Decoder>(decoder: inout D) throws {
        while let fieldNumber = try decoder.nextFieldNumber() {
            if fieldNumber == 1 { try decoder.decodeRepeatedMessageField(value: &values) }
        }
    }

    func traverse<V: Visitor>(visitor: inout V) throws {
        if !values.isEmpty { try visitor.visitRepeatedMessageField(value: values, fieldNumber: 1) }
        try unknownFields.traverse(visitor: &visitor)
    }

    static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.values == rhs.values && lhs.unknownFields == rhs.unknownFields
    }
}

extension TensorBoardEvent: Message, _MessageImplementationBase {
    static let protoMessageName = "tensorboard.Event"

    mutating func decodeMessage<D: Decoder>(decoder: inout D) throws {
        while let fieldNumber = try decoder.nextFieldNumber() {
            switch fieldNumber {
            case 1: try decoder.decodeSingularDoubleField(value: &wallTime)
            case 2: try decoder.decodeSingularInt64Field(value: &step)
            case 3: try decoder.decodeSingularStringField(value: &fileVersion)
            case 5: try decoder.decodeSingularMessageField(value: &summary)
            default: break
            }
        }
    }

    func traverse<V: Visitor>(visitor: inout V) throws {
        if wallTime != 0 { try visitor.visitSingularDoubleField(value: wallTime, fieldNumber: 1) }
        if step != 0 { try visitor.visitSingularInt64Field(value: step, fieldNumber: 2) }
        if let fileVersion { try visitor.visitSingularStringField(value: fileVersion, fieldNumber: 3) }
        if let summary { try visitor.visitSingularMessageField(value: summary, fieldNumber: 5) }
        try unknownFields.traverse(visitor: &visitor)
    }

    static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.wallTime == rhs.wallTime && lhs.step == rhs.step && lhs.fileVersion == rhs.fileVersion
            && lhs.summary == rhs.summary && lhs.unknownFields == rhs.unknownFields
    }
}
