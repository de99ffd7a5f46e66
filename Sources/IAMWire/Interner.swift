#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// What decoding on one thread made lately, so that what it meets again is the value made before: strings of 16 to
/// 256 bytes (a principal's ARN, a resource, a context key), messages of at most 256 bytes that the generator marks
/// ``WireMessage/isInternable`` (a context entry, a tag, a matched statement, a whole Authorize request or answer),
/// nested or a call's whole payload, and the consecutive values of a repeated field of such messages, whole, up to
/// ``maximumRunLength`` bytes (a check's context entries, an answer's matched statements): what a backend's checks
/// repeat call after call, and a batch check after check. A value met again costs no allocation, no UTF-8
/// validation, no copy, and no free when the message goes. Shorter strings are stored inline in `String` and cost
/// nothing to make; longer strings and messages (policy documents, list responses) are rarely repeated whole.
/// Messages with a `bytes` field are never held, as their slices would keep a whole received frame alive.
///
/// Each is a table of sets of two, the one met last first: a value whose bytes hash to a set is returned only when
/// the bytes it was decoded from equal the input's byte for byte (and, for a message, it is of the type asked for),
/// so a collision costs a miss, never a wrong value; two values that a caller alternates between stay even when
/// they share a set. One per thread (``current``), touched only by its thread; it holds at most 256 strings and 512
/// messages or runs, each of at most 256 bytes (a run: 1 KiB).
public final class Interner {
    /// Strings shorter than this are inline in `String` (15 UTF-8 bytes on 64-bit platforms) or nearly.
    public static let minimumLength = 16
    /// Longer strings (policy documents) and messages are seldom repeated whole, and would make the tables' memory
    /// grow.
    public static let maximumLength = 256
    @usableFromInline static let setBits = 7
    @usableFromInline static let slotCount = 2 << setBits
    /// 256 sets: a batch asking about 64 principals holds 64 requests besides their parts; with 64 sets, about a
    /// quarter of them lost their set to another value before they came again.
    @usableFromInline static let messageSetBits = 8
    @usableFromInline static let messageSlotCount = 2 << messageSetBits

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

        /// Holds `string`, a native string of ``Interner/minimumLength`` bytes or more: its storage is on
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

    /// A held message or run, and the bytes it was decoded from (which its lookups compare).
    @usableFromInline class HeldMessage {
        @usableFromInline let type: ObjectIdentifier
        @usableFromInline let bytes: UnsafeMutableRawBufferPointer

        @inlinable
        init(type: ObjectIdentifier, bytes: UnsafeRawBufferPointer) {
            self.type = type
            self.bytes = .allocate(byteCount: bytes.count, alignment: 8)
            self.bytes.copyMemory(from: bytes)
        }

        deinit { self.bytes.deallocate() }

        @inlinable
        final func holds(_ type: ObjectIdentifier, _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
            self.type == type && self.bytes.count == bytes.count
                && Protobuf.bytesEqual(UnsafeBufferPointer(self.bytes.assumingMemoryBound(to: UInt8.self)), bytes)
        }
    }

    /// A held value of type `Value`: a message, or a run of a repeated field's messages as an array (their types
    /// differ, so a run is never given for one message, nor a message of one type for another).
    @usableFromInline final class Held<Value>: HeldMessage {
        @usableFromInline let value: Value

        @inlinable
        init(_ value: Value, bytes: UnsafeRawBufferPointer) {
            self.value = value
            super.init(type: ObjectIdentifier(Value.self), bytes: bytes)
        }
    }

    /// The longest run of a repeated field's values held whole: a check's context entries are a few dozen bytes
    /// each, and a run held keeps a copy of its bytes.
    public static let maximumRunLength = 1024

    /// Set i is slots 2i (met last) and 2i + 1.
    @usableFromInline let slots: UnsafeMutablePointer<Slot>
    /// Likewise for messages.
    @usableFromInline let messages: UnsafeMutablePointer<HeldMessage?>

    /// Empty tables.
    public init() {
        self.slots = .allocate(capacity: Self.slotCount)
        self.slots.initialize(repeating: .empty, count: Self.slotCount)
        self.messages = .allocate(capacity: Self.messageSlotCount)
        self.messages.initialize(repeating: nil, count: Self.messageSlotCount)
    }

    deinit {
        self.slots.deinitialize(count: Self.slotCount)
        self.slots.deallocate()
        self.messages.deinitialize(count: Self.messageSlotCount)
        self.messages.deallocate()
    }

    /// The string spelled by `utf8` (16 to 256 bytes), or nil when it is not valid UTF-8: the one made before if
    /// its set holds it, else a new one, which the set then holds first (and its other string goes).
    @inlinable
    public func string(_ utf8: UnsafeBufferPointer<UInt8>) -> String? {
        let set = self.slots + 2 &* Self.set(utf8)
        if let held = Self.find(in: set, { $0.holds(utf8) }) { return held.string }
        guard let string = Protobuf.validatedString(utf8) else { return nil }
        Self.put(Slot(string), in: set)
        return string
    }

    /// The value of type `Value` decoded from `bytes`, if a set holds it: a message of at most
    /// ``maximumLength`` bytes, or a run of messages (`[M]`) of at most ``maximumRunLength`` (the first value's length
    /// prefix to the end of the last value, the field keys between them included).
    @inlinable
    public func value<Value>(_: Value.Type, _ bytes: UnsafeBufferPointer<UInt8>) -> Value? {
        let type = ObjectIdentifier(Value.self)
        let set = self.messages + 2 &* Self.messageSet(type, bytes)
        guard let held = Self.find(in: set, { $0?.holds(type, bytes) == true }) ?? nil else { return nil }
        return unsafeDowncast(held, to: Held<Value>.self).value
    }

    /// Holds `value`, decoded from `bytes`, first in its set (the set's other value goes).
    @inlinable
    public func hold<Value>(_ value: Value, decodedFrom bytes: UnsafeBufferPointer<UInt8>) {
        let set = self.messages + 2 &* Self.messageSet(ObjectIdentifier(Value.self), bytes)
        Self.put(Held(value, bytes: UnsafeRawBufferPointer(bytes)), in: set)
    }

    /// The entry of the set of two at `set` that `matches`, moved first; nil when neither does.
    @inlinable @inline(__always)
    static func find<Entry>(in set: UnsafeMutablePointer<Entry>, _ matches: (Entry) -> Bool) -> Entry? {
        if matches(set.pointee) { return set.pointee }
        guard matches((set + 1).pointee) else { return nil }
        swap(&set.pointee, &(set + 1).pointee)
        return set.pointee
    }

    /// Puts `entry` first in the set of two at `set`; the one met longest ago goes.
    @inlinable @inline(__always)
    static func put<Entry>(_ entry: Entry, in set: UnsafeMutablePointer<Entry>) {
        (set + 1).pointee = set.pointee
        set.pointee = entry
    }

    /// The set of `utf8` (at least 16 bytes) among the strings.
    @inlinable
    static func set(_ utf8: UnsafeBufferPointer<UInt8>) -> Int {
        Int(truncatingIfNeeded: Self.hash(utf8, seed: 0) >> UInt64(64 - Self.setBits))
    }

    /// The set of a message of `type` encoded as `bytes`, among the messages.
    @inlinable
    static func messageSet(_ type: ObjectIdentifier, _ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        let seed = UInt64(UInt(bitPattern: type))
        return Int(truncatingIfNeeded: Self.hash(bytes, seed: seed) >> UInt64(64 - Self.messageSetBits))
    }

    /// All of `bytes`, eight at a time, and their length, mixed. (Sampling a few words cost a set to every ARN
    /// that differs from another only where no sample falls: ten requests of one batch, for one.)
    @inlinable
    public static func hash(_ bytes: UnsafeBufferPointer<UInt8>, seed: UInt64 = 0) -> UInt64 {
        let count = bytes.count
        var hash = seed ^ UInt64(truncatingIfNeeded: count) &* 0x9E37_79B9_7F4A_7C15
        guard let base = bytes.baseAddress else { return hash }
        let raw = UnsafeRawPointer(base)
        if count < 8 {
            var word: UInt64 = 0
            for index in 0..<count { word |= UInt64(base[index]) << UInt64(index &* 8) }
            hash = (hash ^ word) &* 0xC2B2_AE3D_27D4_EB4F
        } else {
            var offset = 0
            while offset &+ 8 < count {
                hash = (hash ^ raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) &* 0xC2B2_AE3D_27D4_EB4F
                offset &+= 8
            }
            // The last eight bytes, overlapping the word before when the length is not a multiple of eight.
            hash = (hash ^ raw.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self)) &* 0xC2B2_AE3D_27D4_EB4F
        }
        return (hash ^ hash >> 32) &* 0x9E37_79B9_7F4A_7C15
    }

    /// This thread's interner, made at its first use and freed with the thread.
    public static var current: Interner {
        if let existing = pthread_getspecific(internerKey) {
            return Unmanaged<Interner>.fromOpaque(existing).takeUnretainedValue()
        }
        return makeCurrent()
    }

    static func makeCurrent() -> Interner {
        let interner = Interner()
        pthread_setspecific(internerKey, Unmanaged.passRetained(interner).toOpaque())
        return interner
    }
}

/// The key of each thread's ``Interner``; a thread's exit releases its interner.
let internerKey: pthread_key_t = {
    var key = pthread_key_t()
    let created = pthread_key_create(&key) { pointer in
        #if canImport(Darwin)
            Unmanaged<Interner>.fromOpaque(pointer).release()
        #else
            if let pointer { Unmanaged<Interner>.fromOpaque(pointer).release() }
        #endif
    }
    precondition(created == 0, "pthread_key_create failed: \(created)")
    return key
}()
