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

    /// Merges `count` entries into the map, on all cores from `minimum` entries on: `entry(i)` is the i-th key
    /// and element, and `merge` folds an element into what the map holds for its key. Each shard is filled by
    /// one core, so entries of one key are merged in index order. `entry` and `merge` must only read shared
    /// state. Start-up fills the model's tables this way instead of one insert at a time on one core.
    mutating func merge<Element>(
        _ count: Int, minimum: Int = 4096, entry: (Int) -> (key: Key, element: Element),
        merge: (inout Value?, Element) -> Void
    ) {
        guard count >= minimum else {
            for index in 0..<count {
                let (key, element) = entry(index)
                merge(&self.shards[Self.shard(key)][key], element)
            }
            return
        }
        // The entries' indexes grouped by shard (a counting sort), so each core walks only its shards' entries.
        let shardOf = Parallel.map(count, minimum: minimum) { range in range.map { UInt8(Self.shard(entry($0).key)) } }
        var starts = [Int](repeating: 0, count: Self.shardCount + 1)
        for shard in shardOf { starts[Int(shard) + 1] += 1 }
        for shard in 0..<Self.shardCount { starts[shard + 1] += starts[shard] }
        var next = starts
        var order = [Int32](repeating: 0, count: count)
        for (index, shard) in shardOf.enumerated() {
            order[next[Int(shard)]] = Int32(index)
            next[Int(shard)] += 1
        }
        self.shards.withUnsafeMutableBufferPointer { shards in
            // Each core changes only the shards of its range.
            nonisolated(unsafe) let shards = shards
            _ = Parallel.map(Self.shardCount, minimum: 0) { range -> [Void] in
                for shard in range {
                    for position in starts[shard]..<starts[shard + 1] {
                        let (key, element) = entry(Int(order[position]))
                        merge(&shards[shard][key], element)
                    }
                }
                return []
            }
        }
    }

    var count: Int { self.shards.reduce(0) { $0 + $1.count } }

    var keys: [Key] { self.shards.flatMap(\.keys) }

    var values: [Value] { self.shards.flatMap(\.values) }
}

/// The usual `merge` functions of ``ShardedMap/merge(_:minimum:entry:merge:)``.
enum MapMerge {
    /// The new value replaces the old.
    static func replace<Value>(_ old: inout Value?, _ new: Value) { old = new }

    /// The element is appended to the key's list.
    static func append<Element>(_ list: inout [Element]?, _ element: Element) {
        if list == nil { list = [element] } else { list!.append(element) }
    }

    /// The element is inserted into the key's set.
    static func insert<Element>(_ set: inout Set<Element>?, _ element: Element) {
        if set == nil { set = [element] } else { set!.insert(element) }
    }
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
