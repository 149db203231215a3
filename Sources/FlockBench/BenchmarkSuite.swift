import FlockParallel
import FlockStore
import FlockTensor
import FlockTrain
import Foundation

/// `flock bench all`: every benchmark, each as its own `flock bench … --json` process
/// (under `mpirun -np 2` for the distributed ones), one after another, gathered into one
/// JSON object with the machine record:
/// `{"machine": {…}, "benchmarks": {"train_mlp": {…}, "ddp": {…}, …}, "failed": {…}}`.
public struct BenchmarkSuite {
    /// A benchmark's name in the result and its command line after `flock bench`.
    public struct Entry: Sendable {
        public let name: String
        public let arguments: [String]
        public let usesMPI: Bool
    }

    public static let entries: [Entry] = [
        Entry(name: "train_mlp", arguments: ["train", "--model", "mlp"], usesMPI: false),
        Entry(name: "train_cnn", arguments: ["train", "--model", "cnn"], usesMPI: false),
        Entry(name: "allreduce", arguments: ["allreduce"], usesMPI: true),
        Entry(name: "ddp", arguments: ["ddp"], usesMPI: true),
        Entry(name: "pipeline", arguments: ["pipeline"], usesMPI: true),
        Entry(name: "sampler", arguments: ["sampler"], usesMPI: false),
    ]

    /// The `flock` executable to run.
    public let executable: URL
    /// Extra arguments for the benchmarks that take them (`--repeat N`).
    public var repeats: Int?

    public init(executable: URL) {
        self.executable = executable
    }

    /// Runs every entry; `progress` hears each name before it runs. A benchmark that fails
    /// is recorded under `failed` with its last error line, and the suite goes on.
    public func run(progress: (String) -> Void = { _ in }) -> [String: Any] {
        var machine = BenchmarkMachine.now(threads: 1)
        var results: [String: Any] = [:], failures: [String: String] = [:]
        for entry in Self.entries {
            progress(entry.name)
            var arguments = entry.arguments + ["--json"]
            if let repeats, ["train", "ddp"].contains(entry.arguments[0]) { arguments += ["--repeat", String(repeats)] }
            switch Self.runJSON(executable: executable, arguments: arguments, mpi: entry.usesMPI) {
            case .success(let object): results[entry.name] = object
            case .failure(let error): failures[entry.name] = error.description
            }
        }
        machine = machine.finished()
        return ["machine": machine.json, "benchmarks": results, "failed": failures]
    }

    struct Failure: Error, CustomStringConvertible { let description: String }

    /// Runs `flock bench …` (under `mpirun -np 2` when `mpi`) and parses its last line.
    static func runJSON(executable: URL, arguments: [String], mpi: Bool) -> Result<[String: Any], Failure> {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = mpi ? MPIRunCommand(ranks: 2).words(running: executable.path, ["bench"] + arguments)
                                : [executable.path, "bench"] + arguments
        // Standard error goes to a file: reading two pipes one after the other can block
        // forever on a child that fills the other.
        let errorFile = FileManager.default.temporaryDirectory.appendingPathComponent("flock-bench-\(UUID().uuidString).err")
        guard FileManager.default.createFile(atPath: errorFile.path, contents: nil),
              let errors = try? FileHandle(forWritingTo: errorFile) else {
            return .failure(Failure(description: "cannot create \(errorFile.path)"))
        }
        defer { try? FileManager.default.removeItem(at: errorFile) }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = errors
        do { try process.run() } catch { return .failure(Failure(description: "cannot start: \(error)")) }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try? errors.close()
        let errorText = (try? String(contentsOf: errorFile, encoding: .utf8)) ?? ""
        let last = String(decoding: data, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
        guard process.terminationStatus == 0,
              let object = try? FlockJSON.object(from: Data(last.utf8)) as? [String: Any] else {
            let reason = errorText.split(separator: "\n").last.map(String.init) ?? "exit status \(process.terminationStatus)"
            return .failure(Failure(description: reason))
        }
        return .success(object)
    }
}
