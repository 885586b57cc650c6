import JWKSWire
import NIOConcurrencyHelpers
import NIOCore

/// The calls in flight on one connection, by call id. Shared by callers (any thread) and the channel
/// handler (event loop).
final class CallRegistry: Sendable {
    enum Pending {
        case unary(CheckedContinuation<Frame, any Error>, deadline: NIODeadline, method: Method?)
        case stream(AsyncThrowingStream<Frame, any Error>.Continuation)
        /// A stream whose frames are handed over on the event loop as they are read (``JWKSKeyCache``).
        case handler(@Sendable (StreamDelivery) -> Void)
    }

    private struct State {
        var pending: [UInt32: Pending] = [:]
        var closedWith: RPCError?
    }

    private let state = NIOLockedValueBox(State())

    /// Registers a unary call; fails at once if the connection is already closed.
    func register(
        _ callID: UInt32, _ continuation: CheckedContinuation<Frame, any Error>, deadline: NIODeadline, method: Method?
    ) {
        let closed = state.withLockedValue { state -> RPCError? in
            if let error = state.closedWith { return error }
            state.pending[callID] = .unary(continuation, deadline: deadline, method: method)
            return nil
        }
        if let closed { continuation.resume(throwing: closed) }
    }

    /// Registers a stream call.
    func register(_ callID: UInt32, stream: AsyncThrowingStream<Frame, any Error>.Continuation) {
        let closed = state.withLockedValue { state -> RPCError? in
            if let error = state.closedWith { return error }
            state.pending[callID] = .stream(stream)
            return nil
        }
        if let closed { stream.finish(throwing: closed) }
    }

    /// Registers a stream call whose frames go to `handler` on the event loop, in order, as they are read.
    func register(_ callID: UInt32, handler: @escaping @Sendable (StreamDelivery) -> Void) {
        let closed = state.withLockedValue { state -> RPCError? in
            if let error = state.closedWith { return error }
            state.pending[callID] = .handler(handler)
            return nil
        }
        if let closed { handler(.ended(closed)) }
    }

    /// Delivers a frame to its call: RESPONSE ends it, MESSAGE feeds a stream.
    func deliver(_ frame: Frame) {
        let pending = state.withLockedValue { state -> Pending? in
            frame.kind == .message ? state.pending[frame.callID] : state.pending.removeValue(forKey: frame.callID)
        }
        switch pending {
        case .unary(let continuation, _, _):
            continuation.resume(returning: frame)
        case .stream(let continuation):
            if frame.kind == .message {
                continuation.yield(frame)
            } else if frame.status == .ok || frame.status == .cancelled {
                continuation.finish()
            } else {
                continuation.finish(throwing: RPCError(frame.status, frame.text))
            }
        case .handler(let handler):
            if frame.kind == .message {
                handler(.message(frame))
            } else {
                handler(.ended(frame.status == .ok ? nil : RPCError(frame.status, frame.text)))
            }
        case nil:
            break
        }
    }

    /// Ends one call with an error (deadline, cancellation); `false` when it had already ended.
    @discardableResult
    func fail(_ callID: UInt32, _ error: RPCError) -> Bool {
        let pending = state.withLockedValue { $0.pending.removeValue(forKey: callID) }
        switch pending {
        case .unary(let continuation, _, _): continuation.resume(throwing: error)
        case .stream(let continuation): continuation.finish(throwing: error)
        case .handler(let handler): handler(.ended(error))
        case nil: return false
        }
        return true
    }

    /// Fails every unary call whose deadline has passed, returning their ids and methods (to send CANCEL).
    /// One sweep per connection replaces a timer per call: NIO removes cancelled timers in linear time,
    /// which made thousands of pipelined calls quadratic.
    func expire(now: NIODeadline) -> [(UInt32, Method?)] {
        let expired = state.withLockedValue { state -> [(UInt32, CheckedContinuation<Frame, any Error>, Method?)] in
            var expired: [(UInt32, CheckedContinuation<Frame, any Error>, Method?)] = []
            for (id, call) in state.pending {
                if case .unary(let continuation, let deadline, let method) = call, deadline <= now {
                    expired.append((id, continuation, method))
                }
            }
            for (id, _, _) in expired { state.pending[id] = nil }
            return expired
        }
        for (_, continuation, _) in expired {
            continuation.resume(throwing: RPCError(.deadlineExceeded, "no reply before the call's deadline"))
        }
        return expired.map { ($0.0, $0.2) }
    }

    /// Whether any call is waiting.
    var isEmpty: Bool { state.withLockedValue { $0.pending.isEmpty } }

    /// Ends every call: the connection is gone.
    func closeAll(_ error: RPCError) {
        let pending = state.withLockedValue { state -> [Pending] in
            if state.closedWith == nil { state.closedWith = error }
            defer { state.pending.removeAll() }
            return Array(state.pending.values)
        }
        for call in pending {
            switch call {
            case .unary(let continuation, _, _): continuation.resume(throwing: error)
            case .stream(let continuation): continuation.finish(throwing: error)
            case .handler(let handler): handler(.ended(error))
            }
        }
    }
}

/// What a stream call registered with a handler receives: each MESSAGE, then one end (nil: ended OK).
enum StreamDelivery: Sendable {
    case message(Frame)
    case ended(RPCError?)
}
