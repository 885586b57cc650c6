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
}
