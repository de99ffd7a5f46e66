// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "swift-iam",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "IAMWire", targets: ["IAMWire"]),
        .library(name: "IAMPolicy", targets: ["IAMPolicy"]),
        .library(name: "IAMSync", targets: ["IAMSync"]),
        .library(name: "IAMDomain", targets: ["IAMDomain"]),
        .library(name: "IAMStoreSQLite", targets: ["IAMStoreSQLite"]),
        .library(name: "IAMClient", targets: ["IAMClient"]),
        // For Packages/IAMPostgres (iamd-pg and the replica tests), which is a package of its own so that
        // this one never builds postgres-nio's TLS and crypto dependencies (BoringSSL).
        .library(name: "IAMDaemon", targets: ["IAMDaemon"]),
        .library(name: "IAMTestSupport", targets: ["IAMTestSupport"]),
        .library(name: "IAMStoreConformance", targets: ["IAMStoreConformance"]),
        .executable(name: "iam", targets: ["iam"]),
        .executable(name: "iamd", targets: ["iamd"]),
        .executable(name: "iam-codegen", targets: ["iam-codegen"]),
        .executable(name: "iam-loadtest", targets: ["iam-loadtest"]),
        .executable(name: "iam-seed", targets: ["iam-seed"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
    ],
    targets: [
        // MARK: C shim
        .target(
            name: "COpenSSL",
            linkerSettings: [.linkedLibrary("ssl"), .linkedLibrary("crypto")]
        ),
        // zlib for message compression (WIRE.md §10): stream setup macros and one-call message steps.
        .target(
            name: "CZlib",
            linkerSettings: [.linkedLibrary("z")]
        ),

        // MARK: Wire, TLS, RPC
        .target(
            name: "IAMWire",
            dependencies: [
                "CZlib",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "IAMTLS",
            dependencies: [
                "COpenSSL",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "IAMRPC",
            dependencies: [
                "IAMWire",
                "IAMTLS",
                "IAMSync",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Policy engine (pure)
        .target(name: "IAMPolicy", swiftSettings: swiftSettings),
        // The conformance-vector format and runner, shared by `iam policy evaluate` and IAMPolicyTests.
        .target(name: "IAMPolicyVectors", dependencies: ["IAMPolicy"], swiftSettings: swiftSettings),

        // MARK: Domain and stores
        // Synchronization's Mutex with what ThreadSanitizer needs to see it (Locked.swift); every module's locks.
        .target(name: "IAMSync", swiftSettings: swiftSettings),
        .target(name: "IAMDomain", dependencies: ["IAMPolicy", "IAMSync"], swiftSettings: swiftSettings),
        .target(
            name: "IAMStoreSQLite",
            dependencies: ["IAMDomain", "IAMSync", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: swiftSettings
        ),

        // MARK: Service surface
        .target(
            name: "IAMServer",
            dependencies: [
                "IAMRPC",
                "IAMWire",
                "IAMTLS",
                "IAMPolicy",
                "IAMDomain",
                "IAMSync",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The AWS front door: HTTPS (IAMTLS + NIOHTTP1), SigV4, the Query protocol for IAM and STS.
        .target(
            name: "IAMQueryAPI",
            dependencies: [
                "IAMServer", "IAMRPC", "IAMWire", "IAMTLS", "IAMSync",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "IAMClient",
            dependencies: ["IAMRPC", "IAMWire", "IAMSync"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "IAMCLI",
            dependencies: [
                "IAMClient",
                "IAMPolicy",
                "IAMPolicyVectors",
                "IAMSync",
                "IAMRPC",
                "IAMTLS",
                "IAMWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(name: "iam", dependencies: ["IAMCLI"], swiftSettings: swiftSettings),
        // iamd's composition (options, store, daemon, front door, a replica's follower), shared by `iamd` and
        // Packages/IAMPostgres's `iamd-pg`, which adds the PostgreSQL store through a StoreBackend.
        .target(
            name: "IAMDaemon",
            dependencies: [
                "IAMServer",
                "IAMQueryAPI",
                "IAMStoreSQLite",
                "IAMDomain",
                "IAMSync",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "iamd",
            dependencies: ["IAMDaemon", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),

        // MARK: Tools
        .target(name: "IAMCodeGen", path: "tools/codegen/IAMCodeGen", swiftSettings: swiftSettings),
        .executableTarget(
            name: "iam-codegen",
            dependencies: ["IAMCodeGen"],
            path: "tools/codegen/iam-codegen",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "iam-loadtest",
            dependencies: [
                "IAMClient",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "tools/loadtest",
            swiftSettings: swiftSettings
        ),
        // The front door's SigV4 verification cost (tools/benchmarks/query-frontdoor.sh); server code, so not
        // in the load tester, which links only the client.
        .executableTarget(
            name: "iam-sigv4-bench",
            dependencies: ["IAMQueryAPI", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "tools/sigv4bench",
            swiftSettings: swiftSettings
        ),
        // Fills an iamd data folder with a synthetic account for tools/benchmarks/authorize-bench.sh.
        .executableTarget(
            name: "iam-seed",
            dependencies: [
                "IAMDomain",
                "IAMStoreSQLite",
                "IAMRPC",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "tools/seed",
            swiftSettings: swiftSettings
        ),

        // The PostgreSQL replica benchmarks' drivers (tools/benchmarks/replicas.sh): a client only.
        .executableTarget(
            name: "iam-replica-bench",
            dependencies: [
                "IAMClient", "IAMWire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "tools/replicabench",
            swiftSettings: swiftSettings
        ),

        // Crash-trial and churn drivers for tools/reliability (crash-test, soak); not a product.
        .executableTarget(
            name: "iam-reliability",
            dependencies: [
                "IAMClient",
                "IAMRPC",
                "IAMTLS",
                "IAMWire",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "tools/reliability/driver",
            swiftSettings: swiftSettings
        ),

        // MARK: Test support and tests
        // The Store protocol's behavioural suite, written once and run against every implementation.
        .target(
            name: "IAMStoreConformance",
            dependencies: ["IAMDomain"],
            path: "Tests/IAMStoreConformance",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "IAMTestSupport",
            dependencies: ["IAMRPC", "IAMTLS", "IAMWire", .product(name: "NIOPosix", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IAMWireTests",
            dependencies: ["IAMWire", "IAMTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IAMTLSTests",
            dependencies: ["IAMTLS", "IAMTestSupport", .product(name: "NIOEmbedded", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IAMRPCTests",
            dependencies: [
                "IAMRPC", "IAMServer", "IAMClient", "IAMTestSupport",
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IAMPolicyTests",
            dependencies: ["IAMPolicy", "IAMPolicyVectors"],
            exclude: ["Vectors"],  // data files, read via #filePath by the runner
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IAMDomainTests",
            dependencies: ["IAMDomain", "IAMPolicy", "IAMStoreConformance"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IAMStoreSQLiteTests",
            dependencies: [
                "IAMStoreSQLite", "IAMDomain", "IAMPolicy", "IAMStoreConformance",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IAMCLITests",
            dependencies: ["IAMCLI", "IAMPolicy", "IAMPolicyVectors", "IAMTestSupport", "IAMWire", "iam", "iamd"],
            exclude: ["Fixtures"],  // read via #filePath
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IAMClientTests",
            dependencies: [
                "IAMClient", "IAMRPC", "IAMWire", "IAMServer", "IAMStoreSQLite", "IAMTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IAMCodeGenTests", dependencies: ["IAMCodeGen", "IAMTestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "IAMServerTests",
            dependencies: [
                "IAMServer", "IAMRPC", "IAMWire", "IAMDomain", "IAMPolicy", "IAMClient", "IAMStoreSQLite",
                "IAMTestSupport", "IAMTLS",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IAMQueryAPITests",
            dependencies: [
                "IAMQueryAPI", "IAMServer", "IAMRPC", "IAMWire", "IAMTLS", "IAMDomain", "IAMTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
        // Runs the real binaries; depending on them makes `swift test` build them first.
        .testTarget(
            name: "EndToEndTests", dependencies: ["IAMTestSupport", "iamd", "iam"], swiftSettings: swiftSettings),
        .testTarget(
            name: "LoadTestTests", dependencies: ["IAMTestSupport", "iamd", "iam-loadtest"],
            swiftSettings: swiftSettings),
    ]
)
