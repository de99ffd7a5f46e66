/// A list request's paging input: AWS's `Marker` (opaque, 1..320 characters) and `MaxItems` (1..1000,
/// default 100). https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListUsers.html
public struct PageRequest: Hashable, Sendable {
    /// The default page size when `MaxItems` is absent.
    public static let defaultMaxItems = 100
    /// The largest page AWS serves.
    public static let maxMaxItems = 1000
    /// The longest marker the API model accepts.
    public static let maxMarkerLength = 320

    /// Where the previous page stopped, or nil for the first page.
    public var marker: Marker?
    /// How many items at most.
    public var maxItems: Int

    /// The first page of the default size.
    public static let first = PageRequest(unchecked: nil, maxItems: defaultMaxItems)

    /// Validates the wire's optional `Marker` and `MaxItems`; throws `ValidationError` (length, range) or
    /// `InvalidInput` (a marker this service did not issue).
    public init(marker: String? = nil, maxItems: Int? = nil) throws(IAMError) {
        let maxItems = maxItems ?? Self.defaultMaxItems
        guard (1...Self.maxMaxItems).contains(maxItems) else {
            throw .validation(
                field: "maxItems", value: String(maxItems),
                constraint: maxItems < 1
                    ? "have value greater than or equal to 1" : "have value less than or equal to 1000")
        }
        self.marker = try marker.map { text throws(IAMError) in try Marker(text) }
        self.maxItems = maxItems
    }

    /// A request without validation (for code that builds its own).
    public init(unchecked marker: Marker?, maxItems: Int) {
        self.marker = marker
        self.maxItems = maxItems
    }
}

/// An opaque continuation token: the sort key of the last item served, so a page continues after it even
/// when items were added or removed in between. Callers must not interpret it.
public struct Marker: Hashable, Sendable, CustomStringConvertible {
    /// The text sent to callers.
    public let rawValue: String

    private static let prefix = "m1."

    /// Parses a marker received from a caller.
    public init(_ text: String) throws(IAMError) {
        guard !text.isEmpty, text.utf8.count <= PageRequest.maxMarkerLength else {
            throw .validation(field: "marker", value: text, constraint: "have length between 1 and 320")
        }
        guard text.hasPrefix(Self.prefix), Self.decodeHex(text.dropFirst(Self.prefix.count)) != nil else {
            throw .invalidInput("Invalid Marker.")
        }
        self.rawValue = text
    }

    /// The marker that continues after the item whose sort key is `key`.
    public init(after key: String) {
        self.rawValue =
            Self.prefix
            + key.utf8.map { byte in
                let digits = Array("0123456789abcdef".utf8)
                return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 15)]], as: UTF8.self)
            }.joined()
    }

    /// The sort key the marker continues after.
    public var key: String { Self.decodeHex(self.rawValue.dropFirst(Self.prefix.count)) ?? "" }

    /// The marker text.
    public var description: String { self.rawValue }

    private static func decodeHex(_ text: Substring) -> String? {
        let bytes = Array(text.utf8)
        guard bytes.count % 2 == 0 else { return nil }
        func nibble(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
            default: nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count / 2)
        var index = 0
        while index < bytes.count {
            guard let high = nibble(bytes[index]), let low = nibble(bytes[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return String(validating: out, as: UTF8.self)
    }
}

/// One page of a list: the items, whether more follow, and the marker to ask for them.
public struct Page<Item: Sendable>: Sendable {
    /// The items of this page, in the list's order.
    public var items: [Item]
    /// Whether more items follow (AWS's `IsTruncated`).
    public var isTruncated: Bool
    /// The marker for the next page; nil when not truncated.
    public var marker: Marker?

    /// Creates a page.
    public init(items: [Item], isTruncated: Bool, marker: Marker?) {
        self.items = items
        self.isTruncated = isTruncated
        self.marker = marker
    }

    /// Pages `sorted` (already in sort order, with `key` the sort key): the items after the request's marker,
    /// at most `maxItems` of them.
    public init(sorted: [Item], key: (Item) -> String, request: PageRequest) {
        var start = sorted.startIndex
        if let after = request.marker?.key {
            start = sorted.partitionPoint { key($0) > after }
        }
        let end = start + min(sorted.endIndex - start, request.maxItems)
        let items = Array(sorted[start..<end])
        let truncated = end < sorted.endIndex
        self.init(
            items: items, isTruncated: truncated, marker: truncated ? items.last.map { Marker(after: key($0)) } : nil)
    }

    /// The page with its items transformed.
    public func map<T>(_ transform: (Item) throws -> T) rethrows -> Page<T> {
        Page<T>(items: try self.items.map(transform), isTruncated: self.isTruncated, marker: self.marker)
    }
}

extension Array {
    /// The first index whose element satisfies `predicate`, for an array partitioned by it (false...true).
    func partitionPoint(where predicate: (Element) -> Bool) -> Int {
        var low = 0
        var high = self.count
        while low < high {
            let mid = (low + high) / 2
            if predicate(self[mid]) { high = mid } else { low = mid + 1 }
        }
        return low
    }
}
