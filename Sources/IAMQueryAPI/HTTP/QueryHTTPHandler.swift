import Foundation
import NIOCore
import NIOHTTP1

/// One HTTP/1.1 connection of the front door: collects a request (head and a body of at most
/// ``QueryFrontDoor/maxBodySize`` bytes), hands it to the front door on the connection's event loop, writes the
/// answer, and keeps the connection alive when the client asked for it. NIOHTTP1's pipelining handler in front
/// of it holds further requests until the answer is written, so answers go out in order.
final class QueryHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case idle
        case receiving(HTTPRequestHead, ByteBuffer)
        /// The body exceeded the limit: the 413 is sent and the rest of the request is ignored.
        case discarding
        case waiting
    }

    private let frontDoor: QueryFrontDoor
    private var state = State.idle

    init(frontDoor: QueryFrontDoor) {
        self.frontDoor = frontDoor
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (self.unwrapInboundIn(data), self.state) {
        case (.head(let head), .idle):
            if let length = head.headers.first(name: "content-length").flatMap(Int.init),
                length > QueryFrontDoor.maxBodySize
            {
                self.state = .discarding
                self.tooLarge(context: context, keepAlive: false)
                return
            }
            self.state = .receiving(head, context.channel.allocator.buffer(capacity: 0))
        case (.body(var chunk), .receiving(let head, var body)):
            guard body.readableBytes + chunk.readableBytes <= QueryFrontDoor.maxBodySize else {
                self.state = .discarding
                self.tooLarge(context: context, keepAlive: false)
                return
            }
            self.state = .waiting  // drop the reference so the append does not copy
            body.writeBuffer(&chunk)
            self.state = .receiving(head, body)
        case (.end, .receiving(let head, let body)):
            self.state = .waiting
            self.serve(context: context, head: head, body: body)
        case (.end, .discarding):
            self.state = .idle
        case (.body, .discarding):
            break
        default:
            // A part out of order cannot come from NIOHTTP1's decoder; close rather than guess.
            context.close(promise: nil)
        }
    }

    private func serve(context: ChannelHandlerContext, head: HTTPRequestHead, body: ByteBuffer) {
        let request = QueryHTTPRequest(
            method: head.method.rawValue, uri: head.uri, headers: head.headers.map { ($0.name, $0.value) }, body: body,
            peer: context.channel.remoteAddress)
        let keepAlive = head.isKeepAlive
        let version = head.version
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        self.frontDoor.handle(request, on: context.eventLoop).whenComplete { result in
            let (handler, context) = loopBound.value
            let response: QueryHTTPResponse
            switch result {
            case .success(let answer): response = answer
            case .failure:
                response = QueryFrontDoor.error(
                    code: "ServiceFailure", status: 500, "The request processing has failed.",
                    UUID().uuidString.lowercased())
            }
            handler.write(context: context, response, version: version, keepAlive: keepAlive)
        }
    }

    private func write(
        context: ChannelHandlerContext, _ response: QueryHTTPResponse, version: HTTPVersion, keepAlive: Bool
    ) {
        guard context.channel.isActive else { return }
        var headers = HTTPHeaders()
        for header in response.headers { headers.add(name: header.name, value: header.value) }
        headers.add(name: "Content-Length", value: String(response.body.count))
        headers.add(name: "Date", value: QueryHTTPHandler.httpDate())
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        let head = HTTPResponseHead(
            version: version, status: HTTPResponseStatus(statusCode: response.status), headers: headers)
        context.write(self.wrapOutboundOut(.head(head)), promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: response.body.count)
        buffer.writeBytes(response.body)
        context.write(self.wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        let done = context.writeAndFlushPromise(self.wrapOutboundOut(.end(nil)))
        self.state = .idle
        if !keepAlive {
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            done.whenComplete { _ in loopBound.value.close(promise: nil) }
        }
    }

    private func tooLarge(context: ChannelHandlerContext, keepAlive: Bool) {
        let response = QueryFrontDoor.error(
            code: "RequestEntityTooLarge", status: 413,
            "Request body exceeds the limit of \(QueryFrontDoor.maxBodySize) bytes.", UUID().uuidString.lowercased())
        self.write(context: context, response, version: .http1_1, keepAlive: keepAlive)
        self.state = .discarding
    }

    /// RFC 7231's IMF-fixdate.
    static func httpDate() -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func pad(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return
            "\(days[Int(parts.tm_wday)]), \(pad(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) \(pad(parts.tm_hour)):\(pad(parts.tm_min)):\(pad(parts.tm_sec)) GMT"
    }
}

extension ChannelHandlerContext {
    fileprivate func writeAndFlushPromise(_ data: NIOAny) -> EventLoopFuture<Void> {
        let promise = self.eventLoop.makePromise(of: Void.self)
        self.writeAndFlush(data, promise: promise)
        return promise.futureResult
    }
}

#if canImport(Glibc)
    import Glibc
#endif
