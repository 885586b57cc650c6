import Foundation
import JWKSServer
import JWKSWire
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// Blocking Unix-socket helpers for the bench's connection threads (no event loop, no allocation per call).
enum BenchSocket {
    /// A monotonic timestamp in nanoseconds.
    @inline(__always)
    static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }

    /// When a run that started at `start` (``now()``) stops starting calls: after `duration`, or never when it
    /// is bounded by a number of `requests` instead.
    static func deadline(from start: UInt64, after duration: Duration, requests: Int?) -> UInt64 {
        requests == nil ? start + UInt64(TimeAmount(duration).nanoseconds) : .max
    }

    /// Connects to the daemon's socket; reads give up (EAGAIN) after `timeout` without data.
    static func connect(_ path: String, timeout: Duration = .seconds(5)) throws(BenchError) -> Int32 {
        let descriptor: Int32
        do {
            descriptor = try UnixSocket.connect(path)
        } catch {
            throw BenchError(error.description)
        }
        UnixSocket.setReceiveTimeout(descriptor, timeout)
        return descriptor
    }

    /// Writes every byte of `bytes` (retrying short writes).
    static func writeAll(_ descriptor: Int32, _ bytes: [UInt8]) throws(BenchError) {
        let failure = bytes.withUnsafeBytes { raw -> Int32 in
            var offset = 0
            while offset < raw.count {
                let written = write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                offset += written
            }
            return 0
        }
        if failure != 0 { throw BenchError("write: \(String(cString: strerror(failure)))") }
    }

    /// Reads exactly `count` bytes into the start of `buffer`.
    static func readExactly(_ descriptor: Int32, into buffer: inout [UInt8], count: Int) throws(BenchError) {
        let failure = buffer.withUnsafeMutableBytes { raw -> Int32 in
            var offset = 0
            while offset < count {
                let got = read(descriptor, raw.baseAddress! + offset, count - offset)
                if got == 0 { return -1 }
                if got < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                offset += got
            }
            return 0
        }
        if failure == -1 { throw BenchError("the peer closed the connection") }
        if failure != 0 { throw BenchError("read: \(String(cString: strerror(failure)))") }
    }

    /// Runs `body` on a new thread and returns its result.
    static func onThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: body()) }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }
}

/// A bench failure with its message.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
