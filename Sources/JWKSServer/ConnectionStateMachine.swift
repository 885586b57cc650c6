/// The calls of one connection as a pure value: which call ids are open, the in-flight caps, and closing.
/// The handler feeds it events and performs what it returns.
///
/// Every call gets a token when it starts. Work that finishes later (a deferred reply, a Watch item) carries
/// its call's token, so after a CANCEL and a new call with the same id, the old call's late reply is dropped
/// instead of answering the new call.
struct ConnectionStateMachine {
    /// What kind of call an id belongs to.
    enum CallKind: Equatable {
        /// One request, one response.
        case unary
        /// A Watch stream.
        case stream
    }

    /// One open call.
    struct Call: Equatable {
        /// Its kind.
        var kind: CallKind
        /// Tells this call apart from an earlier call that used the same id.
        var token: UInt64
    }

    /// What to do with a new REQUEST.
    enum OnRequest: Equatable {
        /// Run it; its late replies must carry `token`.
        case start(token: UInt64)
        /// Answer RESOURCE_EXHAUSTED: the connection already has `maxCalls` in flight.
        case rejectOverLimit
        /// Answer RESOURCE_EXHAUSTED: the connection already has `maxStreams` Watch streams open.
        case rejectTooManyStreams
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
        /// Drop it: the call was cancelled (its CANCELLED reply was already sent), or the id now belongs to a
        /// newer call.
        case drop
    }

    /// What to do with a CANCEL.
    enum OnCancel: Equatable {
        /// Cancel the call's work and answer CANCELLED.
        case cancel(CallKind)
        /// No such call in flight: answer NOT_FOUND for that id.
        case unknownCall
    }

    /// The most calls in flight.
    let maxCalls: Int
    /// The most Watch streams open.
    let maxStreams: Int
    private(set) var calls: [UInt32: Call] = [:]
    private(set) var isClosing = false
    private var lastToken: UInt64 = 0

    init(maxCalls: Int, maxStreams: Int = .max) {
        self.maxCalls = maxCalls
        self.maxStreams = maxStreams
    }

    mutating func requestReceived(callID: UInt32, kind: CallKind) -> OnRequest {
        if let refused = admission(callID: callID, kind: kind) { return refused }
        return .start(token: open(callID: callID, kind: kind))
    }

    /// Checks a new request without opening a call for it; nil when it may start. A call answered at once never
    /// needs a slot (nothing can happen on the connection before its reply is written), so the handler opens
    /// only the calls that wait (``open(callID:kind:)``): a hit costs one table lookup, not an insert and a remove.
    func admission(callID: UInt32, kind: CallKind) -> OnRequest? {
        if callID == 0 { return .rejectReservedID }
        if calls[callID] != nil { return .duplicateID }
        if isClosing { return .rejectClosing }
        if calls.count >= maxCalls { return .rejectOverLimit }
        if kind == .stream, streamCount >= maxStreams { return .rejectTooManyStreams }
        return nil
    }

    /// Opens an admitted call (see ``admission(callID:kind:)``).
    /// - Returns: the call's token, which its reply must present.
    mutating func open(callID: UInt32, kind: CallKind) -> UInt64 {
        lastToken += 1
        calls[callID] = Call(kind: kind, token: lastToken)
        return lastToken
    }

    /// A call's reply is ready (a unary call answered now or later, or a stream ending with its status).
    mutating func callCompleted(callID: UInt32, token: UInt64) -> OnCompleted {
        guard calls[callID]?.token == token else { return .drop }
        calls[callID] = nil
        return .send
    }

    /// Whether the call with this id and token is still open (a stream's items may be sent).
    func isOpen(_ callID: UInt32, token: UInt64) -> Bool { calls[callID]?.token == token }

    /// Whether a call with this id is open, whatever its token.
    func isOpen(_ callID: UInt32) -> Bool { calls[callID] != nil }

    /// The token of the open call with this id.
    func token(of callID: UInt32) -> UInt64? { calls[callID]?.token }

    mutating func cancelReceived(callID: UInt32) -> OnCancel {
        guard let call = calls.removeValue(forKey: callID) else { return .unknownCall }
        return .cancel(call.kind)
    }

    mutating func startClosing() {
        isClosing = true
    }

    /// Starts a graceful drain: new requests are refused, unary calls in flight run to completion, and Watch
    /// streams end now.
    /// - Returns: the stream calls to end (their work cancelled, an UNAVAILABLE reply sent).
    mutating func drain() -> [UInt32] {
        isClosing = true
        let streams = calls.filter { $0.value.kind == .stream }.keys.sorted()
        for callID in streams { calls[callID] = nil }
        return streams
    }

    /// Watch streams open.
    var streamCount: Int { calls.values.count { $0.kind == .stream } }

    /// No call in flight.
    var isIdle: Bool { calls.isEmpty }

    /// Closing and nothing left in flight: the connection may say GOAWAY and close.
    var isDrained: Bool { isClosing && calls.isEmpty }
}
