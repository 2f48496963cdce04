// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "upshift",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "upshift", targets: ["upshift"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.0.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .target(name: "UpshiftPostgres", dependencies: ["CLibPQ"]),
        // The layers, bottom up; a target depends only on targets above it in this list, and the compiler
        // refuses a reference upwards. Inside UpshiftCore, LayeringTests keeps the folders free of cycles.
        // Process, files, JSON, secrets, errors, SHA-256: Foundation and swift-crypto only.
        .target(name: "UpshiftSupport", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        // Steps, plans, the executor, journal, run folder, lock, compensation registry type, audit log.
        .target(name: "UpshiftPlans", dependencies: ["UpshiftSupport"]),
        // docker compose: project model, CLI driver, file editing, data directories, compose compensators.
        .target(name: "UpshiftCompose", dependencies: ["UpshiftPlans", "UpshiftSupport", "UpshiftPostgres"]),
        // Application profiles (InvenTree): detection, invoke tasks, releases, records files.
        .target(name: "UpshiftApps", dependencies: ["UpshiftCompose", "UpshiftSupport"]),
        // The flows: pg-upgrade, update, backup/restore, transfer, doctor, status; the compensator registry.
        .target(name: "UpshiftCore", dependencies: ["UpshiftApps", "UpshiftCompose", "UpshiftPlans", "UpshiftSupport", "UpshiftPostgres"]),
        .target(
            name: "UpshiftCommands",
            dependencies: [
                "UpshiftCore",
                "UpshiftApps",
                "UpshiftCompose",
                "UpshiftPlans",
                "UpshiftSupport",
                "UpshiftPostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "upshift", dependencies: ["UpshiftCommands"]),
        // benchmarks/sha256: dump-hash rate before and after swift-crypto (not shipped, not a product).
        .executableTarget(name: "Sha256Bench", dependencies: ["UpshiftSupport"], path: "benchmarks/Sha256Bench"),
        .target(
            name: "UpshiftTestSupport",
            dependencies: ["UpshiftSupport", "UpshiftPostgres"],
            path: "Tests/UpshiftTestSupport"
        ),
        .testTarget(
            name: "UpshiftCoreTests",
            dependencies: ["UpshiftCore", "UpshiftApps", "UpshiftCompose", "UpshiftPlans", "UpshiftSupport", "UpshiftPostgres", "UpshiftTestSupport"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(name: "UpshiftPostgresTests", dependencies: ["UpshiftPostgres", "UpshiftSupport", "UpshiftTestSupport"]),
        .testTarget(
            name: "UpshiftCommandsTests",
            dependencies: ["UpshiftCommands", "UpshiftCore", "UpshiftApps", "UpshiftPlans", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["UpshiftCore", "UpshiftApps", "UpshiftCompose", "UpshiftPlans", "UpshiftSupport", "UpshiftPostgres", "UpshiftTestSupport"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
