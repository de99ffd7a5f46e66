// swift-tools-version: 6.1
// Micro-benchmarks for swift-iam. A separate package so that the main package (and CI) never builds
// ordo-one/benchmark; run from this folder:  swift package --disable-sandbox benchmark
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "swift-iam-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Named explicitly: a path dependency is otherwise known by its folder name, which differs per clone.
        .package(name: "swift-iam", path: "../.."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        // The synthetic principals and requests, shared by the benchmark and by `policy-workload`, which writes
        // the same workload as an `iam policy evaluate --bench` case file.
        .target(
            name: "PolicyWorkload",
            dependencies: [.product(name: "IAMPolicy", package: "swift-iam")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "policy-workload",
            dependencies: ["PolicyWorkload"],
            swiftSettings: swiftSettings
        ),
        // Durable write throughput of the SQLite store with N concurrent writers (group commit).
        .executableTarget(
            name: "store-writes",
            dependencies: [
                .product(name: "IAMDomain", package: "swift-iam"),
                .product(name: "IAMStoreSQLite", package: "swift-iam"),
            ],
            swiftSettings: swiftSettings
        ),
        // Snapshot start-up at scale (users/groups/policies) and one write's catch-up.
        .executableTarget(
            name: "snapshot-build",
            dependencies: [
                .product(name: "IAMDomain", package: "swift-iam"),
                .product(name: "IAMPolicy", package: "swift-iam"),
                .product(name: "IAMStoreSQLite", package: "swift-iam"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "PolicyEvaluation",
            dependencies: [
                "PolicyWorkload",
                .product(name: "IAMPolicy", package: "swift-iam"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/PolicyEvaluation",
            swiftSettings: swiftSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "FrameCodec",
            dependencies: [
                .product(name: "IAMWire", package: "swift-iam"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/FrameCodec",
            swiftSettings: swiftSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
