import Testing

@testable import JWKSServer

@Suite("Connection state machine")
struct ConnectionStateMachineTests {
    @Test("calls open, complete, cancel; limits and reserved ids; closing")
    func lifecycle() {
        var machine = ConnectionStateMachine(maxCalls: 2)
        #expect(machine.requestReceived(callID: 0, kind: .unary) == .rejectReservedID)
        #expect(machine.requestReceived(callID: 1, kind: .unary) == .start)
        #expect(machine.requestReceived(callID: 1, kind: .unary) == .duplicateID)
        #expect(machine.requestReceived(callID: 2, kind: .stream) == .start)
        #expect(machine.requestReceived(callID: 3, kind: .unary) == .rejectOverLimit)
        #expect(!machine.isIdle)
        #expect(machine.cancelReceived(callID: 2) == .cancel(.stream))
        #expect(!machine.isOpen(2))
        #expect(machine.callCompleted(callID: 2) == .drop)
        #expect(machine.cancelReceived(callID: 9) == .unknownCall)
        #expect(machine.callCompleted(callID: 1) == .send)
        #expect(machine.isIdle)
        machine.startClosing()
        #expect(machine.requestReceived(callID: 4, kind: .unary) == .rejectClosing)
    }

    @Test("drain ends streams at once, keeps unary calls until answered, then is drained")
    func drain() {
        var machine = ConnectionStateMachine(maxCalls: 8)
        #expect(machine.requestReceived(callID: 1, kind: .stream) == .start)
        #expect(machine.requestReceived(callID: 3, kind: .unary) == .start)
        #expect(machine.requestReceived(callID: 5, kind: .stream) == .start)
        #expect(!machine.isDrained)
        #expect(machine.drain() == [1, 5])
        #expect(!machine.isOpen(1) && machine.isOpen(3))
        #expect(!machine.isDrained)
        #expect(machine.requestReceived(callID: 7, kind: .unary) == .rejectClosing)
        #expect(machine.callCompleted(callID: 3) == .send)
        #expect(machine.isDrained)
    }
}
