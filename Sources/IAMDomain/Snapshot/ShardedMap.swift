/// A dictionary split into 256 shards, so that changing one entry of a copy copies 256 references and one
/// shard instead of the whole table.
///
/// The snapshot is copied for every write; with plain dictionaries the first change to each copied table
/// would duplicate all of it (100,000 principals per write). A persistent hash trie would do better still,
/// but IAMDomain depends on IAMPolicy and Foundation only.
struct ShardedMap<Key: ShardKey, Value: Sendable>: Sendable {
    private static var shardCount: Int { 256 }
    private var shards: [[Key: Value]]

    init() {
        self.shards = Array(repeating: [:], count: Self.shardCount)
    }

    @inline(__always)
    private static func shard(_ key: Key) -> Int { Int(key.shardHash & UInt(shardCount - 1)) }

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

/// A key of a ``ShardedMap``: its shard comes from ``shardHash``, which need only spread keys, not resist
/// collisions (the shard's own dictionary hashes the key again with its seeded hasher). A full `hashValue`
/// there hashed every key twice per lookup.
protocol ShardKey: Hashable, Sendable {
    var shardHash: UInt { get }
}

extension ShardKey {
    var shardHash: UInt { UInt(bitPattern: self.hashValue) }
}

extension String: ShardKey {
    /// FNV-1a over the length and the last 16 bytes: ARNs, names and ids differ at their ends. An uneven
    /// spread costs only larger shard copies on writes.
    @inline(__always)
    var shardHash: UInt {
        var text = self
        return text.withUTF8 { bytes in
            var hash: UInt64 = 0xCBF2_9CE4_8422_2325 ^ UInt64(bytes.count)
            for byte in bytes.suffix(16) { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
            return UInt(truncatingIfNeeded: hash ^ (hash >> 29) ^ (hash >> 47))
        }
    }
}

extension UniqueID: ShardKey {
    var shardHash: UInt { self.rawValue.shardHash }
}

extension AccessKeyID: ShardKey {
    var shardHash: UInt { self.rawValue.shardHash }
}

extension ARN: ShardKey {
    var shardHash: UInt { self.resource.shardHash }
}
