import Testing

@testable import JWKSCache

@Suite("Event hub")
struct EventHubTests {
    static func event(_ index: Int) -> EngineEvent {
        EngineEvent(key: ProviderKey(tenant: "t", provider: "p\(index)"), kind: .notModified)
    }

    @Test("a subscriber that never reads holds at most its limit, then its stream ends after what it holds")
    func boundedSubscriber() async {
        let hub = EventHub()
        let stalled = hub.subscribe(limit: 16)
        let notices = hub.subscribeNotices(limit: 16)
        #expect(hub.subscriberCount == 2)
        for index in 0..<10_000 { hub.emit(Self.event(index)) }
        var received = 0
        for await _ in stalled { received += 1 }
        #expect(received == 16)
        var noticed = 0
        for await _ in notices { noticed += 1 }
        #expect(noticed == 16)
        #expect(hub.subscriberCount == 0)
    }

    @Test("registry changes reach notice subscribers, not event subscribers")
    func registryChanges() async {
        let hub = EventHub()
        let events = hub.subscribe(limit: 8)
        let notices = hub.subscribeNotices(limit: 8)
        hub.announceRegistryChange(generation: 2)
        hub.emit(Self.event(1))
        var eventIterator = events.makeAsyncIterator()
        #expect(await eventIterator.next() == Self.event(1))
        var noticeIterator = notices.makeAsyncIterator()
        #expect(await noticeIterator.next() == .registryChanged(generation: 2))
        #expect(await noticeIterator.next() == .event(Self.event(1)))
    }
}
