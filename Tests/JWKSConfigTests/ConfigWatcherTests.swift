import Foundation
import Testing

@testable import JWKSConfig

@Suite("Config watcher (inotify)", .serialized)
struct ConfigWatcherTests {
    /// The next change, or `false` when none comes within a real-time guard (a broken test must not hang:
    /// the guard stops the watcher, which ends the stream).
    static func nextChange(_ iterator: inout AsyncStream<Void>.Iterator, watcher: ConfigWatcher) async -> Bool {
        let guardTask = Task {
            try? await Task.sleep(for: .seconds(5))
            if !Task.isCancelled { watcher.stop() }
        }
        defer { guardTask.cancel() }
        return await iterator.next() != nil
    }

    @Test("an editor's atomic rename and a Kubernetes ..data symlink swap are both seen")
    func renamesAndSymlinkSwaps() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("jwksd-watch-\(UUID())")
        let manager = FileManager.default
        try manager.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? manager.removeItem(at: directory) }
        // Kubernetes layout: tenants.yaml -> ..data/tenants.yaml, ..data -> ..v1
        let v1 = directory.appendingPathComponent("..v1")
        try manager.createDirectory(at: v1, withIntermediateDirectories: true)
        try "version: 1\n".write(to: v1.appendingPathComponent("tenants.yaml"), atomically: true, encoding: .utf8)
        try manager.createSymbolicLink(
            atPath: directory.appendingPathComponent("..data").path, withDestinationPath: "..v1")
        let file = directory.appendingPathComponent("tenants.yaml")
        try manager.createSymbolicLink(atPath: file.path, withDestinationPath: "..data/tenants.yaml")

        let watcher = try ConfigWatcher(path: file.path)
        defer { watcher.stop() }
        var changes = watcher.changes().makeAsyncIterator()

        try "unrelated".write(to: directory.appendingPathComponent("other.txt"), atomically: false, encoding: .utf8)
        let v2 = directory.appendingPathComponent("..v2")
        try manager.createDirectory(at: v2, withIntermediateDirectories: true)
        try "version: 1\ntenants: {}\n".write(
            to: v2.appendingPathComponent("tenants.yaml"), atomically: true, encoding: .utf8)
        try manager.createSymbolicLink(
            atPath: directory.appendingPathComponent("..data_tmp").path, withDestinationPath: "..v2")
        #expect(
            rename(directory.appendingPathComponent("..data_tmp").path, directory.appendingPathComponent("..data").path)
                == 0)
        #expect(await Self.nextChange(&changes, watcher: watcher))
        #expect(try String(contentsOf: file, encoding: .utf8) == "version: 1\ntenants: {}\n")

        try manager.removeItem(at: file)
        try "version: 1\n# edited\n".write(to: file, atomically: true, encoding: .utf8)
        #expect(await Self.nextChange(&changes, watcher: watcher))
    }

    @Test("inotify record names are parsed")
    func names() {
        var bytes: [UInt8] = []
        for name in ["tenants.yaml", "..data"] {
            let padded = Array(name.utf8) + [UInt8](repeating: 0, count: 16 - name.utf8.count % 16)
            bytes += [1, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0, UInt8(padded.count), 0, 0, 0] + padded
        }
        #expect(ConfigWatcher.names(in: bytes[...]) == ["tenants.yaml", "..data"])
    }
}
