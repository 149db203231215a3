import FlockComm
import Foundation

/// The smallest real MPI job: every rank allreduces its rank number. `flock doctor`
/// launches it under `mpirun -np 2` to learn whether mpirun works on this machine.
public enum MPIProbe {
    /// Run as one rank of the probe job; returns "ok <size>" when the sum is right.
    public static func run() throws -> String {
        let environment = try MPIEnvironment()
        defer { environment.finalize() }
        let world = try environment.world(deadline: 30)
        let sum = try world.allreduce([Double(world.rank)], operation: .sum)[0]
        let expected = Double(world.size * (world.size - 1) / 2)
        guard sum == expected else {
            throw LaunchError("allreduce of the ranks' numbers gave \(sum), expected \(expected)")
        }
        return "ok \(world.size)"
    }
}
