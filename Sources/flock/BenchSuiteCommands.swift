import ArgumentParser
import Flock
import FlockBench
import Foundation

struct BenchAll: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "all",
        abstract: "Every benchmark (train mlp/cnn, allreduce, ddp and pipeline under mpirun -np 2, sampler), one JSON file.")

    @Option(help: "Write the result here (default: print it as the last line).")
    var output: String?

    @Option(help: "Interleaved pairs for the benchmarks that take --repeat (train, ddp).")
    var `repeat`: Int?

    @Flag(help: "Print the result as one JSON line (the default without --output).")
    var json = false

    @Option(help: "Also record each benchmark's result in this experiment store (see flock bench history).")
    var store: String?

    func validate() throws {
        if let value = `repeat`, !(1...1000).contains(value) { throw ValidationError("--repeat: expected 1 to 1000, got \(value)") }
    }

    func run() throws {
        var suite = BenchmarkSuite(executable: URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath())
        suite.repeats = `repeat`
        let result = suite.run { name in FileHandle.standardError.write(Data("running \(name)…\n".utf8)) }
        if let failed = result["failed"] as? [String: String], !failed.isEmpty {
            for (name, reason) in failed.sorted(by: { $0.key < $1.key }) {
                FileHandle.standardError.write(Data("\(name) failed: \(reason)\n".utf8))
            }
        }
        if let store { try BenchmarkHistory.recordSuite(result, storePath: store) }
        if let output {
            let data = try FlockJSON.data(result, pretty: true)
            do { try AtomicFile.write(data, to: URL(fileURLWithPath: output)) } catch { throw CommandFailure("\(output): \(error)") }
            print("wrote \(output)")
            if json { try JSONOutput.print(result) }
        } else {
            try JSONOutput.print(result)
        }
    }
}

struct BenchCompare: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Two results side by side (`flock bench all` files, or two `flock bench … --json` lines of one benchmark); changes beyond both results' spreads are flagged.")

    @Argument(help: "The earlier result (JSON).")
    var before: String

    @Argument(help: "The later result (JSON).")
    var after: String

    func run() throws {
        func load(_ path: String) throws -> (path: String, result: [String: Any]) {
            guard let data = FileManager.default.contents(atPath: path) else { throw CommandFailure("\(path): file not found or unreadable") }
            // A saved `--json` run may hold the benchmark's printed lines before its JSON line.
            let lastLine = String(decoding: data, as: UTF8.self).split(separator: "\n").last.map { Data($0.utf8) }
            guard let object = (try? FlockJSON.object(from: data) as? [String: Any]) ?? lastLine.flatMap({ try? FlockJSON.object(from: $0) as? [String: Any] }) else {
                throw CommandFailure("\(path): not a JSON object (expected a `flock bench all` result or the JSON line of `flock bench … --json`)")
            }
            return (path, object)
        }
        do { print(try BenchmarkComparison(files: try load(before), try load(after)).table) } catch let error as BenchmarkComparison.InputError {
            throw CommandFailure(error.description)
        }
    }
}

struct BenchHistory: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Benchmark results recorded with --store, oldest first: when, which build, the headline figure and its spread.")

    @Option(help: "The experiment store the results were recorded in.")
    var store: String

    @Option(help: "Only this benchmark (train_mlp, train_cnn, ddp, allreduce, pipeline, sampler).")
    var name: String?

    func run() throws {
        guard FileManager.default.fileExists(atPath: store) else { throw CommandFailure("\(store): no such store") }
        let lines: [String]
        do { lines = try BenchmarkHistory.lines(storePath: store, name: name) } catch { throw CommandFailure("\(store): \(error)") }
        if lines.isEmpty { print("no benchmark results recorded\(name.map { " for \($0)" } ?? "")") }
        for line in lines { print(line) }
    }
}
