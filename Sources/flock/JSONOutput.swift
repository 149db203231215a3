import Flock
import Foundation

/// JSON on standard output, keys sorted so output is stable: one line by default (the
/// last line of `flock bench … --json`), indented with `pretty`; paths keep their slashes.
enum JSONOutput {
    static func print(_ object: Any, pretty: Bool = false) throws {
        Swift.print(try FlockJSON.string(object, pretty: pretty))
    }
}
