import Foundation
import JWKS
import JWKSCache
import NIOCore
import NIOHTTP1

/// The dev issuer's HTTP/1 handler: collects a request, asks the shared state for a ``DevResponse``, and
/// performs it (including the scripted faults: delays, resets, truncation, oversized bodies).
final class DevIssuerHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let issuer: DevIssuer
    private var head: HTTPRequestHead?

    init(issuer: DevIssuer) {
        self.issuer = issuer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body:
            break
        case .end:
            guard let head else { return }
            self.head = nil
            var fields: [String: String] = [:]
            for field in head.headers { fields[field.name.lowercased()] = field.value }
            let response = issuer.respond(
                method: head.method.rawValue, path: String(head.uri.prefix { $0 != "?" }), headers: fields)
            perform(response, context: context, keepAlive: head.isKeepAlive)
        }
    }

    private func perform(_ response: DevResponse, context: ChannelHandlerContext, keepAlive: Bool) {
        switch response {
        case .send(let status, let fields, let body):
            var headers = HTTPHeaders(fields)
            headers.replaceOrAdd(name: "Content-Length", value: String(body.count))
            headers.replaceOrAdd(name: "Date", value: HTTPDate.format(Int64(Date.now.timeIntervalSince1970)))
            if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
            context.write(
                wrapOutboundOut(
                    .head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: status), headers: headers))),
                promise: nil)
            if !body.isEmpty {
                context.write(
                    wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
            }
            let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
            if !keepAlive { done.assumeIsolated().whenComplete { _ in context.close(promise: nil) } }
        case .delayed(let duration, let inner):
            context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(duration)) {
                guard context.channel.isActive else { return }
                self.perform(inner, context: context, keepAlive: keepAlive)
            }
        case .reset:
            context.close(promise: nil)
        case .truncated(let fields, let body):
            var headers = HTTPHeaders(fields)
            headers.replaceOrAdd(name: "Content-Length", value: String(body.count))
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil
            )
            let half = Array(body.prefix(body.count / 2))
            context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: half)))))
                .assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        case .drip(let fields, let body, let every):
            var headers = HTTPHeaders(fields)
            headers.replaceOrAdd(name: "Content-Length", value: String(body.count))
            context.writeAndFlush(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil
            )
            drip(body[...], every: TimeAmount(every), context: context)
        case .oversized(let bytes, let announced):
            var headers = HTTPHeaders([("Content-Type", "application/json")])
            if announced {
                headers.add(name: "Content-Length", value: String(bytes))
            } else {
                headers.add(name: "Transfer-Encoding", value: "chunked")
            }
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil
            )
            writeFiller(remaining: bytes, context: context)
        }
    }

    /// Sends one byte of `rest` per `every` until the client goes away or the body is done.
    private func drip(_ rest: ArraySlice<UInt8>, every: TimeAmount, context: ChannelHandlerContext) {
        context.eventLoop.assumeIsolated().scheduleTask(in: every) {
            guard context.channel.isActive else { return }
            guard let byte = rest.first else {
                context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
                return
            }
            let chunk = context.channel.allocator.buffer(bytes: [byte])
            context.writeAndFlush(self.wrapOutboundOut(.body(.byteBuffer(chunk))), promise: nil)
            self.drip(rest.dropFirst(), every: every, context: context)
        }
    }

    /// Streams `remaining` bytes of filler in 64 KiB chunks, one chunk per flush so a client that stops
    /// reading stops the stream (the connection closes when it gives up).
    private func writeFiller(remaining: Int, context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        guard remaining > 0 else {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            return
        }
        let size = min(remaining, 65_536)
        let chunk = context.channel.allocator.buffer(repeating: UInt8(ascii: " "), count: size)
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(chunk)))).assumeIsolated().whenComplete { result in
            guard case .success = result else { return }
            self.issuer.noteFillerSent(size)
            self.writeFiller(remaining: remaining - size, context: context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
