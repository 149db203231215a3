import Foundation
import Testing
import FlockStore

/// The one JSON form Flock writes: non-finite numbers as strings a strict JSON parser
/// accepts and Flock reads back as numbers; every double exactly.
@Suite struct FlockJSONTests {
    @Test func nonFiniteNumbersAreWrittenAsStringsAndReadBackAsNumbers() throws {
        let text = try FlockJSON.string(["loss": Double.nan, "high": Double.infinity, "low": -Double.infinity,
                                         "lr": Float.nan, "epoch": 3, "name": "a\"b/c\n\u{1}"] as [String: Any])
        #expect(text == #"{"epoch":3,"high":"Infinity","loss":"NaN","low":"-Infinity","lr":"NaN","name":"a\"b/c\n\u0001"}"#)
        // Strict JSON: Foundation's parser (as browsers' JSON.parse) accepts it.
        #expect(try JSONSerialization.jsonObject(with: Data(text.utf8)) is [String: Any])
        let object = try #require(try FlockJSON.object(from: Data(text.utf8)) as? [String: Any])
        #expect(FlockJSON.number(object["loss"])!.isNaN)
        #expect(FlockJSON.number(object["high"]) == .infinity)
        #expect(FlockJSON.number(object["low"]) == -.infinity)
        #expect(object["epoch"] as? Int == 3)
        #expect(object["name"] as? String == "a\"b/c\n\u{1}")
    }

    @Test func codableValuesWithNonFiniteNumbersRoundTrip() throws {
        let values: [String: Double] = ["loss": .nan, "accuracy": 0.1, "grad_norm": .infinity, "delta": -.infinity]
        let data = try FlockJSON.encoder().encode(values)
        #expect(String(decoding: data, as: UTF8.self) == #"{"accuracy":0.1,"delta":"-Infinity","grad_norm":"Infinity","loss":"NaN"}"#)
        let back = try FlockJSON.decoder.decode([String: Double].self, from: data)
        #expect(back["loss"]!.isNaN && back["grad_norm"] == .infinity && back["delta"] == -.infinity && back["accuracy"] == 0.1)
    }

    /// Every double reads back bit for bit, whichever reader: Flock's own, and JSONDecoder's.
    @Test func doublesAreWrittenExactly() throws {
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        for _ in 0..<20_000 {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            let value = Double(bitPattern: state)
            guard value.isFinite else { continue }
            let text = try FlockJSON.string([value])
            let read = try #require(try FlockJSON.object(from: Data(text.utf8)) as? [Any])
            #expect(FlockJSON.number(read[0])?.bitPattern == value.bitPattern, "\(value) written as \(text)")
            #expect(try JSONDecoder().decode([Double].self, from: Data(text.utf8))[0].bitPattern == value.bitPattern, "\(text)")
        }
    }

    /// What Foundation's parser hands over (NSNumber booleans, integers, doubles) is written
    /// as the same JSON.
    @Test func foundationValuesAreWrittenAsTheyWereRead() throws {
        let text = #"{"flag":true,"off":false,"count":7,"negative":-3,"ratio":0.25,"none":null,"list":[1,2.5,"x"]}"#
        let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8))
        let again = try FlockJSON.string(parsed)
        #expect(again == #"{"count":7,"flag":true,"list":[1,2.5,"x"],"negative":-3,"none":null,"off":false,"ratio":0.25}"#)
        #expect(try FlockJSON.string(["a": [Int?.none, 1]], pretty: true) == "{\n  \"a\" : [\n    null,\n    1\n  ]\n}")
    }
}
