import JWKSTestSupport
import NIOConcurrencyHelpers
import Testing

@testable import jwksd

/// The config watcher's debounce and de-duplication, on a manual clock.
@Suite("Config change debounce")
struct ConfigChangeDebouncerTests {
    /// A file whose content the test sets, and a record of what the debouncer did.
    final class Scene: Sendable {
        let content = NIOLockedValueBox<[UInt8]?>(Array("version: 1".utf8))
        let outcomes = NIOLockedValueBox<[ConfigChangeDebouncer.Outcome]>([])
        let reloads = NIOLockedValueBox(0)
        let clock = ManualClock()
        let (changes, notify) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))

        var debouncer: ConfigChangeDebouncer {
            ConfigChangeDebouncer(clock: clock) { [content] in content.withLockedValue { $0 } }
        }

        func start() -> Task<Void, Never> {
            let debouncer = self.debouncer
            let initial = content.withLockedValue { $0 }
            return Task {
                await debouncer.run(changes: changes, initial: initial) {
                    reloads.withLockedValue { $0 += 1 }
                } observe: { outcome in
                    outcomes.withLockedValue { $0.append(outcome) }
                }
            }
        }

        var observed: [ConfigChangeDebouncer.Outcome] { outcomes.withLockedValue { $0 } }
    }

    @Test("notices during the wait fold into one; the reload waits the whole debounce")
    func debounce() async throws {
        let scene = Scene()
        let task = scene.start()
        scene.content.withLockedValue { $0 = Array("version: 1\n# edited".utf8) }
        scene.notify.yield()
        #expect(await eventually { scene.clock.sleeperCount == 1 })
        // An editor's write, rename and chmod: three more notices while the first waits.
        for _ in 0..<3 { scene.notify.yield() }
        scene.clock.advance(by: .milliseconds(249))
        #expect(scene.reloads.withLockedValue { $0 } == 0)
        scene.clock.advance(by: .milliseconds(1))
        #expect(await eventually { scene.observed == [.reloaded] })
        // The three folded into one more notice, which finds the content unchanged.
        #expect(await eventually { scene.clock.sleeperCount == 1 })
        scene.clock.advance(by: .milliseconds(250))
        #expect(await eventually { scene.observed == [.reloaded, .unchanged] })
        #expect(scene.reloads.withLockedValue { $0 } == 1)
        scene.notify.finish()
        await task.value
    }

    @Test("a notice with the content unchanged (a touch, a chmod) reloads nothing; a later edit does")
    func deduplication() async throws {
        let scene = Scene()
        let task = scene.start()
        scene.notify.yield()
        #expect(await eventually { scene.clock.sleeperCount == 1 })
        scene.clock.advance(by: .milliseconds(250))
        #expect(await eventually { scene.observed == [.unchanged] })
        // Removed (unreadable), then restored with the content it had: two changes, two reloads.
        scene.content.withLockedValue { $0 = nil }
        scene.notify.yield()
        #expect(await eventually { scene.clock.sleeperCount == 1 })
        scene.clock.advance(by: .milliseconds(250))
        #expect(await eventually { scene.observed == [.unchanged, .reloaded] })
        scene.content.withLockedValue { $0 = Array("version: 1".utf8) }
        scene.notify.yield()
        #expect(await eventually { scene.clock.sleeperCount == 1 })
        scene.clock.advance(by: .milliseconds(250))
        #expect(await eventually { scene.observed == [.unchanged, .reloaded, .reloaded] })
        #expect(scene.reloads.withLockedValue { $0 } == 2)
        scene.notify.finish()
        await task.value
    }
}
