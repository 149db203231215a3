import Foundation

/// A Python with packages installed from PyPI into a virtual environment under `.build/`
/// (made once, reused by later runs): the real libraries a test checks Flock's files with.
///
/// ```swift
/// static let shared = PythonPackages(venv: "onnx-venv", packages: ["onnxruntime", "onnx"], imports: "onnxruntime, onnx")
/// @Test(.enabled(if: shared.canReachPyPI, "skipped: pip cannot reach PyPI"))
/// ```
public final class PythonPackages: Sendable {
    public let environment: URL
    public let packages: [String]
    /// nil when installed; the installer's output otherwise.
    public let installFailure: String?
    /// False only when pip's failure says the index could not be reached.
    public let canReachPyPI: Bool

    /// `imports`: what `import …` must succeed for the environment to count as ready.
    public init(venv: String, packages: [String], imports: String) {
        environment = ChildProcess.repositoryRoot.appendingPathComponent(".build/\(venv)")
        self.packages = packages
        let python = environment.appendingPathComponent("bin/python")
        let ready = { (try? ChildProcess.run(python, ["-c", "import \(imports)"], timeout: 60))?.status == 0 }
        if ready() {
            (installFailure, canReachPyPI) = (nil, true)
            return
        }
        var log = ""
        if let venv = try? ChildProcess.run(URL(fileURLWithPath: "/usr/bin/env"),
                                           ["python3", "-m", "venv", "--system-site-packages", environment.path], timeout: 120) {
            log += venv.output
        }
        if let pip = try? ChildProcess.run(python, ["-m", "pip", "install", "--quiet", "--disable-pip-version-check"] + packages,
                                           timeout: 600) {
            log += pip.output
        }
        let offline = ["Failed to establish a new connection", "Temporary failure in name resolution", "Network is unreachable",
                       "No matching distribution found", "Could not fetch URL", "ConnectionError"]
        let installed = ready()
        installFailure = installed ? nil : log
        canReachPyPI = installed || !offline.contains { log.contains($0) }
    }

    /// The environment's interpreter; throws with pip's output when installing failed.
    public func interpreter() throws -> URL {
        if let installFailure {
            throw PythonInstallFailure(description: "could not install \(packages.joined(separator: ", ")) with pip:\n\(installFailure)")
        }
        return environment.appendingPathComponent("bin/python")
    }
}

public struct PythonInstallFailure: Error, CustomStringConvertible {
    public let description: String
}
