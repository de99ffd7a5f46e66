#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The strings of 16 to 256 bytes that decoding on one thread made lately, so that a string it meets again (a
/// principal's ARN, a resource, a context key: what a backend's checks repeat call after call and a batch repeats
/// check after check) is the one made before: no allocation, no UTF-8 validation, no copy, and no free when the
/// message goes. Shorter strings are stored inline in `String` and cost nothing to make; longer ones are rarely
/// repeated.
///
/// A table of 128 sets of two strings, the one met last first: a string whose bytes hash to a set is returned
/// only when its bytes equal the input's byte for byte, so a collision costs a miss, never a wrong string; two
/// strings that a caller alternates between stay even when they share a set. One per thread (``current``), touched
/// only by its thread; it holds at most 256 strings of at most 256 bytes.
public final class StringInterner {
    /// Strings shorter than this are inline in `String` (15 UTF-8 bytes on 64-bit platforms) or nearly.
    public static let minimumLength = 16
    /// Longer strings (policy documents) are seldom repeated whole, and would make the table's memory grow.
    public static let maximumLength = 256
    @usableFromInline static let setBits = 7
    @usableFromInline static let slotCount = 2 << setBits

    /// A held string and where its bytes are (a native string's storage does not move while it is held), so that
    /// looking it up compares bytes without going through `String`.
    @usableFromInline struct Slot {
        @usableFromInline var string: String
        @usableFromInline var bytes: UnsafeRawPointer?
        @usableFromInline var count: Int

        /// An empty slot: it holds nothing that a lookup (of 16 bytes or more) could match.
        @inlinable static var empty: Slot { Slot(string: "", bytes: nil, count: 0) }

        @inlinable
        init(string: String, bytes: UnsafeRawPointer?, count: Int) {
            self.string = string
            self.bytes = bytes
            self.count = count
        }

        /// Holds `string`, a native string of ``StringInterner/minimumLength`` bytes or more: its storage is on
        /// the heap, where it stays while the string is held. (A short string's bytes are inline, and a pointer to
        /// them would not outlive the call.)
        @inlinable
        init(_ string: String) {
            var string = string
            self.count = string.utf8.count
            self.bytes = string.withUTF8 { UnsafeRawPointer($0.baseAddress) }
            self.string = string
        }

        @inlinable
        func holds(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
            guard self.count == utf8.count, let bytes = self.bytes else { return false }
            return Protobuf.bytesEqual(
                UnsafeBufferPointer(start: bytes.assumingMemoryBound(to: UInt8.self), count: self.count), utf8)
        }
    }

    /// Set i is slots 2i (met last) and 2i + 1.
    @usableFromInline let slots: UnsafeMutablePointer<Slot>

    /// An empty table.
    public init() {
        self.slots = .allocate(capacity: Self.slotCount)
        self.slots.initialize(repeating: .empty, count: Self.slotCount)
    }

    deinit {
        self.slots.deinitialize(count: Self.slotCount)
        self.slots.deallocate()
    }

    /// The string spelled by `utf8` (16 to 256 bytes), or nil when it is not valid UTF-8: the one made before if
    /// its set holds it, else a new one, which the set then holds first (and its other string goes).
    @inlinable
    public func string(_ utf8: UnsafeBufferPointer<UInt8>) -> String? {
        let set = self.slots + 2 &* Self.set(utf8)
        if set.pointee.holds(utf8) { return set.pointee.string }
        if (set + 1).pointee.holds(utf8) {
            swap(&set.pointee, &(set + 1).pointee)
            return set.pointee.string
        }
        guard let string = Protobuf.validatedString(utf8) else { return nil }
        (set + 1).pointee = set.pointee
        set.pointee = Slot(string)
        return string
    }

    /// The set of `utf8` (at least 16 bytes): its length and its first, middle and last eight bytes, mixed. ARNs
    /// share their first bytes and often their last; the middle tells most of them apart.
    @inlinable
    static func set(_ utf8: UnsafeBufferPointer<UInt8>) -> Int {
        let raw = UnsafeRawPointer(utf8.baseAddress!)
        let count = utf8.count
        let first = raw.loadUnaligned(as: UInt64.self)
        let middle = raw.loadUnaligned(fromByteOffset: (count &- 8) / 2, as: UInt64.self)
        let last = raw.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self)
        var hash = first ^ UInt64(truncatingIfNeeded: count)
        hash = (hash ^ middle) &* 0x9E37_79B9_7F4A_7C15
        hash = (hash ^ last) &* 0xC2B2_AE3D_27D4_EB4F
        return Int(truncatingIfNeeded: hash >> UInt64(64 - Self.setBits))
    }

    /// This thread's interner, made at its first use and freed with the thread.
    public static var current: StringInterner {
        if let existing = pthread_getspecific(stringInternerKey) {
            return Unmanaged<StringInterner>.fromOpaque(existing).takeUnretainedValue()
        }
        return makeCurrent()
    }

    static func makeCurrent() -> StringInterner {
        let interner = StringInterner()
        pthread_setspecific(stringInternerKey, Unmanaged.passRetained(interner).toOpaque())
        return interner
    }
}

/// The key of each thread's ``StringInterner``; a thread's exit releases its interner.
let stringInternerKey: pthread_key_t = {
    var key = pthread_key_t()
    let created = pthread_key_create(&key) { pointer in
        #if canImport(Darwin)
            Unmanaged<StringInterner>.fromOpaque(pointer).release()
        #else
            if let pointer { Unmanaged<StringInterner>.fromOpaque(pointer).release() }
        #endif
    }
    precondition(created == 0, "pthread_key_create failed: \(created)")
    return key
}()
