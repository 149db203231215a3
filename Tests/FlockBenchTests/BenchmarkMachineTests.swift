import Foundation
import FlockTestSupport
import Testing
@testable import FlockBench

/// The machine record names the commit of the checkout it ran from, a worktree included.
@Suite struct BenchmarkMachineTests {
    @Test func theCommitIsFoundInACheckoutAndInAWorktree() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let repository = folder.url.appendingPathComponent("repository"), worktree = folder.url.appendingPathComponent("worktree")
        func git(_ arguments: [String], in directory: URL) throws -> String {
            let outcome = try ChildProcess.run(URL(fileURLWithPath: "/usr/bin/env"),
                                               ["git", "-c", "user.name=t", "-c", "user.email=t@t"] + arguments,
                                               timeout: 30, directory: directory)
            #expect(outcome.status == 0, "git \(arguments): \(outcome.output)")
            return outcome.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        try FileManager.default.createDirectory(at: repository, withIntermediateDirectories: true)
        _ = try git(["init", "-q"], in: repository)
        _ = try git(["commit", "-q", "--allow-empty", "-m", "first"], in: repository)
        _ = try git(["worktree", "add", "-q", "-b", "side", worktree.path], in: repository)
        _ = try git(["commit", "-q", "--allow-empty", "-m", "second"], in: worktree)
        _ = try git(["pack-refs", "--all"], in: repository)   // refs only in packed-refs now
        for (checkout, revision) in [(repository, "HEAD"), (worktree, "side")] {
            let expected = String(try git(["rev-parse", revision], in: repository).prefix(12))
            let directories = try #require(BenchmarkMachine.gitDirectories(of: checkout), "\(checkout.path)")
            #expect(BenchmarkMachine.commit(git: directories.git, common: directories.common) == expected, "\(checkout.lastPathComponent)")
        }
        #expect(BenchmarkMachine.gitDirectories(of: folder.url) == nil)
    }
}
