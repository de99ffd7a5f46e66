/// A dictionary split into 256 shards, so that changing one entry of a copy copies 256 references and one
/// shard instead of the whole table.
///
/// The snapshot is copied for every write; with plain dictionaries the first change to each copied table
/// would duplicate all of it (100,000 principals per write). A persistent hash trie would do better still,
/// but IAMDomain depends on IAMPolicy and Foundation only.
struct ShardedMap<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private static var shardCount: Int { 256 }
    private var shards: [[Key: Value]]

    init() {
        self.shards = Array(repeating: [:], count: Self.shardCount)
    }

    @inline(__always)
    private static func shard(_ key: Key) -> Int { Int(UInt(bitPattern: key.hashValue) & UInt(shardCount - 1)) }

    // `_modify` lets `map[key, default: []].insert(x)` change the stored set in place; with only get/set,
    // every such insert copied the whole value first (quadratic in a group's members or a policy's owners,
    // and a third of building a 100,000-user snapshot at start-up).
    subscript(key: Key) -> Value? {
        get { self.shards[Self.shard(key)][key] }
        set { self.shards[Self.shard(key)][key] = newValue }
        _modify { yield &self.shards[Self.shard(key)][key] }
    }

    subscript(key: Key, default defaultValue: @autoclosure () -> Value) -> Value {
        get { self.shards[Self.shard(key)][key] ?? defaultValue() }
        set { self.shards[Self.shard(key)][key] = newValue }
        _modify { yield &self.shards[Self.shard(key)][key, default: defaultValue()] }
    }

    @discardableResult
    mutating func removeValue(forKey key: Key) -> Value? {
        self.shards[Self.shard(key)].removeValue(forKey: key)
    }

    var count: Int { self.shards.reduce(0) { $0 + $1.count } }

    var keys: [Key] { self.shards.flatMap(\.keys) }

    var values: [Value] { self.shards.flatMap(\.values) }
}
