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
        .target(
            name: "UpshiftCore",
            dependencies: ["UpshiftPostgres", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(
            name: "UpshiftCommands",
            dependencies: [
                "UpshiftCore",
                "UpshiftPostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "upshift", dependencies: ["UpshiftCommands"]),
        // benchmarks/sha256: dump-hash rate before and after swift-crypto (not shipped, not a product).
        .executableTarget(name: "Sha256Bench", dependencies: ["UpshiftCore"], path: "benchmarks/Sha256Bench"),
        .target(name: "UpshiftTestSupport", dependencies: ["UpshiftCore", "UpshiftPostgres"], path: "Tests/UpshiftTestSupport"),
        .testTarget(name: "UpshiftCoreTests", dependencies: ["UpshiftCore", "UpshiftTestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "UpshiftPostgresTests", dependencies: ["UpshiftPostgres", "UpshiftTestSupport"]),
        .testTarget(
            name: "UpshiftCommandsTests",
            dependencies: ["UpshiftCommands", "UpshiftCore", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .testTarget(name: "EndToEndTests", dependencies: ["UpshiftCore", "UpshiftPostgres", "UpshiftTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
