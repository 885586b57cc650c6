import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Watches a config file's directory with inotify and reports when the file may have changed: written in
/// place, replaced by an editor's atomic rename, created, deleted, or swapped the way Kubernetes updates a
/// ConfigMap (the `..data` symlink is renamed over). Watching the directory, not the file, is what makes
/// renames and symlink swaps visible. Callers debounce and compare content before reloading.
public final class ConfigWatcher: Sendable {
    /// Why the watcher could not start.
    public struct StartError: Error, Sendable, CustomStringConvertible {
        /// What failed.
        public var description: String
    }

    /// The watched file.
    public let path: String
    private let descriptor: Int32
    private let stopped = Atomic<Bool>(false)

    /// Starts watching.
    /// - Parameter path: the config file.
    /// - Throws: ``StartError`` when inotify is unavailable or the directory cannot be watched.
    public init(path: String) throws(StartError) {
        self.path = path
        let directory = (path as NSString).deletingLastPathComponent
        descriptor = inotify_init1(Int32(IN_CLOEXEC))
        guard descriptor >= 0 else {
            throw StartError(description: "inotify_init1: \(String(cString: strerror(errno)))")
        }
        let mask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB)
        guard inotify_add_watch(descriptor, directory.isEmpty ? "." : directory, mask) >= 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw StartError(description: "cannot watch \(directory): \(reason)")
        }
    }

    /// The names in the directory whose events concern the file: the file itself and Kubernetes' `..data`.
    var relevantNames: Set<String> { [(path as NSString).lastPathComponent, "..data"] }

    /// A stream with one element per batch of relevant events; it ends when ``stop()`` is called.
    public func changes() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let descriptor = self.descriptor
        let names = relevantNames
        let thread = Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: 64 * 1_024)
            while !stopped.load(ordering: .acquiring) {
                var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                guard poll(&poller, 1, 200) > 0 else { continue }
                let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                guard count > 0 else { continue }
                if Self.names(in: buffer[0..<count]).contains(where: names.contains) { continuation.yield() }
            }
            continuation.finish()
        }
        thread.start()
        return stream
    }

    /// Stops the stream and releases the inotify descriptor.
    public func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        // The reader thread polls with a timeout, so it notices the flag; closing after a grace period
        // avoids closing a descriptor it is still reading.
        let descriptor = self.descriptor
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(500)) { close(descriptor) }
    }

    /// The file names carried by a buffer of `struct inotify_event` records.
    static func names(in bytes: ArraySlice<UInt8>) -> [String] {
        var names: [String] = []
        var offset = bytes.startIndex
        let header = MemoryLayout<inotify_event>.size
        while offset + header <= bytes.endIndex {
            let length = bytes[(offset + 12)..<(offset + 16)].withUnsafeBytes { Int($0.loadUnaligned(as: UInt32.self)) }
            let start = offset + header
            let end = min(start + length, bytes.endIndex)
            let name = bytes[start..<end].prefix { $0 != 0 }
            names.append(String(decoding: name, as: UTF8.self))
            offset = start + length
        }
        return names
    }
}
