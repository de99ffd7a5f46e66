public import IAMRPC
public import IAMWire

/// A List request that pages with AWS's `Marker` (the generated List requests conform).
public protocol IAMPaginatedRequest: WireMessage {
    /// Where the page starts: the previous page's `marker`, or empty for the first page.
    var marker: String { get set }
}

/// A List response that says whether more follows (the generated List responses conform).
public protocol IAMPaginatedResponse: WireMessage {
    /// Whether another page follows.
    var isTruncated: Bool { get }
    /// The next page's marker when ``isTruncated``.
    var marker: String { get }
}

/// The pages of a List call, following `Marker` while `IsTruncated`, as an `AsyncSequence`.
///
/// Made by the generated `list…Pages` methods of ``IAMClient``:
/// ```swift
/// for try await page in client.listUsersPages(ListUsersRequest()) {
///     for user in page.users { print(user.userName) }
/// }
/// ```
/// Each page is one call (retried like any read); the request's own `marker` is where the first page starts.
/// A server that answers a truncated page without a new marker ends the sequence with an INTERNAL error rather
/// than looping over the same page.
public struct IAMPaginator<Request: IAMPaginatedRequest, Response: IAMPaginatedResponse>: AsyncSequence, Sendable {
    /// Each element is one page.
    public typealias Element = Response

    let client: IAMClient
    let method: MethodDescriptor
    let request: Request
    let options: CallOptions

    /// Creates a paginator; the generated `list…Pages` methods call this.
    public init(client: IAMClient, method: MethodDescriptor, request: Request, options: CallOptions) {
        self.client = client
        self.method = method
        self.request = request
        self.options = options
    }

    /// Makes the iterator; nothing is sent until its first `next()`.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(paginator: self, request: request)
    }

    /// Fetches one page per `next()`.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let paginator: IAMPaginator
        var request: Request?

        /// The next page, or nil after the last.
        public mutating func next() async throws -> Response? {
            guard let current = request else { return nil }
            let page = try await paginator.client.call(
                paginator.method, current, as: Response.self, options: paginator.options)
            if page.isTruncated {
                guard !page.marker.isEmpty, page.marker != current.marker else {
                    request = nil
                    throw IAMClientError(
                        status: .internalError,
                        message: "\(paginator.method.method) answered a truncated page without a new marker")
                }
                var following = current
                following.marker = page.marker
                request = following
            } else {
                request = nil
            }
            return page
        }
    }
}
