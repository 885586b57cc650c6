/// The calls of one connection as a pure value: which call ids are open, the in-flight cap, and closing.
/// The handler feeds it events and performs what it returns.
struct ConnectionStateMachine {
    /// What kind of call an id belongs to.
    enum CallKind: Equatable {
        /// One request, one response.
        case unary
        /// A Watch stream.
        case stream
    }

    /// What to do with a new REQUEST.
    enum OnRequest: Equatable {
        /// Run it.
        case start
        /// Answer RESOURCE_EXHAUSTED: the connection already has `maxCalls` in flight.
        case rejectOverLimit
        /// Answer INVALID_ARGUMENT: call id 0 is for connection-level frames.
        case rejectReservedID
        /// Send GOAWAY INVALID_ARGUMENT: the id is already in flight (replies could not be told apart).
        case duplicateID
        /// Answer UNAVAILABLE: the connection is closing.
        case rejectClosing
    }

    /// What to do with a finished call's reply.
    enum OnCompleted: Equatable {
        /// Send it.
        case send
        /// Drop it: the call was cancelled (its CANCELLED reply was already sent).
        case drop
    }

    /// What to do with a CANCEL.
    enum OnCancel: Equatable {
        /// Cancel the call's work and answer CANCELLED.
        case cancel(CallKind)
        /// No such call in flight: answer NOT_FOUND for that id.
        case unknownCall
    }

    let maxCalls: Int
    private(set) var calls: [UInt32: CallKind] = [:]
    private(set) var isClosing = false

    init(maxCalls: Int) {
        self.maxCalls = maxCalls
    }

    mutating func requestReceived(callID: UInt32, kind: CallKind) -> OnRequest {
        if callID == 0 { return .rejectReservedID }
        if calls[callID] != nil { return .duplicateID }
        if isClosing { return .rejectClosing }
        if calls.count >= maxCalls { return .rejectOverLimit }
        calls[callID] = kind
        return .start
    }

    mutating func callCompleted(callID: UInt32) -> OnCompleted {
        calls.removeValue(forKey: callID) == nil ? .drop : .send
    }

    /// Whether a stream's call is still open (its items may be sent).
    func isOpen(_ callID: UInt32) -> Bool { calls[callID] != nil }

    mutating func cancelReceived(callID: UInt32) -> OnCancel {
        guard let kind = calls.removeValue(forKey: callID) else { return .unknownCall }
        return .cancel(kind)
    }

    mutating func startClosing() {
        isClosing = true
    }

    /// Starts a graceful drain: new requests are refused, unary calls in flight run to completion, and Watch
    /// streams end now.
    /// - Returns: the stream calls to end (their work cancelled, an UNAVAILABLE reply sent).
    mutating func drain() -> [UInt32] {
        isClosing = true
        let streams = calls.filter { $0.value == .stream }.keys.sorted()
        for callID in streams { calls[callID] = nil }
        return streams
    }

    /// No call in flight.
    var isIdle: Bool { calls.isEmpty }

    /// Closing and nothing left in flight: the connection may say GOAWAY and close.
    var isDrained: Bool { isClosing && calls.isEmpty }
}
