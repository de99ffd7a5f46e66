/// Byte-level glob and ARN matching, shared by actions, resources and conditions.
///
/// Patterns are UTF-8 bytes in which two bytes that never occur in valid UTF-8 stand for the wildcards, so a
/// resolved pattern (policy variables substituted) fits in one small stack buffer and literal `*` / `?` (from
/// `${*}`, `${?}` or a variable's value) stay distinct from wildcards.
enum Glob {
    /// `*`: any run of bytes, including none.
    static let star: UInt8 = 0xFE
    /// `?`: exactly one character.
    static let question: UInt8 = 0xFF
    static let colon = UInt8(ascii: ":")

    /// Encodes pattern text: `*` and `?` become wildcards when `wildcards`, other bytes are literal.
    static func encode(_ text: some Sequence<UInt8>, wildcards: Bool, lowercase: Bool) -> [UInt8] {
        text.map { b in
            if wildcards && b == UInt8(ascii: "*") { return star }
            if wildcards && b == UInt8(ascii: "?") { return question }
            return lowercase ? lowerByte(b) : b
        }
    }

    static func hasWildcard(_ pattern: [UInt8]) -> Bool {
        pattern.contains(star) || pattern.contains(question)
    }

    /// Whole-string glob match; iterative with one backtrack point, so O(pattern x text) at worst.
    static func match(_ p: UnsafeBufferPointer<UInt8>, _ t: UnsafeBufferPointer<UInt8>) -> Bool {
        var pi = 0
        var ti = 0
        var starP = -1
        var starT = 0
        while ti < t.count {
            if pi < p.count {
                let c = p[pi]
                if c == question {
                    pi += 1
                    ti += 1
                    // One character, not one byte: skip UTF-8 continuation bytes.
                    while ti < t.count && t[ti] & 0xC0 == 0x80 { ti += 1 }
                    continue
                }
                if c == star {
                    // A trailing star matches whatever is left: most patterns end in one (`s3:Get*`, `.../*`, `*`).
                    if pi == p.count - 1 { return true }
                    starP = pi
                    starT = ti
                    pi += 1
                    continue
                }
                if c == t[ti] {
                    pi += 1
                    ti += 1
                    continue
                }
            }
            if starP >= 0 {
                pi = starP + 1
                starT += 1
                // The star can only end where the byte after it occurs: skip straight there (`*aws-cli*`).
                if pi < p.count, p[pi] != star, p[pi] != question {
                    let next = p[pi]
                    while starT < t.count && t[starT] != next { starT += 1 }
                }
                ti = starT
                continue
            }
            return false
        }
        while pi < p.count && p[pi] == star { pi += 1 }
        return pi == p.count
    }

    /// Positions of the first five colons, or nil when there are fewer.
    @inline(__always)
    static func colons(_ b: UnsafeBufferPointer<UInt8>) -> (Int, Int, Int, Int, Int)? {
        var found = (0, 0, 0, 0, 0)
        var n = 0
        var i = 0
        while i < b.count && n < 5 {
            if b[i] == colon {
                switch n {
                case 0: found.0 = i
                case 1: found.1 = i
                case 2: found.2 = i
                case 3: found.3 = i
                default: found.4 = i
                }
                n += 1
            }
            i += 1
        }
        return n == 5 ? found : nil
    }

    @inline(__always)
    static func slice(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(rebasing: b[from..<to])
    }

    /// ARN matching as IAM does it: the first five colon-separated segments (`arn`, partition, service, region,
    /// account) are matched one by one, so a wildcard there never crosses a colon; the resource part (everything
    /// after the fifth colon) is matched as a whole, so a `*` in it spans `/` and `:`. A pattern of fewer than six
    /// segments whose last character is `*` (`arn:aws:sqs:us-west-*`, `arn:aws:sqs:*`) matches its segments one by
    /// one and its last segment against the rest of the ARN: "if the `*` wildcard is the last character of a
    /// resource ARN segment, it can expand to match beyond the colon boundaries" (IAM User Guide, Resource element).
    /// A pattern and text that are both not ARN-shaped are matched as a plain glob.
    static func arnMatch(_ p: UnsafeBufferPointer<UInt8>, _ t: UnsafeBufferPointer<UInt8>) -> Bool {
        arnMatch(p, colons(p), t, colons(t))
    }

    /// ``arnMatch(_:_:)`` with the colon positions already known (computed once per pattern and per request).
    @inline(__always)
    static func arnMatch(
        _ p: UnsafeBufferPointer<UInt8>,
        _ pColons: (Int, Int, Int, Int, Int)?,
        _ t: UnsafeBufferPointer<UInt8>,
        _ tColons: (Int, Int, Int, Int, Int)?
    ) -> Bool {
        guard let pc = pColons else {
            guard tColons != nil else { return match(p, t) }
            return shortMatch(p, t)
        }
        guard let tc = tColons else { return false }
        return segment(slice(p, 0, pc.0), slice(t, 0, tc.0))
            && segment(slice(p, pc.0 + 1, pc.1), slice(t, tc.0 + 1, tc.1))
            && segment(slice(p, pc.1 + 1, pc.2), slice(t, tc.1 + 1, tc.2))
            && segment(slice(p, pc.2 + 1, pc.3), slice(t, tc.2 + 1, tc.3))
            && segment(slice(p, pc.3 + 1, pc.4), slice(t, tc.3 + 1, tc.4))
            && segment(slice(p, pc.4 + 1, p.count), slice(t, tc.4 + 1, t.count))
    }

    /// A pattern of fewer than six segments against an ARN: only one that ends in `*` can match, its last segment
    /// spanning the ARN's remaining segments (a pattern of stars alone matches any ARN).
    static func shortMatch(_ p: UnsafeBufferPointer<UInt8>, _ t: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let last = p.last, last == star else { return false }
        var pStart = 0
        var tStart = 0
        while let pColon = p[pStart...].firstIndex(of: colon) {
            guard let tColon = t[tStart...].firstIndex(of: colon),
                segment(slice(p, pStart, pColon), slice(t, tStart, tColon))
            else { return false }
            (pStart, tStart) = (pColon + 1, tColon + 1)
        }
        return match(slice(p, pStart, p.count), slice(t, tStart, t.count))
    }

    /// One segment: `*` alone matches anything, otherwise a glob.
    @inline(__always)
    static func segment(_ p: UnsafeBufferPointer<UInt8>, _ t: UnsafeBufferPointer<UInt8>) -> Bool {
        if p.count == 1 && p[0] == star { return true }
        return match(p, t)
    }
}

/// A pattern or value from a policy, with its `${...}` policy variables located once at compile time.
final class Template: Sendable {
    /// The number of colons outside `${...}` variables, up to five, and the byte offset just after the fifth
    /// (the text's length when there are fewer): where an ARN's resource part starts.
    static func fifthColon(_ text: String) -> (colons: Int, offset: Int) {
        let bytes = Array(text.utf8)
        var colons = 0
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "$"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "{"),
                let close = bytes[(i + 2)...].firstIndex(of: UInt8(ascii: "}"))
            {
                i = close + 1
                continue
            }
            if bytes[i] == Glob.colon {
                colons += 1
                if colons == 5 { return (5, i + 1) }
            }
            i += 1
        }
        return (colons, bytes.count)
    }

    /// The byte offset of the first `${...}` variable (not `${*}`, `${?}`, `${$}`), if any.
    static func firstVariable(_ text: String) -> Int? {
        let bytes = Array(text.utf8)
        var i = 0
        while i + 1 < bytes.count {
            if bytes[i] == UInt8(ascii: "$"), bytes[i + 1] == UInt8(ascii: "{"),
                let close = bytes[(i + 2)...].firstIndex(of: UInt8(ascii: "}"))
            {
                if close - (i + 2) != 1
                    || ![UInt8(ascii: "*"), UInt8(ascii: "?"), UInt8(ascii: "$")].contains(bytes[i + 2])
                {
                    return i
                }
                i = close + 1
                continue
            }
            i += 1
        }
        return nil
    }

    enum Piece: Sendable {
        /// Encoded bytes (wildcards already mapped).
        case literal([UInt8])
        /// A context key (lower-cased for lookup) with its spelling in the policy and an optional default.
        case variable(key: HashedKey, spelling: String, defaultValue: [UInt8]?)
    }

    /// The fully encoded pattern when there are no variables (the common case: no resolution per request).
    let constant: [UInt8]?
    let pieces: [Piece]
    /// Literal bytes every match starts with (see ``cannotMatch(_:)``).
    let prefix: [UInt8]
    /// Colon positions of `constant` (nil when it has fewer than five colons or is not constant).
    let constantColons: (Int, Int, Int, Int, Int)?
    /// `constant`'s literal prefix holds all five colons: once ``cannotMatch(_:)`` is false, partition, service,
    /// region and account are equal and only the rest of the resource part is left to match.
    let headIsLiteral: Bool
    let literalCount: Int

    /// Compiles `text`. `variables` says whether `${...}` is substituted (Version 2012-10-17 and an operator
    /// that takes variables); `wildcards` whether `*`/`?` are wildcards; `lowercase` folds ASCII case.
    ///
    /// `variablesFrom` is the byte offset where substitution starts: a resource ARN's variables count only after
    /// its fifth colon ("You can't use a variable to replace parts of the ARN before the fifth colon"), so one
    /// written earlier stays literal text.
    init(_ text: String, variables: Bool, wildcards: Bool, lowercase: Bool, variablesFrom: Int = 0) {
        var pieces: [Piece] = []
        let bytes = Array(text.utf8)
        var literal: [UInt8] = []
        var i = 0
        while i < bytes.count {
            if variables, i >= variablesFrom, bytes[i] == UInt8(ascii: "$"), i + 1 < bytes.count,
                bytes[i + 1] == UInt8(ascii: "{"),
                let close = bytes[(i + 2)...].firstIndex(of: UInt8(ascii: "}"))
            {
                let inner = bytes[(i + 2)..<close]
                i = close + 1
                // ${*}, ${?} and ${$} stand for the literal character, never a wildcard.
                if inner.count == 1, let c = inner.first,
                    c == UInt8(ascii: "*") || c == UInt8(ascii: "?") || c == UInt8(ascii: "$")
                {
                    literal.append(c)
                    continue
                }
                if !literal.isEmpty {
                    pieces.append(.literal(literal))
                    literal = []
                }
                pieces.append(Template.variable(inner, lowercase: lowercase))
                continue
            }
            let b = bytes[i]
            if wildcards && b == UInt8(ascii: "*") {
                literal.append(Glob.star)
            } else if wildcards && b == UInt8(ascii: "?") {
                literal.append(Glob.question)
            } else {
                literal.append(lowercase ? lowerByte(b) : b)
            }
            i += 1
        }
        if !literal.isEmpty { pieces.append(.literal(literal)) }
        self.pieces = pieces
        var count = 0
        var hasVariable = false
        for piece in pieces {
            switch piece {
            case .literal(let l): count += l.count
            case .variable: hasVariable = true
            }
        }
        literalCount = count
        if hasVariable {
            constant = nil
        } else if case .literal(let l)? = pieces.first {
            constant = l
        } else {
            constant = []
        }
        constantColons = constant?.withUnsafeBufferPointer { Glob.colons($0) }
        // The literal start of the pattern, up to its first wildcard or variable.
        var literalPrefix: [UInt8] = []
        if case .literal(let l)? = pieces.first {
            literalPrefix = Array(l.prefix { $0 != Glob.star && $0 != Glob.question })
        }
        prefix = literalPrefix
        if let colons = constantColons {
            headIsLiteral = literalPrefix.count > colons.4
        } else {
            headIsLiteral = false
        }
    }

    /// `key` or `key, 'default'` (spaces around the comma allowed).
    static func variable(_ inner: ArraySlice<UInt8>, lowercase: Bool) -> Piece {
        var keyPart = inner
        var defaultValue: [UInt8]?
        if let comma = inner.firstIndex(of: UInt8(ascii: ",")) {
            keyPart = inner[..<comma]
            var rest = inner[(comma + 1)...]
            while rest.first == UInt8(ascii: " ") { rest = rest.dropFirst() }
            while rest.last == UInt8(ascii: " ") { rest = rest.dropLast() }
            if rest.count >= 2, rest.first == UInt8(ascii: "'"), rest.last == UInt8(ascii: "'") {
                let value = rest.dropFirst().dropLast()
                // A default is text, not a pattern.
                defaultValue = value.map { lowercase ? lowerByte($0) : $0 }
            }
        }
        while keyPart.first == UInt8(ascii: " ") { keyPart = keyPart.dropFirst() }
        while keyPart.last == UInt8(ascii: " ") { keyPart = keyPart.dropLast() }
        let spelling = String(decoding: keyPart, as: UTF8.self)
        return .variable(key: HashedKey(asciiLowercased(spelling)), spelling: spelling, defaultValue: defaultValue)
    }

    /// True when the text certainly does not match: every text an ARN or plain glob match accepts starts with
    /// the pattern's literal prefix (segments before the first wildcard match byte for byte, colons included).
    @inline(__always)
    func cannotMatch(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        prefix.withUnsafeBufferPointer { p in
            guard p.count <= text.count else { return true }
            return !bytesEqual(p, UnsafeBufferPointer(rebasing: text[0..<p.count]))
        }
    }

    /// Appends the keys of the variables without a default, which a context must give a single value.
    func appendVariableKeys(to keys: inout [ContextKeyUse]) {
        for piece in pieces {
            if case .variable(let key, let spelling, let defaultValue) = piece, defaultValue == nil {
                keys.append(ContextKeyUse(key: key, spelling: spelling, isVariable: true))
            }
        }
    }

    /// ARN match of this pattern against `text` whose colon positions are known; call it only when
    /// ``cannotMatch(_:)`` is false (the literal prefix is already compared).
    @inline(__always)
    func arnMatches(
        _ text: UnsafeBufferPointer<UInt8>,
        colons textColons: (Int, Int, Int, Int, Int)?,
        _ context: RequestContext
    ) -> Bool {
        if let constant {
            return constant.withUnsafeBufferPointer { p in
                if headIsLiteral {
                    // A glob over the resource part matches L + R against L + T exactly when R matches T.
                    let skip = prefix.count
                    return Glob.match(Glob.slice(p, skip, p.count), Glob.slice(text, skip, text.count))
                }
                return Glob.arnMatch(p, constantColons, text, textColons)
            }
        }
        return resolveSlow(context, lowercase: false) { Glob.arnMatch($0, Glob.colons($0), text, textColons) }
    }

    /// Runs `body` with the pattern resolved against `context`; returns false without calling `body` when a
    /// variable has no value and no default (such a pattern matches nothing). Uses a stack buffer.
    @inline(__always)
    func withResolved(
        _ context: RequestContext,
        lowercase: Bool,
        _ body: (UnsafeBufferPointer<UInt8>) -> Bool
    ) -> Bool {
        if let constant {
            return constant.withUnsafeBufferPointer { body($0) }
        }
        return resolveSlow(context, lowercase: lowercase, body)
    }

    private func resolveSlow(
        _ context: RequestContext,
        lowercase: Bool,
        _ body: (UnsafeBufferPointer<UInt8>) -> Bool
    ) -> Bool {
        var total = literalCount
        for piece in pieces {
            guard case .variable(let key, _, let defaultValue) = piece else { continue }
            if let value = context.singleValue(key) {
                total += value.text.utf8.count
            } else if let defaultValue {
                total += defaultValue.count
            } else {
                return false
            }
        }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(total, 1)) { buffer in
            var n = 0
            for piece in pieces {
                switch piece {
                case .literal(let l):
                    for b in l {
                        buffer[n] = b
                        n += 1
                    }
                case .variable(let key, _, let defaultValue):
                    // Substituted text is literal: a `*` in a tag value is not a wildcard.
                    if let value = context.singleValue(key) {
                        let copy = { (bytes: UnsafeBufferPointer<UInt8>) in
                            for b in bytes {
                                buffer[n] = b
                                n += 1
                            }
                        }
                        if lowercase { value.withLowerBytes(copy) } else { value.withBytes(copy) }
                    } else if let defaultValue {
                        for b in defaultValue {
                            buffer[n] = b
                            n += 1
                        }
                    }
                }
            }
            return body(UnsafeBufferPointer(rebasing: buffer[0..<n]))
        }
    }
}
