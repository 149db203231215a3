// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Flock",
    platforms: [.macOS(.v14)],
    products: [
        // MARK: - Public API
        .library(name: "Flock", targets: ["Flock"]),
        .executable(name: "flock", targets: ["flock"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        // Checkpoint checksums: BoringSSL's SHA-256, 7× the hand-written one it replaced.
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        // TensorBoard event files: Event and Summary messages in protobuf's wire format.
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // MARK: - System libraries
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c",
                       providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
        // oneDNN for bf16 products; no pkg-config file, linked by its module map.
        .systemLibrary(name: "CDNNL", providers: [.apt(["libdnnl-dev"])]),
        // A header only (nothing linked): vector square roots, see vector_math.h.
        .systemLibrary(name: "CVectorMath"),
        // A header only: page moves for recycled pages, see memory_map.h.
        .systemLibrary(name: "CMemoryMap"),

        // MARK: - Implementation, lowest first
        .target(name: "FlockTensor", dependencies: ["CBLAS", "CDNNL", "CVectorMath"]),
        .target(name: "FlockNN", dependencies: ["FlockTensor"]),
        .target(name: "FlockComm", dependencies: ["CMPI"]),
        .target(name: "FlockParallel", dependencies: ["FlockNN", "FlockComm", "CMemoryMap"]),
        .target(name: "FlockStore", dependencies: [.product(name: "GRDB", package: "GRDB.swift")]),
        .target(name: "FlockData", dependencies: ["FlockTensor"]),
        .target(name: "FlockTrain", dependencies: [
            "FlockParallel", "FlockData", "FlockStore",
            .product(name: "Yams", package: "Yams"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // MLflow's REST API: a run's params, metrics and artifacts, sent from a background queue.
        .target(name: "FlockTracking", dependencies: ["FlockTrain", "FlockStore"]),
        .target(name: "FlockSweep", dependencies: ["FlockTrain", "FlockStore", "FlockTracking", "CBLAS"]),
        // Optuna's RDB storage (its SQLite schema) written from a study and read for a warm start.
        .target(name: "FlockOptuna", dependencies: ["FlockSweep", "FlockStore", .product(name: "GRDB", package: "GRDB.swift")]),
        // Reads runs' configs and studies' sweep files through their typed decoders.
        .target(name: "FlockReport", dependencies: [
            "FlockStore", "FlockTrain", "FlockSweep",
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ]),
        // ONNX export: ModelProto from ONNX's own onnx.proto (onnx.pb.swift generated once by
        // cluster/generate-onnx-proto.sh, not by the build plugin).
        .target(name: "FlockExport", dependencies: [
            "FlockTrain",
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ], exclude: ["onnx.proto"]),
        .target(name: "FlockBench", dependencies: ["FlockTrain", "FlockSweep"]),
        .target(name: "Flock", dependencies: ["FlockTensor", "FlockNN", "FlockData", "FlockComm", "FlockParallel", "FlockStore", "FlockReport", "FlockTrain", "FlockSweep", "FlockExport", "FlockTracking", "FlockOptuna"]),
        .executableTarget(name: "flock", dependencies: [
            "Flock", "FlockBench",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // MARK: - Tests
        .target(name: "FlockTestSupport", path: "Tests/FlockTestSupport"),
        .testTarget(name: "FlockTensorTests", dependencies: ["FlockTensor"]),
        .testTarget(name: "FlockNNTests", dependencies: ["FlockNN"]),
        .testTarget(name: "FlockDataTests", dependencies: ["FlockData"]),
        .testTarget(name: "FlockCommTests", dependencies: ["FlockTestSupport", "FlockComm"]),
        .testTarget(name: "FlockParallelTests", dependencies: ["FlockTestSupport", "FlockParallel"]),
        .testTarget(name: "FlockStoreTests", dependencies: ["FlockStore"]),
        .testTarget(name: "FlockSweepTests", dependencies: ["FlockTestSupport", "FlockSweep"]),
        // Launched by FlockCommTests under mpirun: runs collectives and faults as MPI ranks.
        .executableTarget(name: "flock-mpi-check", dependencies: ["FlockComm"], path: "Tests/FlockMPICheck"),
        .executableTarget(name: "flock-fault-runner", dependencies: ["FlockTrain"], path: "Tests/FlockFaultRunner"),
        .testTarget(name: "FlockTrainTests", dependencies: ["FlockTestSupport", "FlockTrain"]),
        .testTarget(name: "FlockBenchTests", dependencies: ["FlockBench", "FlockComm"]),
        .testTarget(name: "FlockExportTests", dependencies: ["FlockTestSupport", "FlockExport", "FlockTrain"],
                    exclude: ["onnx_predict.py"]),
        .testTarget(name: "FlockReportTests", dependencies: ["FlockTestSupport", "Flock", "FlockReport", "FlockTrain", "FlockSweep"]),
        // MLflow and Optuna themselves (from PyPI, in a venv under .build/) read what Flock sends and writes.
        .testTarget(name: "FlockToolchainTests", dependencies: ["FlockTestSupport", "Flock", "FlockTracking", "FlockOptuna", "FlockSweep", "FlockTrain"]),
    ],
    swiftLanguageModes: [.v6]
)
