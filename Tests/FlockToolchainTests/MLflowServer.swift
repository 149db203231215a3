import FlockTestSupport
import Foundation

/// `mlflow server` on a free localhost port, its backend SQLite and artifacts in a
/// temporary folder, under `timeout` as a backstop. Foundation's `Process` starts its
/// child as a process-group leader, so `kill()` signals the group: the CLI and the
/// uvicorn and job-runner processes it starts.
final class MLflowServer {
    let url: URL
    let folder: TemporaryFolder
    private var process = Process()
    private let log: URL
    private let arguments: [String]
    private let startupTimeout: Double

    init(python: ToolchainPython, startupTimeout: Double = 240) throws {
        folder = try TemporaryFolder()
        let port = try FreePort.find()
        url = URL(string: "http://127.0.0.1:\(port)")!
        log = folder.url.appendingPathComponent("server.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        arguments = ["600", try python.executable("mlflow").path, "server", "--host", "127.0.0.1", "--port", "\(port)",
                     "--workers", "1", "--backend-store-uri", "sqlite:///\(folder.url.path)/mlflow.db",
                     "--artifacts-destination", folder.url.appendingPathComponent("artifacts").path]
        self.startupTimeout = startupTimeout
        try start()
    }

    /// A killed server back on the same port, database and artifacts.
    func restart() throws {
        kill()
        process = Process()
        try start()
    }

    private func start() throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = arguments
        process.currentDirectoryURL = folder.url
        // Only tracking and the artifact proxy are used: no job runner processes to start.
        process.environment = ChildProcess.environment(["MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"])
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let deadline = Date(timeIntervalSinceNow: startupTimeout)
        while Date() < deadline && process.isRunning {
            if healthy() { return }
            usleep(500_000)
        }
        kill()
        throw TestFailure("mlflow server did not answer /health within \(startupTimeout) s:\n\(serverLog)")
    }

    var serverLog: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    func healthy() -> Bool {
        let outcome = try? ChildProcess.run(URL(fileURLWithPath: "/usr/bin/env"),
                                            ["curl", "-s", "-m", "2", "-o", "/dev/null", "-w", "%{http_code}", url.appendingPathComponent("health").absoluteString],
                                            timeout: 10)
        return outcome?.standardOutput == "200"
    }

    /// SIGKILL to the server's process group, at once.
    func kill() {
        _ = Glibc.kill(-process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit {
        kill()
        folder.cleanUp()
    }
}

enum FreePort {
    /// A port the kernel hands out for 127.0.0.1, released again for the server to take.
    static func find() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw TestFailure("socket() failed") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
        }
        guard bound else { throw TestFailure("bind() failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
