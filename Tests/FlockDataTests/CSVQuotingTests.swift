import Foundation
import Testing
@testable import FlockData

/// RFC 4180 quoting, delimiters, byte-order marks and line numbers.
@Suite struct CSVQuotingTests {
    /// Exact output of Python 3.11's `csv.writer` (excel dialect: minimal quoting, `""` for a
    /// quote, CRLF line ends), produced once by running:
    /// ```python
    /// w = csv.writer(buf)
    /// w.writerow(["id, patient", 'radius "mean"', "texture\nworst", "diagnosis"])
    /// w.writerow([1, 12.5, 3, 'malignant, stage "2"'])
    /// w.writerow([2, 13, 4.25, "benign"])
    /// w.writerow([3, "", 5, "benign\nre-checked"])
    /// w.writerow([4, 14, 6, "benign"])
    /// ```
    static let pythonCSV = "\"id, patient\",\"radius \"\"mean\"\"\",\"texture\nworst\",diagnosis\r\n"
        + "1,12.5,3,\"malignant, stage \"\"2\"\"\"\r\n2,13,4.25,benign\r\n3,,5,\"benign\nre-checked\"\r\n4,14,6,benign\r\n"

    @Test func readsPythonCSVModuleOutput() throws {
        let contents = try CSVReader(labelColumn: .name("diagnosis")).parseContents(Self.pythonCSV, path: "py.csv")
        #expect(contents.featureColumns == ["id, patient", "radius \"mean\"", "texture\nworst"])
        #expect(contents.labelColumn == "diagnosis")
        #expect(contents.classNames == ["benign", "benign\nre-checked", "malignant, stage \"2\""])
        #expect(contents.targets?.scalars == [2, 0, 1, 0])
        #expect(contents.features.shape == [4, 3])
        let features = contents.features.scalars
        #expect(features[0..<6] == [1, 12.5, 3, 2, 13, 4.25])
        #expect(features[6] == 3 && features[7].isNaN && features[8] == 5)
        #expect(features[9...] == [4, 14, 6])
        // The header spans lines 1–2 and the third row lines 5–6.
        #expect(contents.lines == [3, 4, 5, 7])
        #expect(contents.missing == [CSVCell(line: 5, column: "radius \"mean\"")])
    }

    /// pandas' `to_csv(quoting=QUOTE_NONNUMERIC)` and R's `write.csv` quote every name.
    @Test func quotedHeaderNamesLoseTheirQuotes() throws {
        let text = "\"x1\",\"x2\",\"target\"\r\n1.5,2,\"a\"\r\n3,4.0,\"b\"\r\n"
        let contents = try CSVReader(labelColumn: .name("target")).parseContents(text, path: "q.csv")
        #expect(contents.featureColumns == ["x1", "x2"])
        #expect(contents.features.scalars == [1.5, 2, 3, 4])
        #expect(contents.classNames == ["a", "b"])
    }

    @Test(arguments: [";", "\t", "|", "¦"] as [Character])
    func readsAnyDelimiter(_ delimiter: Character) throws {
        let d = String(delimiter)
        let text = "a\(d) b \(d)y\n 1.5\(d)\"2\(d)5\" \(d)0\n3\(d)4\(d)1\n"
        // "2;5" quoted holds the delimiter, so it is one (non-numeric) field.
        let error = #expect(throws: DataError.self) { try CSVReader(delimiter: delimiter).parse(text, path: "d.csv") }
        #expect(error == .nonNumeric(path: "d.csv", line: 2, column: "b", text: "2\(d)5"))
        let clean = text.replacingOccurrences(of: "\"2\(d)5\"", with: "\"2\"")
        let data = try CSVReader(delimiter: delimiter).parse(clean, path: "d.csv")
        #expect(data.features.scalars == [1.5, 2, 3, 4])
        #expect(data.targets.scalars == [0, 1])
    }

    /// "¦" and "§" share their first UTF-8 byte (C2): only the whole sequence separates.
    @Test func multiByteDelimiterMatchesItsWholeEncoding() throws {
        let contents = try CSVReader(delimiter: "¦").parseContents("a¦y\n1¦§\n2¦x\n", path: "m.csv")
        #expect(contents.classNames == ["x", "§"])
        #expect(contents.features.scalars == [1, 2])
    }

    @Test func semicolonFileWithCommasInsideFields() throws {
        let text = "name;x;y\n\"Smith, J\";1;0\n\"Doe, A\";2;1\n"
        let contents = try CSVReader(labelColumn: .name("y"), delimiter: ";", featureColumns: ["x"])
            .parseContents(text, path: "s.csv")
        #expect(contents.features.scalars == [1, 2])
    }

    @Test func byteOrderMarkIsDropped() throws {
        let text = "\u{FEFF}label,a,b\n1,2,3\n"
        let contents = try CSVReader(labelColumn: .name("label")).parseContents(text, path: "bom.csv")
        #expect(contents.featureColumns == ["a", "b"])
        #expect(contents.targets?.scalars == [1])
    }

    @Test func blanksAroundFieldsAreTrimmedButNotInsideQuotes() throws {
        let text = "a , b,y\n  1 ,\t2\t, \" big cat \" \n3,4,small\n"
        let contents = try CSVReader().parseContents(text, path: "w.csv")
        #expect(contents.featureColumns == ["a", "b"])
        #expect(contents.features.scalars == [1, 2, 3, 4])
        #expect(contents.classNames == [" big cat ", "small"])
    }

    @Test func lineNumbersCountCRLFLFAndLoneCRLineEndsAndSkipBlankLines() {
        // Lines: 1 header (CRLF), 2 row (LF), 3 blank, 4–5 quoted line break (CR), 6 ragged.
        let text = "a,b,y\r\n1,2,0\n\n3,4,\"x\ry\"\r\n5,6\n"
        #expect(throws: DataError.raggedRow(path: "l.csv", line: 6, expected: 3, found: 2)) {
            try CSVReader().parse(text, path: "l.csv")
        }
    }

    @Test func unterminatedQuoteNamesTheLineItOpensOn() {
        let text = "a,b,y\n1,2,0\n3,\"4,1\n5,6,7\n8,9,0\n"
        let error = #expect(throws: DataError.self) { try CSVReader().parse(text, path: "u.csv") }
        #expect(error == .unterminatedQuote(path: "u.csv", line: 3))
        #expect(error?.description.hasPrefix("u.csv:3: a quoted field starts on this line but its closing quote is missing") == true)
    }

    @Test func textAfterAClosingQuoteIsAnError() {
        let text = "a,b,y\n1,\"2\"x,0\n"
        #expect(throws: DataError.textAfterClosingQuote(path: "t.csv", line: 2, field: 2)) {
            try CSVReader().parse(text, path: "t.csv")
        }
    }

    @Test func quoteInsideAnUnquotedFieldIsText() throws {
        let contents = try CSVReader().parseContents("size,kind\n5,12\" pipe\n", path: "p.csv")
        #expect(contents.classNames == ["12\" pipe"])
    }

    @Test func quoteOrLineBreakDelimiterIsRejected() {
        #expect(throws: DataError.unusableDelimiter(path: "x.csv", delimiter: "\"")) {
            try CSVReader(delimiter: "\"").parse("a\"b\n1\"2\n", path: "x.csv")
        }
    }

    @Test func duplicateHeaderNameIsRejected() {
        #expect(throws: DataError.duplicateColumn(path: "d.csv", column: "a")) {
            try CSVReader().parse("a,b,a,y\n1,2,3,0\n", path: "d.csv")
        }
    }

    @Test func readsTheBundledDigitsFile() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("examples/data/digits.csv").path
        let contents = try CSVReader(labelColumn: .name("label")).readContents(path: path)
        #expect(contents.features.shape == [1797, 64])
        #expect(contents.featureColumns.first == "p0" && contents.featureColumns.last == "p63")
        #expect(contents.classNames == nil && contents.missing.isEmpty)
        #expect(Set(contents.targets?.scalars ?? []) == Set((0...9).map(Float.init)))
        #expect(contents.lines.last == 1798)
    }
}
