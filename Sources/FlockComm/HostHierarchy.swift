import CMPI

/// Which ranks of a group share a host, found once when the communicator starts: each
/// host's ranks share memory (`NodeSharedMemory` over the host's ranks), and one leader
/// per host (its lowest rank) talks to the other hosts.
///
/// Only groups whose hosts hold consecutive ranks (OpenMPI's default `--map-by slot`, and
/// `cluster/testbed`) get one: a rank-order sum can then be folded host after host (see
/// `HierarchicalAllreduce`).
final class HostHierarchy {
    /// The ranks of this host.
    let memory: NodeSharedMemory
    /// This host's place among the hosts, ordered by their lowest rank.
    let hostIndex: Int
    /// The lowest rank (the leader) of each host, by host.
    let leaders: [Int]
    /// The most ranks any host holds.
    let mostRanksOnAHost: Int
    /// Error-feedback residuals of compressed allreduces, one per buffer (place and count).
    private var residuals: [ResidualKey: UnsafeMutablePointer<Float>] = [:]

    private struct ResidualKey: Hashable {
        let address: UInt
        let count: Int
    }

    var hosts: Int { leaders.count }
    var isLeader: Bool { memory.rank == 0 }

    /// Collective over `comm`. Nil when every rank is on one host or hosts do not hold
    /// consecutive ranks.
    static func discover(comm: MPI_Comm, hostComm: MPI_Comm, rank: Int, size: Int) throws -> HostHierarchy? {
        func check(_ code: Int32, _ function: String) throws {
            try MPIError.check(code, function, operation: "start", rank: rank, count: 0)
        }
        var leader = Int32(rank), hostLeader: Int32 = 0
        try check(MPI_Allreduce(&leader, &hostLeader, 1, flock_mpi_int32(), flock_mpi_min(), hostComm), "MPI_Allreduce")
        var leaderOfRank = [Int32](repeating: 0, count: size)
        try check(MPI_Allgather(&hostLeader, 1, flock_mpi_int32(), &leaderOfRank, 1, flock_mpi_int32(), comm), "MPI_Allgather")
        let leaders = Array(Set(leaderOfRank.map(Int.init))).sorted()
        // Consecutive ranks per host ⟺ the leader of rank r never decreases with r.
        let consecutive = zip(leaderOfRank, leaderOfRank.dropFirst()).allSatisfy { $0 <= $1 }
        guard leaders.count > 1, consecutive else { return nil }
        var hostRank: Int32 = 0, hostSize: Int32 = 0
        MPI_Comm_rank(hostComm, &hostRank)
        MPI_Comm_size(hostComm, &hostSize)
        let memory = try NodeSharedMemory(comm: hostComm, rank: Int(hostRank), size: Int(hostSize), scratchBytes: 8 << 20)
        let mostRanks = leaders.indices.map { index in
            leaderOfRank.filter { Int($0) == leaders[index] }.count
        }.max()!
        return HostHierarchy(memory: memory, hostIndex: leaders.firstIndex(of: Int(hostLeader))!, leaders: leaders,
                             mostRanksOnAHost: mostRanks)
    }

    private init(memory: NodeSharedMemory, hostIndex: Int, leaders: [Int], mostRanksOnAHost: Int) {
        self.memory = memory
        self.hostIndex = hostIndex
        self.leaders = leaders
        self.mostRanksOnAHost = mostRanksOnAHost
    }

    deinit {
        for residual in residuals.values { residual.deallocate() }
    }

    /// The residuals of the buffer at `address` with `count` elements (zero the first time).
    func residual(address: UnsafeRawPointer, count: Int) -> UnsafeMutablePointer<Float> {
        let key = ResidualKey(address: UInt(bitPattern: address), count: count)
        if let existing = residuals[key] { return existing }
        let residual = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        residual.initialize(repeating: 0, count: max(count, 1))
        residuals[key] = residual
        return residual
    }
}
