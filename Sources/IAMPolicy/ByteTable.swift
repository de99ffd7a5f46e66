/// A lookup key whose hash is computed once (when a policy is compiled or a request is built), so the hot path
/// never runs a general-purpose hasher.
struct HashedKey: Sendable, Hashable {
    /// The key text; short keys (15 bytes or fewer) live inline in the String, so most keys cost no allocation.
    let text: String
    let hash: UInt64

    /// Per-process random basis: keys come from requests, so collisions must not be predictable.
    static let basis: UInt64 = {
        var generator = SystemRandomNumberGenerator()
        return 0xCBF2_9CE4_8422_2325 ^ (generator.next() & 0x00FF_FFFF_FFFF_FF00)
    }()

    init(_ text: String) {
        var text = text
        var h = HashedKey.basis
        text.withUTF8 { bytes in
            for b in bytes {
                h ^= UInt64(b)
                h &*= 0x0000_0100_0000_01B3
            }
        }
        self.text = text
        self.hash = Self.finish(h)
    }

    /// The key of `text` ASCII-lower-cased, as ``init(_:)`` of the lower-cased text would hash it, but keeping
    /// `text` as spelled (no copy); `hasUpper` says whether the two differ, so a lookup must compare folded.
    static func folding(_ text: String) -> (key: HashedKey, hasUpper: Bool) {
        var text = text
        var h = HashedKey.basis
        var upper = false
        text.withUTF8 { bytes in
            for b in bytes {
                let isUpper = b &- 65 < 26
                upper = upper || isUpper
                h ^= UInt64(isUpper ? b | 0x20 : b)
                h &*= 0x0000_0100_0000_01B3
            }
        }
        return (HashedKey(text: text, hash: Self.finish(h)), upper)
    }

    private init(text: String, hash: UInt64) {
        self.text = text
        self.hash = hash
    }

    @inline(__always)
    private static func finish(_ hash: UInt64) -> UInt64 {
        var h = hash
        // Mix the high bits down so the low bits used for the bucket index depend on every byte.
        h ^= h >> 29
        h &*= 0xBF58_476D_1CE4_E5B9
        h ^= h >> 32
        // 0 marks an empty slot.
        return h == 0 ? 1 : h
    }
}

/// An immutable open-addressing table from byte strings to small integers (indices into the owner's arrays).
///
/// Lookups compare a precomputed hash, then the bytes; no hashing, no allocation, no reference counting of
/// the stored values.
struct ByteTable: Sendable {
    private let hashes: [UInt64]
    private let keys: [String]
    private let values: [Int32]
    private let mask: Int

    /// Builds a table; a later duplicate key replaces an earlier one.
    init(_ entries: [(HashedKey, Int32)]) {
        var capacity = 4
        while capacity < entries.count * 2 { capacity <<= 1 }
        var hashes = [UInt64](repeating: 0, count: capacity)
        var keys = [String](repeating: "", count: capacity)
        var values = [Int32](repeating: -1, count: capacity)
        let mask = capacity - 1
        for (key, value) in entries {
            var i = Int(truncatingIfNeeded: key.hash) & mask
            while hashes[i] != 0 && !(hashes[i] == key.hash && keys[i] == key.text) { i = (i + 1) & mask }
            hashes[i] = key.hash
            keys[i] = key.text
            values[i] = value
        }
        self.hashes = hashes
        self.keys = keys
        self.values = values
        self.mask = mask
    }

    /// The value stored for `key`, or -1.
    @inline(__always)
    func find(_ key: HashedKey) -> Int32 {
        hashes.withUnsafeBufferPointer { hashes in
            var i = Int(truncatingIfNeeded: key.hash) & mask
            while true {
                let h = hashes[i]
                if h == 0 { return -1 }
                if h == key.hash && keys[i] == key.text { return values[i] }
                i = (i + 1) & mask
            }
        }
    }
}
