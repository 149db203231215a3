import Foundation

/// Which slots a supervised job may use: the hosts of a hostfile that answer (each
/// probed with a one-rank `mpirun` on it), or, on this machine alone, a count.
public enum SlotProbe {
    /// One hostfile line: `node1 slots=4` (no `slots=`: one).
    public struct Host: Equatable, Sendable {
        public var name: String
        public var slots: Int
    }

    /// The hosts of an Open MPI hostfile; `#` starts a comment.
    public static func hosts(inHostfile path: String) throws -> [Host] {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw LaunchError("--hostfile \(path): cannot read: \(error.localizedDescription)")
        }
        var hosts: [Host] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
            let words = line.split(whereSeparator: \.isWhitespace)
            guard let name = words.first else { continue }
            var slots = 1
            for word in words.dropFirst() where word.hasPrefix("slots=") {
                guard let count = Int(word.dropFirst(6)), count > 0 else {
                    throw LaunchError("--hostfile \(path):\(index + 1): expected slots=<positive integer>, got '\(word)'")
                }
                slots = count
            }
            hosts.append(Host(name: String(name), slots: slots))
        }
        guard !hosts.isEmpty else { throw LaunchError("--hostfile \(path): names no host") }
        return hosts
    }

    /// The hosts that start a process under `mpirun` within `timeout` seconds, all probed at
    /// once (a lost host costs the timeout once, not once per host).
    static func answering(_ hosts: [Host], timeout: TimeInterval = 10) -> [Host] {
        let answers = Answers(count: hosts.count)
        let done = DispatchGroup()
        // A thread per host: each mostly waits on its mpirun, and a pool the size of the
        // cores would probe a few at a time.
        for (index, host) in hosts.enumerated() {
            done.enter()
            Thread.detachNewThread {
                var command = MPIRunCommand(ranks: 1)
                command.oversubscribe = false
                var words = command.words(running: "true", [])
                words.insert(contentsOf: ["--host", host.name], at: 1)
                answers.set(index, TimedChild.run(URL(fileURLWithPath: "/usr/bin/env"), words,
                                                  environment: ProcessInfo.processInfo.environment, timeout: timeout).succeeded)
                done.leave()
            }
        }
        done.wait()
        return hosts.indices.filter(answers.get).map { hosts[$0] }
    }

    /// `hosts` as a hostfile's text.
    static func hostfile(_ hosts: [Host]) -> String {
        hosts.map { "\($0.name) slots=\($0.slots)\n" }.joined()
    }
}

/// Each probed host's answer, set from the probing threads.
private final class Answers: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Bool]
    init(count: Int) { values = Array(repeating: false, count: count) }
    func set(_ index: Int, _ value: Bool) { lock.lock(); values[index] = value; lock.unlock() }
    func get(_ index: Int) -> Bool { lock.lock(); defer { lock.unlock() }; return values[index] }
}
