// swift-tools-version: 6.1
import PackageDescription

// Coverage-guided fuzz targets (libFuzzer), a package of their own: they link libFuzzer's main and are built
// with `-sanitize=fuzzer,address` for every module, which the main build must not be. Build and run them with
// scripts/fuzz.sh TARGET SECONDS (targets: see Sources/JWKSDFuzz/FuzzTarget.swift).
let package = Package(
    name: "jwksd-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "jwksd", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
    ],
    targets: [
        .executableTarget(
            name: "JWKSDFuzz",
            dependencies: [
                .product(name: "JWKS", package: "jwksd"),
                .product(name: "JWS", package: "jwksd"),
                .product(name: "JWKSConfig", package: "jwksd"),
                .product(name: "JWKSCache", package: "jwksd"),
                .product(name: "JWKSWire", package: "jwksd"),
                .product(name: "JWKSServer", package: "jwksd"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        )
    ]
)
