import Testing

@testable import JWKSServer

@Suite("Connection state machine")
struct ConnectionStateMachineTests {
    @Test("calls open, complete, cancel; limits and reserved ids; closing")
    func lifecycle() {
        var machine = ConnectionStateMachine(maxCalls: 2)
        #expect(machine.requestReceived(callID: 0, kind: .unary) == .rejectReservedID)
        #expect(machine.requestReceived(callID: 1, kind: .unary) == .start(token: 1))
        #expect(machine.requestReceived(callID: 1, kind: .unary) == .duplicateID)
        #expect(machine.requestReceived(callID: 2, kind: .stream) == .start(token: 2))
        #expect(machine.requestReceived(callID: 3, kind: .unary) == .rejectOverLimit)
        #expect(!machine.isIdle)
        #expect(machine.cancelReceived(callID: 2) == .cancel(.stream))
        #expect(!machine.isOpen(2))
        #expect(machine.callCompleted(callID: 2, token: 2) == .drop)
        #expect(machine.cancelReceived(callID: 9) == .unknownCall)
        #expect(machine.callCompleted(callID: 1, token: 1) == .send)
        #expect(machine.isIdle)
        machine.startClosing()
        #expect(machine.requestReceived(callID: 4, kind: .unary) == .rejectClosing)
    }

    @Test("a cancelled call's late reply is dropped, not sent to a new call that reuses its id")
    func reusedIDAfterCancel() {
        var machine = ConnectionStateMachine(maxCalls: 4)
        guard case .start(let first) = machine.requestReceived(callID: 7, kind: .unary) else {
            Issue.record("call 7 did not start")
            return
        }
        #expect(machine.cancelReceived(callID: 7) == .cancel(.unary))
        guard case .start(let second) = machine.requestReceived(callID: 7, kind: .unary) else {
            Issue.record("call 7 did not start again")
            return
        }
        #expect(first != second)
        // The first call's work finishes late: its reply must not answer the second call.
        #expect(machine.callCompleted(callID: 7, token: first) == .drop)
        #expect(machine.isOpen(7, token: second))
        #expect(machine.callCompleted(callID: 7, token: second) == .send)
        #expect(machine.isIdle)
    }

    @Test("Watch streams per connection are capped apart from unary calls")
    func streamCap() {
        var machine = ConnectionStateMachine(maxCalls: 8, maxStreams: 2)
        #expect(machine.requestReceived(callID: 1, kind: .stream) == .start(token: 1))
        #expect(machine.requestReceived(callID: 2, kind: .stream) == .start(token: 2))
        #expect(machine.requestReceived(callID: 3, kind: .stream) == .rejectTooManyStreams)
        #expect(machine.requestReceived(callID: 3, kind: .unary) == .start(token: 3))
        #expect(machine.streamCount == 2)
        #expect(machine.cancelReceived(callID: 1) == .cancel(.stream))
        #expect(machine.requestReceived(callID: 4, kind: .stream) == .start(token: 4))
    }

    @Test("drain ends streams at once, keeps unary calls until answered, then is drained")
    func drain() {
        var machine = ConnectionStateMachine(maxCalls: 8)
        #expect(machine.requestReceived(callID: 1, kind: .stream) == .start(token: 1))
        #expect(machine.requestReceived(callID: 3, kind: .unary) == .start(token: 2))
        #expect(machine.requestReceived(callID: 5, kind: .stream) == .start(token: 3))
        #expect(!machine.isDrained)
        #expect(machine.drain() == [1, 5])
        #expect(!machine.isOpen(1) && machine.isOpen(3))
        #expect(!machine.isDrained)
        #expect(machine.requestReceived(callID: 7, kind: .unary) == .rejectClosing)
        #expect(machine.callCompleted(callID: 3, token: 2) == .send)
        #expect(machine.isDrained)
    }
}
