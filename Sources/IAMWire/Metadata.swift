/// Ordered ASCII key/value pairs sent with CALL_START (like HTTP headers).
///
/// Keys are case-insensitive and stored lower-cased; a key may appear more than once and order is kept.
/// What may cross the wire (WIRE.md §7): keys of 1...64 bytes from `a-z 0-9 - _ .`, values of
/// 0...4096 printable ASCII bytes (0x20...0x7E), at most 64 entries and 8 KiB in total. `Metadata`
/// itself accepts any strings; `CallStart` encoding and decoding enforce those rules.
public struct Metadata: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral, CustomStringConvertible {
    /// One key/value pair.
    public typealias Element = (key: String, value: String)

    @usableFromInline
    var storage: [Entry]

    @usableFromInline
    struct Entry: Sendable, Hashable {
        @usableFromInline var key: String
        @usableFromInline var value: String

        @inlinable
        init(key: String, value: String) {
            self.key = key
            self.value = value
        }
    }

    /// Creates empty metadata.
    @inlinable
    public init() {
        self.storage = []
    }

    /// Creates metadata from pairs, in order.
    public init(dictionaryLiteral elements: (String, String)...) {
        self.storage = elements.map { Entry(key: Self.normalize($0.0), value: $0.1) }
    }

    /// Creates metadata from pairs, in order.
    public init(_ pairs: some Sequence<(String, String)>) {
        self.storage = pairs.map { Entry(key: Self.normalize($0.0), value: $0.1) }
    }

    /// The number of pairs.
    @inlinable
    public var count: Int { self.storage.count }

    /// True when there are no pairs.
    @inlinable
    public var isEmpty: Bool { self.storage.isEmpty }

    /// Appends a pair; an existing pair with the same key is kept.
    public mutating func add(_ value: String, forKey key: String) {
        self.storage.append(Entry(key: Self.normalize(key), value: value))
    }

    /// Replaces every pair with this key by one pair, or appends it.
    public mutating func replaceOrAdd(_ value: String, forKey key: String) {
        let key = Self.normalize(key)
        if let index = self.storage.firstIndex(where: { $0.key == key }) {
            self.storage[index].value = value
            var next = index + 1
            while next < self.storage.count {
                if self.storage[next].key == key {
                    self.storage.remove(at: next)
                } else {
                    next += 1
                }
            }
        } else {
            self.storage.append(Entry(key: key, value: value))
        }
    }

    /// Removes every pair with this key; returns whether any was removed.
    @discardableResult
    public mutating func removeAll(forKey key: String) -> Bool {
        let key = Self.normalize(key)
        let before = self.storage.count
        self.storage.removeAll { $0.key == key }
        return self.storage.count != before
    }

    /// The first value for a key, or nil.
    public subscript(key: String) -> String? {
        let key = Self.normalize(key)
        return self.storage.first { $0.key == key }?.value
    }

    /// Every value for a key, in order.
    public func values(forKey key: String) -> [String] {
        let key = Self.normalize(key)
        return self.storage.filter { $0.key == key }.map(\.value)
    }

    /// Iterates the pairs in order.
    public struct Iterator: IteratorProtocol {
        @usableFromInline var base: IndexingIterator<[Entry]>

        @inlinable
        init(_ base: IndexingIterator<[Entry]>) {
            self.base = base
        }

        /// The next pair, or nil.
        @inlinable
        public mutating func next() -> Element? {
            guard let entry = self.base.next() else { return nil }
            return (entry.key, entry.value)
        }
    }

    /// Iterates the pairs in order.
    @inlinable
    public func makeIterator() -> Iterator {
        Iterator(self.storage.makeIterator())
    }

    /// `[key: value, ...]`.
    public var description: String {
        "[" + self.storage.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "]"
    }

    /// Keys are ASCII case-insensitive; lower-casing only ASCII letters keeps non-ASCII keys intact so
    /// the encoder can name and refuse them.
    static func normalize(_ key: String) -> String {
        guard key.utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) else { return key }
        return String(decoding: key.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 }, as: UTF8.self)
    }
}
