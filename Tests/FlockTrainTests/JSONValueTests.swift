import Foundation
import Testing
@testable import FlockTrain

/// Callback states travel through `JSONValue` into `state.json` and back: exactly.
@Suite struct JSONValueTests {
    struct State: Codable, Equatable {
        var counter: UInt64
        var signed: Int64
        var best: Double?
        var name: String
        var history: [Double]
    }

    @Test func integersBeyondDoublePrecisionAndNonFiniteValuesSurvive() throws {
        let state = State(counter: UInt64.max - 1, signed: Int64.min + 3, best: 0.1, name: "x",
                          history: [1.5, .infinity, -.infinity])
        let back = try JSONValue(encoding: state).decode(State.self)
        #expect(back == state)
        let nan = try JSONValue(encoding: State(counter: 1, signed: 2, best: .nan, name: "", history: [])).decode(State.self)
        #expect(nan.best?.isNaN == true)
    }
}
