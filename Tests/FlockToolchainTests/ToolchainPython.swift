import FlockTestSupport
import Foundation

/// A Python with MLflow, Optuna and optuna-dashboard from PyPI, pinned, in one virtual
/// environment under `.build/` (made once, reused by later runs). Optuna's version is the
/// one whose RDB schema `OptunaSchema` writes.
final class ToolchainPython: Sendable {
    static let shared = ToolchainPython()
    static let packages = ["mlflow==3.17.2", "optuna==5.1.0", "optuna-dashboard==0.21.0"]

    let environment: PipEnvironment
    var canReachPyPI: Bool { environment.canReachPyPI }

    private init() {
        let versions = Self.packages.map { String($0.split(separator: "=").last!) }
        environment = PipEnvironment(name: "toolchain-venv", packages: Self.packages, check: """
            import mlflow, optuna, importlib.metadata as m
            assert [mlflow.__version__, optuna.__version__, m.version('optuna-dashboard')] == \(versions)
            """)
    }

    func interpreter() throws -> URL { try environment.executable() }

    func executable(_ name: String) throws -> URL { try environment.executable(name) }

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
