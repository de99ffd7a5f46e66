// swift-tools-version: 6.1
// swift-iam's PostgreSQL store, the `iamd-pg` daemon (iamd with `--store postgres://...`) and the replica
// tests. A package of its own because postgres-nio brings swift-nio-ssl and swift-crypto, which compile
// BoringSSL (9-13 minutes on two cores): the main package, its two README commands and its default build
// never build them. tools/scripts/test builds and tests this package too (scratch path .build-pg):
//   swift build --package-path Packages/IAMPostgres --scratch-path .build-pg
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "swift-iam-postgres",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "IAMStorePostgres", targets: ["IAMStorePostgres"]),
        .executable(name: "iamd-pg", targets: ["iamd-pg"]),
    ],
    dependencies: [
        // Named explicitly: a path dependency is otherwise known by its folder name, which differs per clone.
        .package(name: "swift-iam", path: "../.."),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    ],
    targets: [
        // The Store on PostgreSQL, for several iamd replicas over one database, and a replica's follower.
        .target(
            name: "IAMStorePostgres",
            dependencies: [
                .product(name: "IAMDomain", package: "swift-iam"),
                .product(name: "IAMSync", package: "swift-iam"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // iamd with the PostgreSQL store: IAMDaemon's composition plus a StoreBackend for postgres:// URLs.
        .executableTarget(
            name: "iamd-pg",
            dependencies: [
                "IAMStorePostgres",
                .product(name: "IAMDaemon", package: "swift-iam"),
                .product(name: "IAMDomain", package: "swift-iam"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Tests
        // The PostgreSQL server the tests use (the test command's throwaway cluster) and private clusters for
        // the tests that restart PostgreSQL.
        .target(
            name: "IAMPostgresTestSupport",
            dependencies: [.product(name: "IAMTestSupport", package: "swift-iam")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IAMStorePostgresTests",
            dependencies: [
                "IAMStorePostgres", "IAMPostgresTestSupport",
                .product(name: "IAMDomain", package: "swift-iam"),
                .product(name: "IAMPolicy", package: "swift-iam"),
                .product(name: "IAMStoreConformance", package: "swift-iam"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Several real iamd-pg replicas over one real PostgreSQL database; depending on iamd-pg builds it first.
        .testTarget(
            name: "ReplicaTests",
            dependencies: [
                "IAMStorePostgres", "IAMPostgresTestSupport", "iamd-pg",
                .product(name: "IAMTestSupport", package: "swift-iam"),
                .product(name: "IAMClient", package: "swift-iam"),
                .product(name: "IAMWire", package: "swift-iam"),
                .product(name: "IAMDomain", package: "swift-iam"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
