import Foundation

/// The fuzz targets of one libFuzzer binary; `JWKSD_FUZZ_TARGET` picks one (scripts/fuzz.sh sets it).
enum FuzzTarget: String, CaseIterable {
    /// Frame decoding and re-encoding: any bytes, split anywhere.
    case frame
    /// The whole server on a Unix socket: any bytes from a connected peer.
    case connection
    /// Request payloads of every method through the dispatcher.
    case request
    /// Registry YAML: load, render, load again.
    case yaml
    /// JSON parsing and JWK validation of a JWKS document.
    case jwks
    /// HTTP cache headers, dates and `Location` resolution.
    case headers
    /// Warm-restart snapshot files.
    case snapshot
    /// Compact JWS tokens: parsing, and verification with fixed keys.
    case jws
    /// The HTTP JWKS endpoint on a Unix socket: any bytes from a connected client.
    case http

    /// Runs one input.
    func run(_ bytes: [UInt8]) {
        switch self {
        case .frame: FrameFuzz.run(bytes)
        case .connection: ConnectionFuzz.shared.run(bytes)
        case .request: RequestFuzz.shared.run(bytes)
        case .yaml: YAMLFuzz.run(bytes)
        case .jwks: JWKSFuzz.run(bytes)
        case .headers: HeadersFuzz.run(bytes)
        case .snapshot: SnapshotFuzz.shared.run(bytes)
        case .jws: JWSFuzz.run(bytes)
        case .http: HTTPFuzz.shared.run(bytes)
        }
    }
}

/// Set once by `LLVMFuzzerInitialize`, before any input runs.
nonisolated(unsafe) var selectedTarget: FuzzTarget = .frame

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
) -> Int32 {
    let name = ProcessInfo.processInfo.environment["JWKSD_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        FileHandle.standardError.write(Data("set JWKSD_FUZZ_TARGET to one of: \(names)\n".utf8))
        exit(2)
    }
    selectedTarget = target
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    selectedTarget.run(bytes)
    return 0
}

/// Stops the process so libFuzzer records the input (a broken property, not a crash of the code under test).
func fuzzFailure(_ message: String) -> Never {
    FileHandle.standardError.write(Data("fuzz property broken: \(message)\n".utf8))
    abort()
}

/// libFuzzer's driver, for the entry point below.
@_silgen_name("LLVMFuzzerRunDriver")
func llvmFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

/// SwiftPM links a debug executable's entry point as `<module>_main` (so tests can import it) and points
/// `main` at it, which takes the place of libFuzzer's own `main`: start libFuzzer's driver from here.
@_cdecl("JWKSDFuzz_main")
public func fuzzMain(
    _ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    var count = argc
    var arguments = argv
    return llvmFuzzerRunDriver(&count, &arguments) { data, size in fuzzerTestOneInput(data, size) }
}
