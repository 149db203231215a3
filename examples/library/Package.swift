// swift-tools-version:6.0
// Using Flock as a library: `swift run` in this folder trains an MLP on the digits data.
// In your own package, depend on Flock by its git URL instead of this relative path.
import Foundation
import PackageDescription

// SwiftPM names a path dependency after its folder, whatever the checkout is called.
let flockFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "TrainDigits",
    dependencies: [.package(path: "../..")],
    targets: [
        .executableTarget(name: "TrainDigits", dependencies: [.product(name: "Flock", package: flockFolder)]),
    ],
    swiftLanguageModes: [.v6]
)
