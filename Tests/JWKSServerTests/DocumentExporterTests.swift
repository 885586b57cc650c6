import DevIssuer
import Foundation
import JWKSCache
import JWKSClient
import JWKSConfig
import JWKSTestSupport
import NIOConcurrencyHelpers
import Testing

@testable import JWKSServer

/// The file export (`server.export`) against a live engine: files appear with the served bytes, change
/// atomically on rotation, are not rewritten when nothing changed, survive outages and leave with their provider.
@Suite("File export", .serialized)
struct DocumentExporterTests {
    static let tenants = """
        acme:
          providers:
            idp: { jwks_uri: "{{BASE}}/acme/jwks" }
            other: { jwks_uri: "{{BASE}}/other/jwks" }
        "..":
          providers:
            "..": { jwks_uri: "{{BASE}}/other/jwks" }
        locked:
          allowed_uids: [12345]
          providers:
            idp: { jwks_uri: "{{BASE}}/other/jwks" }
        """

    static func harness() async throws -> ServerHarness {
        try await ServerHarness(yaml: ServerHarness.yaml(tenants)) { issuer in
            issuer.addIssuer("acme", kinds: [.p256, .rsa2048], maxAge: 300)
            issuer.addIssuer("other", kinds: [.ed25519], maxAge: 300)
        }
    }

    static func exporter(_ harness: ServerHarness) throws -> DocumentExporter {
        var config = ExportConfig(dir: harness.directory.appendingPathComponent("export/jwks").path)
        config.fileMode = 0o640
        let exporter = DocumentExporter(engine: harness.engine, config: config)
        try exporter.prepare()
        return exporter
    }

    static func read(_ path: String) -> String? {
        (try? Data(contentsOf: URL(fileURLWithPath: path))).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The file's inode: an atomic replacement is a new one.
    static func inode(_ path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.systemFileNumber] as? Int
    }

    @Test(
        "every provider's and tenant's file holds the served document; ids . and .. and ACL'd tenants are not written")
    func files() async throws {
        try await withHarness(try await Self.harness()) { harness in
            let exporter = try Self.exporter(harness)
            #expect(exporter.exportAll().isEmpty)
            let dir = exporter.config.dir
            let acme = harness.issuer.keys("acme").map(\.json)
            let other = harness.issuer.keys("other").map(\.json)
            #expect(Self.read(dir + "/acme/idp.json") == #"{"keys":["# + acme.joined(separator: ",") + "]}")
            #expect(Self.read(dir + "/acme/other.json") == #"{"keys":["# + other.joined(separator: ",") + "]}")
            #expect(Self.read(dir + "/acme.json") == #"{"keys":["# + (acme + other).joined(separator: ",") + "]}")
            #expect(FileMode(dir + "/acme/idp.json")?.permissions == 0o640)
            #expect(FileMode(dir + "/acme")?.permissions == 0o750)
            let names = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
            #expect(
                names == ["acme", "acme.json"], "nothing for the tenant .., nor for the ACL'd one, nothing outside")
            let parent = try FileManager.default.contentsOfDirectory(
                atPath: (dir as NSString).deletingLastPathComponent)
            #expect(parent == ["jwks"])
        }
    }

    @Test("a rotation replaces the files; a publication that changed nothing does not rewrite them")
    func rotation() async throws {
        try await withHarness(try await Self.harness()) { harness in
            let exporter = try Self.exporter(harness)
            exporter.exportAll()
            let path = exporter.config.dir + "/acme/idp.json"
            let before = Self.inode(path)
            _ = try await harness.client.refresh(tenant: "acme", provider: "idp")
            #expect(exporter.export(ProviderKey(tenant: "acme", provider: "idp")).isEmpty)
            #expect(Self.inode(path) == before, "unchanged keys are not rewritten")
            let added = try #require(harness.issuer.rotate("acme"))
            _ = try await harness.client.refresh(tenant: "acme", provider: "idp")
            exporter.export(ProviderKey(tenant: "acme", provider: "idp"))
            #expect(Self.inode(path) != before)
            #expect(Self.read(path)?.contains(added.kid) == true)
            #expect(Self.read(exporter.config.dir + "/acme.json")?.contains(added.kid) == true)
        }
    }

    @Test("a reader polling the file during 40 rotations only ever sees whole documents")
    func atomicReplacement() async throws {
        try await withHarness(try await Self.harness()) { harness in
            let exporter = try Self.exporter(harness)
            exporter.exportAll()
            let path = exporter.config.dir + "/acme/idp.json"
            let stop = NIOLockedValueBox(false)
            let reads = NIOLockedValueBox((whole: 0, broken: [String]()))
            let reader = Thread {
                while !stop.withLockedValue({ $0 }) {
                    guard let text = Self.read(path) else {
                        reads.withLockedValue { $0.broken.append("(missing)") }
                        continue
                    }
                    let parsed = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
                    reads.withLockedValue {
                        if (parsed?["keys"] as? [Any])?.count == 2 { $0.whole += 1 } else { $0.broken.append(text) }
                    }
                }
            }
            reader.start()
            for _ in 0..<40 {
                harness.issuer.rotate("acme")
                _ = try await harness.client.refresh(tenant: "acme", provider: "idp")
                #expect(exporter.export(ProviderKey(tenant: "acme", provider: "idp")).isEmpty)
            }
            stop.withLockedValue { $0 = true }
            while !reader.isFinished { try await Task.sleep(for: .milliseconds(1)) }
            let result = reads.withLockedValue { $0 }
            #expect(result.broken.isEmpty, "\(result.broken.prefix(3))")
            #expect(result.whole > 0)
        }
    }

    @Test("an outage past the stale limit leaves the files with the last good keys")
    func outage() async throws {
        try await withHarness(try await Self.harness()) { harness in
            let exporter = try Self.exporter(harness)
            exporter.exportAll()
            let path = exporter.config.dir + "/acme/idp.json"
            let good = Self.read(path)
            harness.issuer.inject(.status(503), at: "/acme/jwks")
            let events = harness.engine.events()
            // Past expiry (300 s) and the default stale_while_error (1 h).
            harness.clock.advance(by: .seconds(300 + 3_600 + 60))
            for await event in events where event.key == ProviderKey(tenant: "acme", provider: "idp") {
                if case .failed = event.kind { break }
            }
            #expect(exporter.exportAll().isEmpty)
            #expect(Self.read(path) == good)
            #expect(Self.read(exporter.config.dir + "/acme.json")?.contains("acme-0") == true)
        }
    }

    @Test("files of providers and tenants no longer configured, and crash leftovers, go at the next full export")
    func strays() async throws {
        try await withHarness(try await Self.harness()) { harness in
            let exporter = try Self.exporter(harness)
            let dir = exporter.config.dir
            try FileManager.default.createDirectory(atPath: dir + "/gone", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: dir + "/acme", withIntermediateDirectories: true)
            for file in ["gone.json", "gone/x.json", "acme/old.json", ".acme.json.tmp-abc", "acme/.idp.json.tmp-x"] {
                try Data("{}".utf8).write(to: URL(fileURLWithPath: dir + "/" + file))
            }
            #expect(exporter.exportAll().isEmpty)
            let top = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
            #expect(top == ["acme", "acme.json"])
            let acme = try FileManager.default.contentsOfDirectory(atPath: dir + "/acme").sorted()
            #expect(acme == ["idp.json", "other.json"])
        }
    }

    @Test("a folder swapped for a symbolic link is neither written through nor removed through")
    func symbolicLinks() async throws {
        try await withHarness(try await Self.harness()) { harness in
            let exporter = try Self.exporter(harness)
            exporter.exportAll()
            let dir = exporter.config.dir
            let elsewhere = harness.directory.appendingPathComponent("elsewhere").path
            try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
            try Data("outside".utf8).write(to: URL(fileURLWithPath: elsewhere + "/other.json"))
            try FileManager.default.removeItem(atPath: dir + "/acme")
            try FileManager.default.createSymbolicLink(atPath: dir + "/acme", withDestinationPath: elsewhere)
            let failures = exporter.export(ProviderKey(tenant: "acme", provider: "idp"))
            #expect(failures.isEmpty, "unchanged content: nothing to write")
            _ = harness.engine.apply(
                try ConfigLoader.load(
                    text: ServerHarness.yaml(
                        #"acme: { providers: { idp: { jwks_uri: "\#(harness.issuer.baseURL)/acme/jwks" } } }"#
                    )
                    .replacingOccurrences(of: "{{SOCKET}}", with: harness.socketPath),
                    baseDirectory: harness.directory.path))
            exporter.remove(ProviderKey(tenant: "acme", provider: "other"))
            #expect(Self.read(elsewhere + "/other.json") == "outside", "a removal does not follow the link")
            harness.issuer.rotate("acme")
            _ = try await harness.client.refresh(tenant: "acme", provider: "idp")
            let refused = exporter.export(ProviderKey(tenant: "acme", provider: "idp"))
            #expect(refused.first?.reason.contains("cannot be opened as a directory") == true, "\(refused)")
            #expect(!FileManager.default.fileExists(atPath: elsewhere + "/idp.json"))
        }
    }

    @Test("an export directory writable by others is refused with the reason")
    func ownership() async throws {
        try await withHarness(try await Self.harness()) { harness in
            let dir = harness.directory.appendingPathComponent("shared").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            chmod(dir, 0o777)
            let exporter = DocumentExporter(engine: harness.engine, config: ExportConfig(dir: dir))
            #expect {
                try exporter.prepare()
            } throws: { error in
                (error as? AtomicFile.Failure)?.reason.contains("writable by its group or others") == true
            }
        }
    }

    @Test("a provider that leaves the registry loses its file; a tenant that leaves loses its own")
    func removal() async throws {
        try await withHarness(try await Self.harness()) { harness in
            let exporter = try Self.exporter(harness)
            exporter.exportAll()
            let dir = exporter.config.dir
            let config = try ConfigLoader.load(
                text: ServerHarness.yaml(
                    """
                    acme:
                      providers:
                        idp: { jwks_uri: "\(harness.issuer.baseURL)/acme/jwks" }
                    """
                ).replacingOccurrences(of: "{{SOCKET}}", with: harness.socketPath),
                baseDirectory: harness.directory.path)
            _ = harness.engine.apply(config)
            #expect(exporter.remove(ProviderKey(tenant: "acme", provider: "other")).isEmpty)
            #expect(Self.read(dir + "/acme/other.json") == nil)
            #expect(Self.read(dir + "/acme.json")?.contains("other-0") == false)
            #expect(Self.read(dir + "/acme/idp.json") != nil)
        }
    }
}
