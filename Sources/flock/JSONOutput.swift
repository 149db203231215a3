import Flock
import Foundation

/// JSON on standard output, keys sorted so output is stable: one line by default (the
/// last line of `flock bench … --json`), indented with `pretty`; paths keep their slashes.
enum JSONOutput {
    static func print(_ object: Any, pretty: Bool = false) throws {
        Swift.print(try FlockJSON.string(object, pretty: pretty))
    }

    /// A benchmark's `--json` line: `result` with its `benchmark` name (as `flock bench all`
    /// files it), so `flock bench compare` can tell which benchmark a saved line is of.
    static func print(result: [String: Any], benchmark: String) throws {
        try print(result.merging(["benchmark": benchmark]) { $1 })
    }
}
