import FlockTestSupport
import Foundation

/// A Python with MLflow, Optuna and optuna-dashboard from PyPI, pinned, in one virtual
/// environment under `.build/` (made once, reused by later runs). Optuna's version is the
/// one whose RDB schema `OptunaSchema` writes.
final class ToolchainPython: Sendable {
    static let shared = ToolchainPython()
    static let packages = ["mlflow==3.17.2", "optuna==5.1.0", "optuna-dashboard==0.21.0"]

    let environment = ChildProcess.repositoryRoot.appendingPathComponent(".build/toolchain-venv")
    /// nil when installed; the installer's output otherwise.
    let installFailure: String?
    /// False only when pip's failure says the index could not be reached.
    let canReachPyPI: Bool

    private init() {
        let python = environment.appendingPathComponent("bin/python")
        let check = "import mlflow, optuna, importlib.metadata as m; assert [mlflow.__version__, optuna.__version__, m.version('optuna-dashboard')] == \(Self.packages.map { String($0.split(separator: "=").last!) })"
        let ready = { (try? ChildProcess.run(python, ["-c", check], timeout: 120))?.status == 0 }
        if ready() {
            (installFailure, canReachPyPI) = (nil, true)
            return
        }
        var log = ""
        if let venv = try? ChildProcess.run(URL(fileURLWithPath: "/usr/bin/env"),
                                           ["python3", "-m", "venv", "--system-site-packages", environment.path], timeout: 120) {
            log += venv.output
        }
        if let pip = try? ChildProcess.run(python, ["-m", "pip", "install", "--quiet", "--disable-pip-version-check"] + Self.packages, timeout: 900) {
            log += pip.output
        }
        let offline = ["Failed to establish a new connection", "Temporary failure in name resolution", "Network is unreachable",
                       "No matching distribution found", "Could not fetch URL", "ConnectionError"]
        let installed = ready()
        installFailure = installed ? nil : log
        canReachPyPI = installed || !offline.contains { log.contains($0) }
    }

    func interpreter() throws -> URL {
        if let installFailure { throw TestFailure("could not install \(Self.packages) with pip:\n\(installFailure)") }
        return environment.appendingPathComponent("bin/python")
    }

    func executable(_ name: String) throws -> URL {
        _ = try interpreter()
        return environment.appendingPathComponent("bin/\(name)")
    }

    /// Runs a Python script with arguments; its standard output parsed as JSON.
    func json(_ script: String, _ arguments: [String], timeout: Double = 120) throws -> Any {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let file = try folder.write("script.py", script)
        let outcome = try ChildProcess.run(try interpreter(), [file.path] + arguments, timeout: timeout)
        guard outcome.status == 0, !outcome.timedOut else { throw TestFailure("python failed:\n\(outcome.output)") }
        guard let last = outcome.standardOutput.split(separator: "\n").last else { throw TestFailure("python printed nothing:\n\(outcome.output)") }
        return try JSONSerialization.jsonObject(with: Data(last.utf8), options: [.fragmentsAllowed])
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
