/// A dictionary split into 256 shards, so that changing one entry of a copy copies 256 references and one
/// shard instead of the whole table.
///
/// The snapshot is copied for every write; with plain dictionaries the first change to each copied table
/// would duplicate all of it (100,000 principals per write). A persistent hash trie would do better still,
/// but IAMDomain depends on IAMPolicy and Foundation only.
///
/// A key is hashed once per operation: the shard's dictionary is keyed by the key with that hash, so it
/// does not hash the key again (an ARN is five strings, and start-up looks up a million of them).
struct ShardedMap<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private static var shardCount: Int { 256 }
    private var shards: [[Hashed: Value]]

    /// The key with its hash, which the shard's dictionary hashes instead of the key.
    private struct Hashed: Hashable, Sendable {
        let key: Key
        let hash: Int

        init(_ key: Key) {
            self.key = key
            self.hash = key.hashValue
        }

        static func == (lhs: Hashed, rhs: Hashed) -> Bool { lhs.hash == rhs.hash && lhs.key == rhs.key }
        func hash(into hasher: inout Hasher) { hasher.combine(self.hash) }
    }

    init() {
        self.shards = Array(repeating: [:], count: Self.shardCount)
    }

    @inline(__always)
    private static func shard(_ key: Hashed) -> Int { Int(UInt(bitPattern: key.hash) & UInt(shardCount - 1)) }

    // `_modify` lets `map[key, default: []].insert(x)` change the stored set in place; with only get/set,
    // every such insert copied the whole value first (quadratic in a group's members or a policy's owners,
    // and a third of building a 100,000-user snapshot at start-up).
    subscript(key: Key) -> Value? {
        get {
            let hashed = Hashed(key)
            return self.shards[Self.shard(hashed)][hashed]
        }
        set {
            let hashed = Hashed(key)
            self.shards[Self.shard(hashed)][hashed] = newValue
        }
        _modify {
            let hashed = Hashed(key)
            yield &self.shards[Self.shard(hashed)][hashed]
        }
    }

    subscript(key: Key, default defaultValue: @autoclosure () -> Value) -> Value {
        get {
            let hashed = Hashed(key)
            return self.shards[Self.shard(hashed)][hashed] ?? defaultValue()
        }
        set {
            let hashed = Hashed(key)
            self.shards[Self.shard(hashed)][hashed] = newValue
        }
        _modify {
            let hashed = Hashed(key)
            yield &self.shards[Self.shard(hashed)][hashed, default: defaultValue()]
        }
    }

    @discardableResult
    mutating func removeValue(forKey key: Key) -> Value? {
        let hashed = Hashed(key)
        return self.shards[Self.shard(hashed)].removeValue(forKey: hashed)
    }

    var count: Int { self.shards.reduce(0) { $0 + $1.count } }

    var keys: [Key] { self.shards.flatMap { $0.keys.map(\.key) } }

    var values: [Value] { self.shards.flatMap(\.values) }
}
