/// One record of a CSV file: its fields with quotes removed, and the 1-based physical line
/// it starts on (a quoted field may span lines, so records and lines can differ).
struct CSVRecord: Sendable {
    var line: Int
    var fields: [String]
}

/// Splits CSV text into records, RFC 4180 style, one byte at a time.
///
/// - Fields are separated by `delimiter` (any character but `"`, CR or LF; several UTF-8
///   bytes are fine); records end at LF, CRLF or a lone CR.
/// - A field that starts with `"` (after optional blanks) is quoted: it may hold
///   delimiters and line breaks, and `""` inside it is one `"`. Only blanks may follow its
///   closing quote. A `"` inside an unquoted field is an ordinary character, as in
///   Python's `csv` module.
/// - Spaces and tabs (unless the tab is the delimiter) around an unquoted field, and
///   around the quotes of a quoted one, are dropped; a UTF-8 byte-order mark at the start
///   is dropped; blank lines are skipped.
///
/// Hand-written rather than taken from a package: `swiftcsv/SwiftCSV` 0.10.0 and
/// `yaslab/CSV.swift` 2.5.2 (both on the mirror) report no line numbers, and both
/// accept an unterminated quote silently, reading the rest of the file into one field
/// (checked with both on `a,b\n1,"2\n3,4\n`); CSV.swift also keeps the byte-order mark
/// in the first header name and accepts text after a closing quote.
struct CSVRecordParser {
    private static let quote = UInt8(ascii: "\"")
    private static let lineFeed = UInt8(ascii: "\n")
    private static let carriageReturn = UInt8(ascii: "\r")
    private static let space = UInt8(ascii: " ")
    private static let tab = UInt8(ascii: "\t")

    private let bytes: [UInt8]
    private let delimiter: [UInt8]
    private let path: String
    /// The byte the next record (or blank line) starts at.
    private(set) var position = 0
    /// The line at `position`.
    private(set) var line = 1

    /// Throws `DataError.unusableDelimiter` for a delimiter that is a quote or a line break.
    init(text: String, delimiter: Character, path: String) throws {
        try self.init(bytes: Array(text.utf8), delimiter: delimiter, path: path)
    }

    /// A parser of `bytes` cut from a file at a record boundary that lies on line
    /// `firstLine`; a byte-order mark is dropped only at line 1.
    init(bytes: [UInt8], delimiter: Character, path: String, firstLine: Int = 1) throws {
        let delimiterBytes = Array(String(delimiter).utf8)
        guard !delimiterBytes.contains(where: { [Self.quote, Self.lineFeed, Self.carriageReturn].contains($0) }) else {
            throw DataError.unusableDelimiter(path: path, delimiter: String(delimiter))
        }
        self.bytes = bytes
        self.delimiter = delimiterBytes
        self.path = path
        line = firstLine
        if firstLine == 1 && bytes.starts(with: [0xEF, 0xBB, 0xBF]) { position = 3 }
    }

    /// Whether every byte has been read.
    var isAtEnd: Bool { position >= bytes.count }

    /// The next non-blank record, or nil at the end of the text.
    mutating func next() throws -> CSVRecord? {
        while position < bytes.count {
            let startLine = line
            var fields: [String] = []
            var anyQuoted = false
            var moreFields = true
            while moreFields {
                let field = try readField(number: fields.count + 1)
                fields.append(field.text)
                anyQuoted = anyQuoted || field.quoted
                moreFields = consumeSeparator()
            }
            let isBlankLine = fields.count == 1 && fields[0].isEmpty && !anyQuoted
            if !isBlankLine { return CSVRecord(line: startLine, fields: fields) }
        }
        return nil
    }

    /// Reads one field and stops at the delimiter, line break or end that follows it.
    private mutating func readField(number: Int) throws -> (text: String, quoted: Bool) {
        skipBlanks()
        if position < bytes.count && bytes[position] == Self.quote {
            return (try readQuotedField(number: number), true)
        }
        let start = position
        while position < bytes.count && !isFieldEnd(at: position) { position += 1 }
        var end = position
        while end > start && isBlank(bytes[end - 1]) { end -= 1 }
        return (String(decoding: bytes[start..<end], as: UTF8.self), false)
    }

    private mutating func readQuotedField(number: Int) throws -> String {
        let openingLine = line
        position += 1
        var text: [UInt8] = []
        while true {
            guard position < bytes.count else { throw DataError.unterminatedQuote(path: path, line: openingLine) }
            let byte = bytes[position]
            if byte == Self.quote {
                if position + 1 < bytes.count && bytes[position + 1] == Self.quote {
                    text.append(Self.quote)
                    position += 2
                    continue
                }
                position += 1
                break
            }
            if isLineBreak(at: position) { line += 1 }
            text.append(byte)
            position += 1
        }
        skipBlanks()
        guard position == bytes.count || isFieldEnd(at: position) else {
            throw DataError.textAfterClosingQuote(path: path, line: line, field: number)
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Consumes the delimiter (returns true: another field follows) or the line break
    /// ending the record (returns false; also at the end of the text).
    private mutating func consumeSeparator() -> Bool {
        guard position < bytes.count else { return false }
        if isDelimiter(at: position) {
            position += delimiter.count
            return true
        }
        if bytes[position] == Self.carriageReturn && position + 1 < bytes.count && bytes[position + 1] == Self.lineFeed {
            position += 1
        }
        position += 1
        line += 1
        return false
    }

    /// True at the last byte of a line break: LF, or a CR not followed by LF.
    private func isLineBreak(at index: Int) -> Bool {
        bytes[index] == Self.lineFeed
            || (bytes[index] == Self.carriageReturn && !(index + 1 < bytes.count && bytes[index + 1] == Self.lineFeed))
    }

    private func isFieldEnd(at index: Int) -> Bool {
        bytes[index] == Self.lineFeed || bytes[index] == Self.carriageReturn || isDelimiter(at: index)
    }

    private func isDelimiter(at index: Int) -> Bool {
        guard bytes[index] == delimiter[0] else { return false }
        if delimiter.count == 1 { return true }
        return bytes[index...].starts(with: delimiter)
    }

    /// Space or tab, unless that is the delimiter.
    private func isBlank(_ byte: UInt8) -> Bool {
        (byte == Self.space || byte == Self.tab) && !(delimiter.count == 1 && delimiter[0] == byte)
    }

    private mutating func skipBlanks() {
        while position < bytes.count && isBlank(bytes[position]) { position += 1 }
    }
}
