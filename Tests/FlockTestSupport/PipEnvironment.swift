import Foundation

/// A Python virtual environment under `.build/` with packages from PyPI, made once and
/// reused by later runs. A test that needs it is enabled only when `canReachPyPI` (so it
/// is skipped, saying so, on a machine without the index) and fails when the install
/// failed for any other reason.
public final class PipEnvironment: Sendable {
    public let folder: URL
    public let packages: [String]
    /// nil when installed; the installer's output otherwise.
    public let installFailure: String?
    /// False only when pip's failure says the index could not be reached.
    public let canReachPyPI: Bool

    /// - Parameters:
    ///   - name: the folder under `.build/`.
    ///   - check: Python that exits 0 when the packages (at their versions) are there.
    public init(name: String, packages: [String], check: String) {
        folder = ChildProcess.repositoryRoot.appendingPathComponent(".build/\(name)")
        self.packages = packages
        let python = folder.appendingPathComponent("bin/python")
        let ready = { (try? ChildProcess.run(python, ["-c", check], timeout: 120))?.status == 0 }
        if ready() {
            (installFailure, canReachPyPI) = (nil, true)
            return
        }
        var log = ""
        if let venv = try? ChildProcess.run(URL(fileURLWithPath: "/usr/bin/env"),
                                           ["python3", "-m", "venv", "--system-site-packages", folder.path], timeout: 120) {
            log += venv.output
        }
        if let pip = try? ChildProcess.run(python, ["-m", "pip", "install", "--quiet", "--disable-pip-version-check"] + packages, timeout: 900) {
            log += pip.output
        }
        let offline = ["Failed to establish a new connection", "Temporary failure in name resolution", "Network is unreachable",
                       "No matching distribution found", "Could not fetch URL", "ConnectionError"]
        let installed = ready()
        installFailure = installed ? nil : log
        canReachPyPI = installed || !offline.contains { log.contains($0) }
    }

    /// The environment's `bin/NAME` (`python` by default); throws the installer's output
    /// when the install failed.
    public func executable(_ name: String = "python") throws -> URL {
        if let installFailure { throw PipInstallFailure(description: "could not install \(packages) with pip:\n\(installFailure)") }
        return folder.appendingPathComponent("bin/\(name)")
    }
}

public struct PipInstallFailure: Error, CustomStringConvertible {
    public let description: String
}
