/// Parsers for typed condition values. Each is total: bad or absurd text gives nil, never a trap.

/// ASCII lower-casing (policy text is Latin-1 at most; AWS folds case for ASCII names).
func asciiLowercased(_ s: String) -> String {
    var s = s
    return s.withUTF8 { bytes in
        guard let first = bytes.firstIndex(where: { $0 >= 65 && $0 <= 90 }) else { return nil }
        return String(unsafeUninitializedCapacity: bytes.count) { buffer in
            for i in 0..<first { buffer[i] = bytes[i] }
            for i in first..<bytes.count { buffer[i] = lowerByte(bytes[i]) }
            return bytes.count
        }
    } ?? s
}

/// Whether `spelled` lower-cased (ASCII) equals `lower`, which is lower-case already.
func asciiEqualFolded(_ spelled: String, _ lower: String) -> Bool {
    guard spelled.utf8.count == lower.utf8.count else { return false }
    // In place (a key lookup runs this per condition).
    return spelled.withUTF8Bytes { a in lower.withUTF8Bytes { b in asciiEqualFolded(a, b) } }
}

/// Whether `spelled` lower-cased (ASCII) equals `lower`, eight bytes at a time.
@inline(__always)
func asciiEqualFolded(_ spelled: UnsafeBufferPointer<UInt8>, _ lower: UnsafeBufferPointer<UInt8>) -> Bool {
    let n = spelled.count
    guard n == lower.count else { return false }
    guard n > 0, let pa = spelled.baseAddress, let pb = lower.baseAddress else { return true }
    let ra = UnsafeRawPointer(pa)
    let rb = UnsafeRawPointer(pb)
    var i = 0
    while i + 8 <= n {
        let a = ra.loadUnaligned(fromByteOffset: i, as: UInt64.self)
        if asciiLowercased(word: a) != rb.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
        i += 8
    }
    while i < n {
        if lowerByte(pa[i]) != pb[i] { return false }
        i += 1
    }
    return true
}

@inline(__always)
func lowerByte(_ b: UInt8) -> UInt8 { b >= 65 && b <= 90 ? b | 0x20 : b }

/// ``lowerByte(_:)`` of each of the eight bytes of `x` at once: every byte in A...Z gets its 0x20 bit; every other
/// byte, non-ASCII ones included, stays as it is.
@inline(__always)
func asciiLowercased(word x: UInt64) -> UInt64 {
    let high: UInt64 = 0x8080_8080_8080_8080
    let ones: UInt64 = 0x0101_0101_0101_0101
    // Each byte's low seven bits plus a constant below 0x80 cannot carry into the next byte; the sum's high bit
    // says whether the byte was at least 0x41 ("A"), or at least 0x5B (just past "Z").
    let low = x & ~high
    let atLeastA = low &+ (0x80 - 0x41) &* ones
    let pastZ = low &+ (0x80 - 0x5B) &* ones
    let upper = atLeastA & ~pastZ & ~x & high
    return x | (upper >> 2)
}

enum ValueParsers {
    /// Decimal numbers as AWS's Numeric operators take them: optional sign, digits, optional fraction.
    /// Longer than 64 characters or out of Double's range is refused.
    static func number(_ text: String) -> Double? {
        let utf8 = text.utf8
        guard !utf8.isEmpty, utf8.count <= 64 else { return nil }
        var digits = 0
        var dots = 0
        for (i, b) in utf8.enumerated() {
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digits += 1
            case UInt8(ascii: "."): dots += 1
            case UInt8(ascii: "-"), UInt8(ascii: "+"): if i != 0 { return nil }
            default: return nil
            }
        }
        guard digits > 0, dots <= 1, let value = Double(text), value.isFinite else { return nil }
        return value
    }

    /// A date as AWS's Date operators take it: epoch seconds (an integer, optionally with a fraction) or a
    /// W3C ISO 8601 date / date-time (`2020-01-01`, `2020-01-01T12:00Z`, `2020-01-01T12:00:00.5+02:00`).
    /// Returns seconds since 1970-01-01T00:00:00Z. Years outside 0000...9999 are refused.
    static func date(_ text: String) -> Double? {
        let b = Array(text.utf8)
        guard !b.isEmpty, b.count <= 40 else { return nil }
        if b.allSatisfy({ ($0 >= 48 && $0 <= 57) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }),
            !b.dropFirst().contains(UInt8(ascii: "-"))
        {
            // Epoch seconds; 12 digits covers year 33658, enough for any real policy.
            guard b.filter({ $0 == UInt8(ascii: ".") }).count <= 1, b.count <= 20 else { return nil }
            if !b.contains(UInt8(ascii: ".")) && b.count >= 5 && b[4] == UInt8(ascii: "-") { return nil }
            guard let v = Double(text), v.isFinite, abs(v) < 1e12 else { return nil }
            return v
        }
        var i = 0
        func digits(_ n: Int) -> Int? {
            guard i + n <= b.count else { return nil }
            var v = 0
            for k in 0..<n {
                let c = b[i + k]
                guard c >= 48 && c <= 57 else { return nil }
                v = v * 10 + Int(c - 48)
            }
            i += n
            return v
        }
        func expect(_ c: Character) -> Bool {
            guard i < b.count, b[i] == c.asciiValue! else { return false }
            i += 1
            return true
        }
        guard let year = digits(4) else { return nil }
        var month = 1
        var day = 1
        if expect("-") {
            guard let m = digits(2) else { return nil }
            month = m
            if expect("-") {
                guard let d = digits(2) else { return nil }
                day = d
            }
        }
        guard (1...12).contains(month), day >= 1, day <= daysInMonth(year: year, month: month) else { return nil }
        var seconds = Double(daysFromCivil(year: year, month: month, day: day)) * 86_400
        if i == b.count { return seconds }
        guard expect("T") || expect("t") || expect(" ") else { return nil }
        guard let hour = digits(2), expect(":"), let minute = digits(2) else { return nil }
        var second = 0.0
        if expect(":") {
            guard let s = digits(2) else { return nil }
            second = Double(s)
            if expect(".") {
                var scale = 0.1
                var any = false
                while i < b.count, b[i] >= 48 && b[i] <= 57 {
                    second += Double(b[i] - 48) * scale
                    scale /= 10
                    any = true
                    i += 1
                }
                guard any else { return nil }
            }
        }
        guard hour <= 24, minute <= 59, second < 61, hour < 24 || (minute == 0 && second == 0) else { return nil }
        seconds += Double(hour * 3600 + minute * 60) + second
        if i == b.count { return seconds }
        if expect("Z") || expect("z") { return i == b.count ? seconds : nil }
        let sign: Double
        if expect("+") {
            sign = 1
        } else if expect("-") {
            sign = -1
        } else {
            return nil
        }
        guard let oh = digits(2), oh <= 23 else { return nil }
        _ = expect(":")
        guard let om = digits(2), om <= 59, i == b.count else { return nil }
        return seconds - sign * Double(oh * 3600 + om * 60)
    }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Howard Hinnant's days_from_civil.
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// `true` / `false`, case-insensitive.
    static func bool(_ text: String) -> Bool? {
        switch asciiLowercased(text) {
        case "true": true
        case "false": false
        default: nil
        }
    }

    /// Standard base-64 (padding optional); nil for anything else.
    static func base64(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        var padding = 0
        for c in text.utf8 {
            let v: UInt32
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): v = UInt32(c - 65)
            case UInt8(ascii: "a")...UInt8(ascii: "z"): v = UInt32(c - 97 + 26)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = UInt32(c - 48 + 52)
            case UInt8(ascii: "+"): v = 62
            case UInt8(ascii: "/"): v = 63
            case UInt8(ascii: "="):
                padding += 1
                continue
            default: return nil
            }
            if padding > 0 { return nil }
            buffer = buffer << 6 | v
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
            }
        }
        guard padding <= 2, bits < 6 else { return nil }
        return out
    }
}

/// An IPv4 or IPv6 address (IPv4 kept as its own family) or a CIDR block.
struct IPBlock: Sendable, Hashable {
    var isV6: Bool
    var high: UInt64
    var low: UInt64
    var prefix: Int

    /// Parses `a.b.c.d`, `a.b.c.d/n`, IPv6 (with `::` and a trailing dotted quad) and `addr/n`.
    /// A bare address is a /32 or /128 block.
    init?(_ text: String) {
        // Parsed in place on the string's bytes, without copying them into an array first.
        var text = text
        guard let block = text.withUTF8({ IPBlock.parse($0) }) else { return nil }
        self = block
    }

    private init(isV6: Bool, high: UInt64, low: UInt64, prefix: Int) {
        self.isV6 = isV6
        self.high = high
        self.low = low
        self.prefix = prefix
    }

    static func parse(_ utf8: UnsafeBufferPointer<UInt8>) -> IPBlock? {
        guard !utf8.isEmpty, utf8.count <= 64 else { return nil }
        var addressPart = utf8[...]
        var prefix: Int?
        if let slash = utf8.firstIndex(of: UInt8(ascii: "/")) {
            addressPart = utf8[..<slash]
            let digits = utf8[(slash + 1)...]
            guard !digits.isEmpty, digits.count <= 3, digits.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
            prefix = digits.reduce(0) { $0 * 10 + Int($1 - 48) }
        }
        if let v4 = IPBlock.parseV4(addressPart) {
            let p = prefix ?? 32
            guard p <= 32 else { return nil }
            return IPBlock(isV6: false, high: 0, low: UInt64(v4), prefix: p)
        } else if let (h, l) = IPBlock.parseV6(addressPart) {
            let p = prefix ?? 128
            guard p <= 128 else { return nil }
            return IPBlock(isV6: true, high: h, low: l, prefix: p)
        } else {
            return nil
        }
    }

    static func parseV4(_ b: Slice<UnsafeBufferPointer<UInt8>>) -> UInt32? {
        var parts = 0
        var value: UInt32 = 0
        var current: UInt32 = 0
        var digits = 0
        for c in b {
            if c == UInt8(ascii: ".") {
                guard digits > 0, parts < 3 else { return nil }
                value = value << 8 | current
                parts += 1
                current = 0
                digits = 0
            } else if c >= 48 && c <= 57 {
                digits += 1
                current = current * 10 + UInt32(c - 48)
                guard digits <= 3, current <= 255 else { return nil }
            } else {
                return nil
            }
        }
        guard parts == 3, digits > 0 else { return nil }
        return value << 8 | current
    }

    static func parseV6(_ b: Slice<UnsafeBufferPointer<UInt8>>) -> (UInt64, UInt64)? {
        guard b.count >= 2 else { return nil }
        var groups: [UInt16] = []
        var gapAt: Int?
        var i = b.startIndex
        if b[i] == UInt8(ascii: ":") {
            guard b[i + 1] == UInt8(ascii: ":") else { return nil }
            gapAt = 0
            i += 2
        }
        while i < b.endIndex {
            // A trailing dotted quad (the last part: no colon after it) fills the last two groups.
            let rest = b[i...]
            if rest.contains(UInt8(ascii: ".")) && !rest.contains(UInt8(ascii: ":")) {
                guard let v4 = parseV4(rest) else { return nil }
                groups.append(UInt16(v4 >> 16))
                groups.append(UInt16(v4 & 0xFFFF))
                i = b.endIndex
                break
            }
            var value: UInt32 = 0
            var digits = 0
            while i < b.endIndex, b[i] != UInt8(ascii: ":") {
                let c = b[i]
                let d: UInt32
                switch c {
                case 48...57: d = UInt32(c - 48)
                case 97...102: d = UInt32(c - 87)
                case 65...70: d = UInt32(c - 55)
                default: return nil
                }
                value = value << 4 | d
                digits += 1
                guard digits <= 4 else { return nil }
                i += 1
            }
            guard digits > 0 else { return nil }
            groups.append(UInt16(value))
            guard groups.count <= 8 else { return nil }
            if i < b.endIndex {
                i += 1  // ':'
                if i < b.endIndex, b[i] == UInt8(ascii: ":") {
                    guard gapAt == nil else { return nil }
                    gapAt = groups.count
                    i += 1
                } else if i == b.endIndex {
                    return nil
                }
            }
        }
        if let gap = gapAt {
            guard groups.count < 8 else { return nil }
            groups.insert(contentsOf: [UInt16](repeating: 0, count: 8 - groups.count), at: gap)
        }
        guard groups.count == 8 else { return nil }
        var h: UInt64 = 0
        var l: UInt64 = 0
        for k in 0..<4 { h = h << 16 | UInt64(groups[k]) }
        for k in 4..<8 { l = l << 16 | UInt64(groups[k]) }
        return (h, l)
    }

    /// Whether `address` (a /32 or /128 block, or any block) lies inside this block. Families never mix.
    func contains(_ address: IPBlock) -> Bool {
        guard isV6 == address.isV6, address.prefix >= prefix else { return false }
        if !isV6 {
            if prefix == 0 { return true }
            let mask: UInt64 = (0xFFFF_FFFF << UInt64(32 - prefix)) & 0xFFFF_FFFF
            return (address.low & mask) == (low & mask)
        }
        if prefix == 0 { return true }
        if prefix <= 64 {
            let mask: UInt64 = prefix == 64 ? ~0 : ~(~0 >> UInt64(prefix))
            return (address.high & mask) == (high & mask)
        }
        guard address.high == high else { return false }
        let p = prefix - 64
        let mask: UInt64 = p == 64 ? ~0 : ~(~0 >> UInt64(p))
        return (address.low & mask) == (low & mask)
    }
}

extension ValueParsers {
    /// The date grammar AWS's policy parser accepts (its "legacy parsing"; the bounds are Java's, as recorded by
    /// moto's corpus): a value with `T` or `-` is an ISO 8601 date-time whose fields need only be in range (a year
    /// from -292275054 to 292278993, a one-digit hour, a `+HH` zone); any other value is a whole number of epoch
    /// seconds from 0 to 2^63-1. Some of these are no instant ``date(_:)`` can compare (year 0001 BCE,
    /// 2020-02-31): AWS saves them and they never match.
    static func awsAcceptsDate(_ text: String) -> Bool {
        let lower = asciiLowercased(text)
        func integer(_ s: Substring, _ range: ClosedRange<Int>) -> Bool {
            var digits = s
            if digits.first == "+" || digits.first == "-" { digits = digits.dropFirst() }
            guard !digits.isEmpty, digits.count <= 19, digits.allSatisfy({ $0 >= "0" && $0 <= "9" }),
                let v = Int(s.first == "+" ? s.dropFirst() : s)
            else { return false }
            return range.contains(v)
        }
        guard lower.contains("t") || lower.contains("-") else {
            return integer(Substring(lower), 0...Int.max)
        }
        let datePart: Substring
        let timePart: Substring
        if let t = lower.firstIndex(of: "t") {
            datePart = lower[..<t]
            timePart = lower[lower.index(after: t)...]
        } else {
            datePart = Substring(lower)
            timePart = ""
        }
        let negative = datePart.hasPrefix("-")
        let fields = (negative ? datePart.dropFirst() : datePart).split(
            separator: "-", omittingEmptySubsequences: false)
        guard fields.count < 4 else { return false }
        guard integer(negative ? Substring("-" + fields[0]) : fields[0], -292_275_054...292_278_993) else {
            return false
        }
        if fields.count > 1 && !integer(fields[1], 1...12) { return false }
        if fields.count > 2 && !integer(fields[2], 1...31) { return false }
        let time = timePart.split(separator: ":", omittingEmptySubsequences: false)
        if !time[0].isEmpty && !integer(time[0], 0...23) { return false }
        if time.count > 1 && !integer(time[1], 0...59) { return false }
        guard time.count > 2 else { return true }
        // Seconds with their zone: `SS[.fraction](z|+HH[:MM])`; the zone's minutes are the fourth field.
        var seconds = time[2]
        if let z = seconds.firstIndex(of: "z") {
            guard seconds[seconds.index(after: z)...].isEmpty, time.count == 3 else { return false }
            seconds = seconds[..<z]
        } else if let plus = seconds.firstIndex(of: "+") {
            let hours = seconds[seconds.index(after: plus)...]
            guard hours.count == 2, integer(hours, 0...23) else { return false }
            if time.count == 4 {
                guard time[3].count == 2, integer(time[3], 0...59) else { return false }
            } else if time.count > 4 {
                return false
            }
            seconds = seconds[..<plus]
        } else if time.count > 3 {
            return false
        }
        let whole = seconds.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard integer(whole[0], 0...59) else { return false }
        return whole.count == 1 || integer(whole[1], 0...999_999_999)
    }
}
