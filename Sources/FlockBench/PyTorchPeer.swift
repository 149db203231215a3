import Foundation

/// The PyTorch peer of a `flock bench train` model, run in the same sitting:
/// `cluster/peers/pytorch_<model>.py` (from the current folder) with the given Python,
/// the same threads, and CPU autocast to bf16 for a bf16 run.
public struct PyTorchPeer {
    public var python: String
    public var model: String
    public var threads: Int
    public var bf16: Bool

    public init(python: String, model: String, threads: Int, bf16: Bool) {
        (self.python, self.model, self.threads, self.bf16) = (python, model, threads, bf16)
    }

    /// The peer's one-line report; throws, saying what to fix, when it cannot run or fails.
    public func run() throws -> String {
        let script = "cluster/peers/pytorch_\(model).py"
        guard FileManager.default.fileExists(atPath: script) else {
            throw PeerError(description: "--peer: \(script) not found; run from the repository root")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script, "--threads", String(threads), "--autocast", bf16 ? "bf16" : "none"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        do { try process.run() } catch {
            throw PeerError(description: "--peer: cannot run \(python): \(error.localizedDescription)")
        }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let lines = text.split(separator: "\n").map(String.init)
        guard process.terminationStatus == 0, let last = lines.last else {
            throw PeerError(description: "--peer: \(script) exited with status \(process.terminationStatus): \(lines.suffix(3).joined(separator: " / "))")
        }
        return last
    }
}

/// A peer run that failed for a reason a person can act on.
public struct PeerError: Error, CustomStringConvertible {
    public var description: String
}
