import Foundation
import Testing
@testable import FlockComm

/// The value rank `rank` holds at index `i` — small integers, so every sum is exact.
func contribution(rank: Int, index: Int) -> Float {
    Float((rank + 1) * (index % 13) - rank)
}

/// Every collective of `LocalCommunicator`, for every rank count 1–8 and odd sizes,
/// against scalar references computed here.
@Suite struct LocalCollectiveTests {
    static let sizes = [0, 1, 7, 1_000_003]

    @Test(arguments: 1...8)
    func allreduceEveryOperation(ranks: Int) throws {
        for count in Self.sizes {
            for operation in ReduceOperation.allCases {
                let results = try LocalCommunicator.run(ranks: ranks, deadline: 60) { comm in
                    var data = (0..<count).map { contribution(rank: comm.rank, index: $0) }
                    try data.withUnsafeMutableBufferPointer { try comm.allreduce($0, operation: operation) }
                    return data
                }
                for index in Array(0..<min(count, 50)) + (count > 50 ? [count - 1] : []) {
                    let values = (0..<ranks).map { contribution(rank: $0, index: index) }
                    let expected: Float
                    switch operation {
                    case .sum: expected = values.reduce(0, +)
                    case .average: expected = values.reduce(0, +) / Float(ranks)
                    case .max: expected = values.max()!
                    case .min: expected = values.min()!
                    }
                    for rank in 0..<ranks {
                        #expect(results[rank][index] == expected, "\(operation) ranks \(ranks) count \(count) index \(index)")
                    }
                }
                // Identical on every rank, bit for bit, everywhere.
                #expect(results.allSatisfy { $0 == results[0] })
            }
        }
    }

    @Test(arguments: 1...8)
    func broadcastAllgatherReduceScatter(ranks: Int) throws {
        for count in Self.sizes {
            let root = ranks - 1
            let outcome = try LocalCommunicator.run(ranks: ranks, deadline: 60) { comm in
                var broadcast = (0..<count).map { contribution(rank: comm.rank, index: $0) }
                try broadcast.withUnsafeMutableBufferPointer { try comm.broadcast($0, root: root) }

                let mine = (0..<count).map { contribution(rank: comm.rank, index: $0) }
                var gathered = [Float](repeating: -1, count: count * comm.size)
                try mine.withUnsafeBufferPointer { send in
                    try gathered.withUnsafeMutableBufferPointer { try comm.allgather(send, into: $0) }
                }

                // Varying counts: rank r sends count + r elements.
                let counts = (0..<comm.size).map { count + $0 }
                let varying = (0..<(count + comm.rank)).map { contribution(rank: comm.rank, index: $0) }
                var gatheredVarying = [Float](repeating: -1, count: counts.reduce(0, +))
                try varying.withUnsafeBufferPointer { send in
                    try gatheredVarying.withUnsafeMutableBufferPointer { try comm.allgather(send, into: $0, counts: counts) }
                }

                let scatterSource = (0..<(count * comm.size)).map { contribution(rank: comm.rank, index: $0) }
                var scattered = [Float](repeating: -1, count: count)
                try scatterSource.withUnsafeBufferPointer { send in
                    try scattered.withUnsafeMutableBufferPointer { try comm.reduceScatter(send, into: $0, operation: .sum) }
                }
                // The nonblocking form, with a blocking collective started while it travels.
                let started = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
                defer { started.deallocate() }
                started.initialize(repeating: -1)
                try scatterSource.withUnsafeBufferPointer { send in
                    let pending = try comm.startReduceScatter(send, into: started, operation: .sum)
                    _ = try comm.allreduce([Float(1)], operation: .sum)
                    try pending.wait()
                }
                // The nonblocking varying-count allgather, with a blocking collective meanwhile.
                let startedGather = UnsafeMutableBufferPointer<Float>.allocate(capacity: counts.reduce(0, +))
                defer { startedGather.deallocate() }
                startedGather.initialize(repeating: -1)
                try varying.withUnsafeBufferPointer { send in
                    let pending = try comm.startAllgather(send, into: startedGather, counts: counts)
                    _ = try comm.allreduce([Float(1)], operation: .sum)
                    try pending.wait()
                }
                // In place: this rank's values already at its block of the receive buffer and
                // passed as the send, blocking and started; the others' blocks start as -1.
                var inPlace: [[Float]] = []
                for nonblocking in [false, true] {
                    let own = counts[..<comm.rank].reduce(0, +)
                    var gatheredInPlace = [Float](repeating: -1, count: counts.reduce(0, +))
                    for i in 0..<counts[comm.rank] { gatheredInPlace[own + i] = varying[i] }
                    try gatheredInPlace.withUnsafeMutableBufferPointer { receive in
                        let send = UnsafeBufferPointer(rebasing: receive[own..<(own + counts[comm.rank])])
                        if nonblocking {
                            let pending = try comm.startAllgather(send, into: receive, counts: counts)
                            _ = try comm.allreduce([Float(1)], operation: .sum)
                            try pending.wait()
                        } else {
                            try comm.allgather(send, into: receive, counts: counts)
                        }
                    }
                    inPlace.append(gatheredInPlace)
                }
                return [broadcast, gathered, gatheredVarying, scattered, Array(started), Array(startedGather)] + inPlace
            }
            let check = Array(0..<min(count, 40)) + (count > 40 ? [count - 1] : [])
            for rank in 0..<ranks {
                let (broadcast, gathered, varying, scattered) = (outcome[rank][0], outcome[rank][1], outcome[rank][2], outcome[rank][3])
                for i in check {
                    #expect(broadcast[i] == contribution(rank: root, index: i))
                    for peer in 0..<ranks { #expect(gathered[peer * count + i] == contribution(rank: peer, index: i)) }
                    let block = rank * count + i
                    #expect(scattered[i] == (0..<ranks).map { contribution(rank: $0, index: block) }.reduce(0, +))
                    #expect(outcome[rank][4][i] == scattered[i], "started reduce-scatter, rank \(rank) index \(i)")
                }
                var offset = 0
                for peer in 0..<ranks {
                    let sent = count + peer
                    for i in [0, sent / 2, sent - 1] where sent > 0 {
                        #expect(varying[offset + i] == contribution(rank: peer, index: i))
                    }
                    offset += sent
                }
                #expect(varying.count == offset)
                #expect(outcome[rank][5] == varying, "started allgather, rank \(rank)")
                #expect(outcome[rank][6] == varying && outcome[rank][7] == varying, "allgather in place, rank \(rank)")
            }
        }
    }

    @Test func otherScalarTypes() throws {
        let results = try LocalCommunicator.run(ranks: 3) { comm in
            let doubles = try comm.allreduce([Double(comm.rank) + 0.5], operation: .sum)
            let ints = try comm.allreduce([Int32(comm.rank), Int32(-comm.rank)], operation: .max)
            let longs = try comm.allgather([Int64(comm.rank) << 40])
            return (doubles, ints, longs)
        }
        for (doubles, ints, longs) in results {
            #expect(doubles == [4.5])
            #expect(ints == [2, 0])
            #expect(longs == [[0], [1 << 40], [2 << 40]])
        }
    }

    @Test func sendAndReceiveByTag() throws {
        let received = try LocalCommunicator.run(ranks: 4) { comm in
            let next = (comm.rank + 1) % comm.size, previous = (comm.rank + comm.size - 1) % comm.size
            // Two tags sent in one order, received in the other.
            try [Float(comm.rank)].withUnsafeBufferPointer { try comm.send($0, to: next, tag: 1) }
            try [Float(comm.rank * 10)].withUnsafeBufferPointer { try comm.send($0, to: next, tag: 2) }
            var second = [Float(-1)], first = [Float(-1)]
            try second.withUnsafeMutableBufferPointer { try comm.receive($0, from: previous, tag: 2) }
            try first.withUnsafeMutableBufferPointer { try comm.receive($0, from: previous, tag: 1) }
            return [first[0], second[0]]
        }
        for rank in 0..<4 {
            let previous = Float((rank + 3) % 4)
            #expect(received[rank] == [previous, previous * 10])
        }
    }

    @Test func nonblockingAllreduceOverlapsOtherWork() throws {
        let results = try LocalCommunicator.run(ranks: 4) { comm in
            var gradients = (0..<100_003).map { Float($0 % 7) * Float(comm.rank + 1) }
            var other = [Float(comm.rank)]
            // Start, then run another collective and local work before waiting.
            let pending = try gradients.withUnsafeMutableBufferPointer { try comm.startAllreduce($0, operation: .sum) }
            try other.withUnsafeMutableBufferPointer { try comm.allreduce($0, operation: .max) }
            var local: Float = 0
            for i in 0..<10_000 { local += Float(i) }
            try pending.wait()
            return (gradients, other[0], local)
        }
        for (gradients, other, _) in results {
            #expect(other == 3)
            #expect(gradients[5] == 5 * (1 + 2 + 3 + 4))
            #expect(gradients[100_002] == Float(100_002 % 7) * 10)
        }
    }

    @Test func manyNonblockingAllreducesInFlightEachGetTheirOwnSum() throws {
        // 40 steps of 6 buckets each (one background thread per rank serves them all),
        // with a blocking collective between starts and the waits in reverse order.
        let results = try LocalCommunicator.run(ranks: 3) { comm in
            var sums: [[Float]] = []
            for step in 0..<40 {
                var buckets = (0..<6).map { bucket in [Float](repeating: Float(comm.rank + 1) * Float(bucket + step), count: 1 + bucket * 1_000) }
                var pending: [any PendingOperation] = []
                for bucket in 0..<6 {
                    comm.step = step
                    pending.append(try buckets[bucket].withUnsafeMutableBufferPointer { try comm.startAllreduce($0, operation: .sum) })
                    if bucket == 2 { _ = try comm.allreduce([Float(1)], operation: .sum) }
                }
                for operation in pending.reversed() { try operation.wait() }
                sums.append(buckets.map { $0.last! })
            }
            return sums
        }
        for sums in results {
            // Ranks contribute (rank + 1)·(bucket + step): the sum over 3 ranks is 6·(bucket + step).
            #expect(sums == (0..<40).map { step in (0..<6).map { Float(6 * ($0 + step)) } })
        }
    }

    @Test func aNonblockingAllreduceTimesOutNamingTheStepItStartedAt() throws {
        let error = #expect(throws: CommunicatorError.self) {
            _ = try LocalCommunicator.run(ranks: 2, deadline: 0.5) { comm in
                guard comm.rank == 0 else { return }  // rank 1 never joins
                var buffer = [Float](repeating: 1, count: 10)
                comm.step = 7
                let pending = try buffer.withUnsafeMutableBufferPointer { try comm.startAllreduce($0, operation: .sum) }
                comm.step = 8
                try pending.wait()
            }
        }
        #expect(error?.description == "allreduce on rank 0, 10 elements, collective #0, step 7: timed out after 0.5 s waiting for rank 1")
    }

    @Test func splitFormsGroupsOrderedByKey() throws {
        let results = try LocalCommunicator.run(ranks: 6) { comm in
            // Even and odd ranks, ordered by descending old rank.
            let sub = try comm.split(color: comm.rank % 2, key: -comm.rank)
            let sum = try sub.allreduce([Float(comm.rank)], operation: .sum)[0]
            return [sub.rank, sub.size, Int(sum)]
        }
        #expect(results[0] == [2, 3, 6] && results[4] == [0, 3, 6])
        #expect(results[1] == [2, 3, 9] && results[5] == [0, 3, 9])
    }
}

@Suite struct LocalFaultTests {
    @Test func mismatchedCountsFailOnEveryRank() throws {
        let error = #expect(throws: CommunicatorError.self) {
            _ = try LocalCommunicator.run(ranks: 3, deadline: 20) { comm in
                var data = [Float](repeating: 1, count: comm.rank == 1 ? 5 : 4)
                try data.withUnsafeMutableBufferPointer { try comm.allreduce($0, operation: .sum) }
            }
        }
        #expect(error?.description.contains("ranks disagree: element counts per rank [4, 5, 4]") == true)
    }

    @Test func mismatchedOperationsFail() throws {
        let error = #expect(throws: CommunicatorError.self) {
            _ = try LocalCommunicator.run(ranks: 2, deadline: 20) { comm in
                if comm.rank == 0 { try comm.barrier() } else { _ = try comm.allreduce([Float(1)], operation: .sum) }
            }
        }
        #expect(error?.description.contains("rank 0 called barrier, rank 1 called allreduce") == true)
    }

    @Test func unresponsiveRankTimesOutNamingIt() throws {
        let error = #expect(throws: CommunicatorError.self) {
            _ = try LocalCommunicator.run(ranks: 4, deadline: 2, faults: [.unresponsive(rank: 2, fromCollective: 1)]) { comm in
                comm.step = 17
                for _ in 0..<3 { _ = try comm.allreduce([Float(1)], operation: .sum) }
            }
        }
        let text = error?.description ?? ""
        #expect(text.contains("allreduce"), "\(text)")
        // The message itself shows the deadline ended the wait (no assertion on wall time).
        #expect(text.contains("collective #1, step 17: timed out after 2 s waiting for rank 2"), "\(text)")
    }

    @Test func lateRankWithinTheDeadlineIsFine() throws {
        let sums = try LocalCommunicator.run(ranks: 3, deadline: 10, faults: [.delay(rank: 0, collective: 0, seconds: 0.2)]) { comm in
            try comm.allreduce([Float(comm.rank)], operation: .sum)[0]
        }
        #expect(sums == [3, 3, 3])
    }

    @Test func aRankThatThrowsStopsItsPeers() throws {
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            _ = try LocalCommunicator.run(ranks: 3, deadline: 60) { comm in
                if comm.rank == 1 { throw Boom() }
                try comm.barrier()
            }
        }
    }

    @Test func receiveFromASilentPeerTimesOut() throws {
        let error = #expect(throws: CommunicatorError.self) {
            _ = try LocalCommunicator.run(ranks: 2, deadline: 0.3) { comm in
                if comm.rank == 0 {
                    var buffer = [Float(0)]
                    try buffer.withUnsafeMutableBufferPointer { try comm.receive($0, from: 1, tag: 9) }
                }
            }
        }
        #expect(error?.description.contains("receive from rank 1 tag 9 on rank 0, 1 elements: timed out after 0.3 s waiting for rank 1") == true)
    }
}
