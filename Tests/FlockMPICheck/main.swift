// An MPI program for the test suite: `mpirun -np N flock-mpi-check MODE`.
//   collectives  every collective on odd sizes against scalar references; prints "ok <checks>"
//   mismatch     rank 1 passes a different count; every rank must throw, not hang
//   silent       rank 1 hangs before a collective; the others must time out (FLOCK_COLLECTIVE_TIMEOUT)
//   killed       rank 1 SIGKILLs itself mid-job; mpirun must end the job
//   hierarchical  allreduce of non-integer values at odd sizes above the pairwise threshold:
//                the hierarchical path equals the flat one and the rank-order sum bit for bit;
//                bf16/fp16 compression gives every rank the same bits, near the sum, and its
//                error feedback keeps the sum of 20 steps' results near 20 true sums
//   silent-nonblocking  rank 1 hangs; the others' nonblocking allreduce, started at step 7,
//                must time out naming step 7 although the caller has moved on to step 8
import FlockComm
import Foundation

func value(rank: Int, index: Int) -> Float { Float((rank + 1) * (index % 13) - rank) }

struct CheckFailure: Error, CustomStringConvertible { let description: String }

func expect(_ condition: Bool, _ message: @autoclosure () -> String, checks: inout Int) throws {
    checks += 1
    if !condition { throw CheckFailure(description: message()) }
}

func runCollectives(_ comm: MPICommunicator) throws -> Int {
    var checks = 0
    let n = comm.size, me = comm.rank
    for count in [0, 1, 7, 1_000_003] {
        let sampled = Array(0..<min(count, 30)) + (count > 30 ? [count - 1] : [])
        for operation in ReduceOperation.allCases {
            for shared in [false, true] {
                // shared: the buffer lives in the node's shared window (zero-copy path).
                let buffer = shared ? try comm.allocateBuffer(count: count, of: Float.self)
                                    : UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
                for i in 0..<count { buffer[i] = value(rank: me, index: i) }
                try comm.allreduce(buffer, operation: operation)
                for i in sampled {
                    let values = (0..<n).map { value(rank: $0, index: i) }
                    let expected: Float
                    switch operation {
                    case .sum: expected = values.reduce(0, +)
                    case .average: expected = values.reduce(0, +) / Float(n)
                    case .max: expected = values.max()!
                    case .min: expected = values.min()!
                    }
                    try expect(buffer[i] == expected, "allreduce \(operation) count \(count) index \(i): \(buffer[i]) != \(expected)", checks: &checks)
                }
                // Every rank holds the same bits: compare a checksum across ranks.
                var checksum = 0.0
                for i in 0..<count { checksum += Double(buffer[i]) * Double(i % 101 + 1) }
                let all = try comm.allgather([checksum])
                try expect(all.allSatisfy { $0 == all[0] }, "allreduce results differ across ranks", checks: &checks)
                if !shared { buffer.deallocate() }
            }
        }
        let integers = try comm.allreduce([Int64(me) << 33, Int64(count)], operation: .sum)
        try expect(integers == [Int64(n * (n - 1) / 2) << 33, Int64(count * n)], "Int64 allreduce", checks: &checks)

        var broadcast = (0..<count).map { value(rank: me, index: $0) }
        try broadcast.withUnsafeMutableBufferPointer { try comm.broadcast($0, root: n - 1) }
        for i in sampled { try expect(broadcast[i] == value(rank: n - 1, index: i), "broadcast index \(i)", checks: &checks) }

        let counts = (0..<n).map { count + $0 }
        let mine = (0..<(count + me)).map { value(rank: me, index: $0) }
        var gathered = [Float](repeating: -1, count: counts.reduce(0, +))
        try mine.withUnsafeBufferPointer { send in try gathered.withUnsafeMutableBufferPointer { try comm.allgather(send, into: $0, counts: counts) } }
        var offset = 0
        for peer in 0..<n {
            for i in [0, (count + peer) / 2, count + peer - 1] where count + peer > 0 {
                try expect(gathered[offset + i] == value(rank: peer, index: i), "allgatherv peer \(peer) index \(i)", checks: &checks)
            }
            offset += count + peer
        }

        let source = (0..<(count * n)).map { value(rank: me, index: $0) }
        var scattered = [Float](repeating: -1, count: count)
        try source.withUnsafeBufferPointer { send in try scattered.withUnsafeMutableBufferPointer { try comm.reduceScatter(send, into: $0, operation: .sum) } }
        for i in sampled {
            let expected = (0..<n).map { value(rank: $0, index: me * count + i) }.reduce(0, +)
            try expect(scattered[i] == expected, "reduceScatter index \(i)", checks: &checks)
        }
        // The send in the node's shared window, at an offset that differs by rank (each
        // rank's block read where it lies), and on rank 0 only (all fall back to scratch).
        for everyRankShares in [true, false] {
            let window = try comm.allocateBuffer(count: count * n + n, of: Float.self)
            let inWindow = everyRankShares || me == 0
            let send = inWindow ? UnsafeMutableBufferPointer(rebasing: window[me..<(me + count * n)])
                                : UnsafeMutableBufferPointer<Float>.allocate(capacity: count * n)
            for i in 0..<(count * n) { send[i] = value(rank: me, index: i) }
            var fromWindow = [Float](repeating: -1, count: count)
            try fromWindow.withUnsafeMutableBufferPointer { try comm.reduceScatter(UnsafeBufferPointer(send), into: $0, operation: .average) }
            for i in sampled {
                let expected = (0..<n).map { value(rank: $0, index: me * count + i) }.reduce(0, +) / Float(n)
                try expect(fromWindow[i] == expected, "reduceScatter from the shared window (every rank: \(everyRankShares)) index \(i): \(fromWindow[i]) != \(expected)", checks: &checks)
            }
            if !inWindow { send.deallocate() }
        }
        // The nonblocking form, with a blocking collective run while it travels.
        var started = [Float](repeating: -1, count: count)
        try source.withUnsafeBufferPointer { send in
            try started.withUnsafeMutableBufferPointer { receive in
                let pending = try comm.startReduceScatter(send, into: receive, operation: .sum)
                _ = try comm.allreduce([Float(1)], operation: .sum)
                try pending.wait()
            }
        }
        for i in sampled { try expect(started[i] == scattered[i], "startReduceScatter index \(i)", checks: &checks) }
        // The nonblocking varying-count allgather, with a blocking collective run while it travels.
        var startedGather = [Float](repeating: -1, count: counts.reduce(0, +))
        try mine.withUnsafeBufferPointer { send in
            try startedGather.withUnsafeMutableBufferPointer { receive in
                let pending = try comm.startAllgather(send, into: receive, counts: counts)
                _ = try comm.allreduce([Float(1)], operation: .sum)
                try pending.wait()
            }
        }
        try expect(startedGather == gathered, "startAllgather", checks: &checks)
        // In place (MPI_IN_PLACE): this rank's values already at its block of the receive
        // buffer and passed as the send; the others' blocks start as -1.
        for nonblocking in [false, true] {
            let own = counts[..<me].reduce(0, +)
            var inPlace = [Float](repeating: -1, count: counts.reduce(0, +))
            for i in 0..<counts[me] { inPlace[own + i] = value(rank: me, index: i) }
            try inPlace.withUnsafeMutableBufferPointer { receive in
                let send = UnsafeBufferPointer(rebasing: receive[own..<(own + counts[me])])
                if nonblocking {
                    let pending = try comm.startAllgather(send, into: receive, counts: counts)
                    _ = try comm.allreduce([Float(1)], operation: .sum)
                    try pending.wait()
                } else {
                    try comm.allgather(send, into: receive, counts: counts)
                }
            }
            try expect(inPlace == gathered, "allgather in place (nonblocking: \(nonblocking))", checks: &checks)
        }
    }

    // Ring send/receive with two tags received in reverse order.
    let next = (me + 1) % n, previous = (me + n - 1) % n
    try [Float(me)].withUnsafeBufferPointer { try comm.send($0, to: next, tag: 1) }
    try [Float(me * 10)].withUnsafeBufferPointer { try comm.send($0, to: next, tag: 2) }
    var second = [Float(-1)], first = [Float(-1)]
    try second.withUnsafeMutableBufferPointer { try comm.receive($0, from: previous, tag: 2) }
    try first.withUnsafeMutableBufferPointer { try comm.receive($0, from: previous, tag: 1) }
    try expect(first == [Float(previous)] && second == [Float(previous * 10)], "send/receive", checks: &checks)

    // Receives posted before their sends (a large message goes by rendezvous), a send whose
    // array the caller changes at once (the send must carry the values it was given), and a
    // posted receive of the wrong length, which must fail rather than truncate.
    let large = 300_007
    let postedLarge: PendingReceive<Float> = try comm.startReceive(count: large, from: previous, tag: 3)
    let postedWrong: PendingReceive<Float> = try comm.startReceive(count: 5, from: previous, tag: 4)
    var outgoing = (0..<large).map { Float(me * large + $0) }
    let sends = [try comm.startSend(outgoing, to: next, tag: 3), try comm.startSend([Float](repeating: 1, count: 3), to: next, tag: 4)]
    outgoing[large - 1] = -1
    _ = try postedLarge.test()
    let arrived = try postedLarge.wait()
    try expect(arrived.count == large && arrived[0] == Float(previous * large) && arrived[large - 1] == Float(previous * large + large - 1),
               "posted receive of a started send", checks: &checks)
    do {
        _ = try postedWrong.wait()
        try expect(false, "a posted receive of the wrong length was accepted", checks: &checks)
    } catch let error as CommunicatorError {
        try expect("\(error)".contains("message has 3 elements"), "posted receive length check: \(error)", checks: &checks)
    }
    for send in sends { try send.wait() }

    // Nonblocking allreduce while another collective and local work go on.
    let gradients = try comm.allocateBuffer(count: 100_003, of: Float.self)
    for i in 0..<gradients.count { gradients[i] = Float(i % 7) * Float(me + 1) }
    let pending = try comm.startAllreduce(gradients, operation: .sum)
    let maximum = try comm.allreduce([Float(me)], operation: .max)
    var busy: Float = 0
    for i in 0..<100_000 { busy += Float(i & 3) }
    try pending.wait()
    try expect(maximum == [Float(n - 1)] && busy > 0, "allreduce during a pending one", checks: &checks)
    try expect(gradients[100_002] == Float(100_002 % 7) * Float(n * (n + 1) / 2), "nonblocking allreduce", checks: &checks)

    // Split into even and odd ranks, ordered by descending rank.
    let sub = try comm.split(color: me % 2, key: -me)
    let members = (0..<n).filter { $0 % 2 == me % 2 }
    let sum = try sub.allreduce([Float(me)], operation: .sum)
    try expect(sub.size == members.count && sub.rank == members.count - 1 - members.firstIndex(of: me)!, "split ranks", checks: &checks)
    try expect(sum == [Float(members.reduce(0, +))], "split allreduce", checks: &checks)
    try comm.barrier()
    return checks
}

/// Values whose sum depends on the order of addition (magnitudes from 1e-3 to 1e3).
func mixedValue(rank: Int, index: Int) -> Float {
    let bits = (index &* 2_654_435_761 &+ rank &* 40_503 &+ 12_345) & 0xFF_FFFF
    let sign: Float = (index + rank) % 3 == 0 ? -1 : 1
    return sign * Float(bits) / 16_777_216 * [1e-3, 1e-2, 0.1, 1, 10, 100, 1000][(index + rank) % 7]
}

func runHierarchical(_ comm: MPICommunicator) throws -> Int {
    var checks = 0
    let n = comm.size, me = comm.rank
    try expect(comm.usesHierarchy, "the hierarchical path is not in use (hosts \(comm.hosts))", checks: &checks)
    // Small chunks: many of them, so the pipeline reuses its slots and ends on a short chunk.
    comm.hierarchicalChunkElements = 16_384
    for count in [65_537, 300_007] {
        let hierarchical = try comm.allocateBuffer(count: count, of: Float.self)
        let flat = try comm.allocateBuffer(count: count, of: Float.self)
        for operation in ReduceOperation.allCases {
            for i in 0..<count { hierarchical[i] = mixedValue(rank: me, index: i); flat[i] = hierarchical[i] }
            comm.hierarchical = true
            try comm.allreduce(hierarchical, operation: operation)
            comm.hierarchical = false
            try comm.allreduce(flat, operation: operation)
            comm.hierarchical = true
            var differences = 0
            for i in 0..<count {
                var expected = mixedValue(rank: 0, index: i)
                for peer in 1..<n {
                    let value = mixedValue(rank: peer, index: i)
                    switch operation {
                    case .sum, .average: expected += value
                    case .max: expected = max(expected, value)
                    case .min: expected = min(expected, value)
                    }
                }
                if operation == .average { expected /= Float(n) }
                if hierarchical[i].bitPattern != expected.bitPattern || flat[i].bitPattern != expected.bitPattern { differences += 1 }
            }
            try expect(differences == 0, "count \(count) \(operation): \(differences) elements differ from the rank-order result", checks: &checks)
        }
        // One odd size of several chunks is enough for the compressed paths (slow in a debug build).
        for compression in [WireCompression.bf16, .fp16] where count == 65_537 {
            try checkCompressed(comm, count: count, compression: compression, checks: &checks)
        }
    }
    return checks
}

/// Compressed results: the same bits on every rank, 16-bit values, near the rank-order sum;
/// over 20 steps of the same inputs the results' sum stays near 20 sums (error feedback).
func checkCompressed(_ comm: MPICommunicator, count: Int, compression: WireCompression, checks: inout Int) throws {
    let n = comm.size, me = comm.rank, steps = 20
    let buffer = try comm.allocateBuffer(count: count, of: Float.self)
    var accumulated = [Double](repeating: 0, count: count)
    var worstStep = 0.0, worstAccumulated = 0.0
    // Values near fp16's range limit would overflow: scale them into it.
    let scale: Float = compression == .fp16 ? 1e-2 : 1
    let exacts = (0..<count).map { i in (0..<n).reduce(0.0) { $0 + Double(mixedValue(rank: $1, index: i) * scale) } }
    let magnitudes = (0..<count).map { i in (0..<n).reduce(0.0) { $0 + Double(abs(mixedValue(rank: $1, index: i) * scale)) } }
    for step in 0..<steps {
        for i in 0..<count { buffer[i] = mixedValue(rank: me, index: i) * scale }
        try comm.allreduce(buffer, operation: .sum, compression: compression)
        for i in 0..<count {
            let exact = exacts[i], magnitude = magnitudes[i]
            accumulated[i] += Double(buffer[i])
            if step == 0 { worstStep = max(worstStep, abs(Double(buffer[i]) - exact) / magnitude) }
            if step == steps - 1 { worstAccumulated = max(worstAccumulated, abs(accumulated[i] - Double(steps) * exact) / magnitude) }
            if step == 0, compression.decode(compression.encode(buffer[i])) != buffer[i] {
                try expect(false, "\(compression) result \(buffer[i]) at \(i) is not a 16-bit value", checks: &checks)
            }
        }
        var checksum = 0.0
        for i in 0..<count { checksum += Double(buffer[i]) * Double(i % 101 + 1) }
        let all = try comm.allgather([checksum])
        try expect(all.allSatisfy { $0 == all[0] }, "\(compression) results differ across ranks", checks: &checks)
    }
    // One rounding of a partial and one of the result: a few units of the last place.
    let unit = compression == .bf16 ? 1.0 / 128 : 1.0 / 1024
    try expect(worstStep <= 3 * unit, "\(compression) step error \(worstStep) of the magnitude", checks: &checks)
    // Without feedback the same inputs round the same way every step: 20 times the step error.
    try expect(worstAccumulated <= 3 * unit, "\(compression) error after \(steps) steps \(worstAccumulated) of one step's magnitude", checks: &checks)
}

let mode = CommandLine.arguments.dropFirst().first ?? "collectives"
let environment: MPIEnvironment
let comm: MPICommunicator
do {
    environment = try MPIEnvironment()
    comm = try environment.world()
} catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(2)
}
do {
    switch mode {
    case "collectives":
        let checks = try runCollectives(comm)
        print("rank \(comm.rank): ok \(checks) checks, shared memory \(comm.usesSharedMemory)")
    case "hierarchical":
        let checks = try runHierarchical(comm)
        print("rank \(comm.rank): ok \(checks) checks, hosts \(comm.hosts), hierarchical \(comm.usesHierarchy)")
    case "mismatch":
        var data = [Float](repeating: 1, count: comm.rank == 1 ? 9 : 8)
        try data.withUnsafeMutableBufferPointer { try comm.allreduce($0, operation: .sum) }
        print("rank \(comm.rank): no error")
    case "silent":
        try comm.barrier()
        // A hung rank: it neither calls the collective nor exits (mpirun ends it when a peer aborts).
        if comm.rank == 1 { sleep(600) }
        _ = try comm.allreduce([Float(1)], operation: .sum)
        print("rank \(comm.rank): no error")
    case "silent-nonblocking":
        try comm.barrier()
        if comm.rank == 1 { sleep(600) }
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: 1000)
        buffer.initialize(repeating: 1)
        comm.step = 7
        let pending = try comm.startAllreduce(buffer, operation: .sum)
        comm.step = 8
        try pending.wait()
        print("rank \(comm.rank): no error")
    case "killed":
        try comm.barrier()
        if comm.rank == 1 { kill(getpid(), SIGKILL) }
        for _ in 0..<1000 { _ = try comm.allreduce([Float(1)], operation: .sum) }
        print("rank \(comm.rank): no error")
    default:
        throw CheckFailure(description: "unknown mode \(mode)")
    }
} catch {
    FileHandle.standardError.write(Data("rank \(comm.rank) error: \(error)\n".utf8))
    // A collective may still be pending on a peer: end the whole job, non-zero.
    environment.abort(code: 3)
}
environment.finalize()
