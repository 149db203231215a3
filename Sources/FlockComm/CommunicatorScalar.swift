import CMPI

/// Element types the communicators move: Float32 for gradients, Float64, Int32 and
/// Int64 for metrics, counts and hashes.
public protocol CommunicatorScalar: Numeric, Comparable, Sendable {
    static var mpiDatatype: MPI_Datatype { get }
    /// `value / count`, for AVERAGE (truncating for integers).
    static func divided(_ value: Self, by count: Int) -> Self
}

extension Float: CommunicatorScalar {
    public static var mpiDatatype: MPI_Datatype { flock_mpi_float() }
    public static func divided(_ value: Float, by count: Int) -> Float { value / Float(count) }
}

extension Double: CommunicatorScalar {
    public static var mpiDatatype: MPI_Datatype { flock_mpi_double() }
    public static func divided(_ value: Double, by count: Int) -> Double { value / Double(count) }
}

extension Int32: CommunicatorScalar {
    public static var mpiDatatype: MPI_Datatype { flock_mpi_int32() }
    public static func divided(_ value: Int32, by count: Int) -> Int32 { value / Int32(count) }
}

extension Int64: CommunicatorScalar {
    public static var mpiDatatype: MPI_Datatype { flock_mpi_int64() }
    public static func divided(_ value: Int64, by count: Int) -> Int64 { value / Int64(count) }
}

extension ReduceOperation {
    /// Folds `value` into `accumulator` (AVERAGE accumulates a sum; scale once at the end).
    @inlinable
    func combine<T: CommunicatorScalar>(_ accumulator: T, _ value: T) -> T {
        switch self {
        case .sum, .average: return accumulator + value
        case .max: return Swift.max(accumulator, value)
        case .min: return Swift.min(accumulator, value)
        }
    }
}
