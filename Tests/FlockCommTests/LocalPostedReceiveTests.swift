import Testing
@testable import FlockComm

/// `LocalCommunicator.startReceive`: a posted receive that `test()` completes takes its
/// message once, and receives posted with one source and tag take messages in order.
@Suite struct LocalPostedReceiveTests {
    @Test func testTakesAQueuedMessageOnceAndInPostingOrder() throws {
        let received = try LocalCommunicator.run(ranks: 2, deadline: 30) { comm -> [[Float]] in
            guard comm.rank == 0 else {
                try comm.barrier()  // rank 0 has tested before anything was sent
                try comm.startSend([1, 2, 3] as [Float], to: 0, tag: 7).wait()
                try comm.startSend([4, 5] as [Float], to: 0, tag: 7).wait()
                try comm.barrier()
                return []
            }
            let first: PendingReceive<Float> = try comm.startReceive(count: 3, from: 1, tag: 7)
            let second: PendingReceive<Float> = try comm.startReceive(count: 2, from: 1, tag: 7)
            #expect(try !first.test())
            try comm.barrier()
            try comm.barrier()  // both messages are queued now
            #expect(try first.test())
            #expect(try first.test())  // complete: does not take the second message
            #expect(try second.test())
            return [try first.wait(), try second.wait()]
        }
        #expect(received[0] == [[1, 2, 3], [4, 5]])
    }
}
