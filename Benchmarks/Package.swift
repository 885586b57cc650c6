// swift-tools-version: 6.1
import PackageDescription

// The micro-benchmarks (ordo-one/package-benchmark), a package of their own so the main build and CI do not
// compile the benchmark stack. Run them from this directory:
//   swift package --allow-writing-to-package-directory benchmark
let package = Package(
    name: "jwksd-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "jwksd", path: ".."),
        .package(url: "https://github.com/ordo-one/package-benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
    ],
    targets: [
        .executableTarget(
            name: "JWKSDBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "JWKS", package: "jwksd"),
                .product(name: "JWS", package: "jwksd"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "JWKSConfig", package: "jwksd"),
                .product(name: "JWKSCache", package: "jwksd"),
                .product(name: "JWKSWire", package: "jwksd"),
                .product(name: "JWKSServer", package: "jwksd"),
                .product(name: "JWKSClient", package: "jwksd"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "Benchmarks/JWKSDBenchmarks",
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        )
    ]
)
