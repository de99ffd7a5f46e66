public import NIOCore

/// The payload of AUTH_CLIENT_FIRST (WIRE.md §6.2): `mechanism length u8 | mechanism | client-first
/// message`. The other three AUTH frames carry only their SCRAM text (see `SCRAM`).
public struct AuthClientFirst: Hashable, Sendable {
    /// Longest mechanism name (RFC 4422 allows 20 characters).
    public static let maxMechanismLength = 20
    /// Longest SCRAM message in any AUTH frame.
    public static let maxMessageLength = 1024

    /// The SASL mechanism, `SCRAM-SHA-256` in version 1.
    public var mechanism: String
    /// The client-first message (`n,,n=<key id>,r=<nonce>`).
    public var message: String

    /// Creates the payload.
    public init(mechanism: String = SCRAM.mechanism, message: String) {
        self.mechanism = mechanism
        self.message = message
    }

    /// Writes the payload (the caller built `message` with `SCRAM.ClientFirst`, so it is in bounds).
    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeLengthPrefixed(self.mechanism, lengthBytes: 1)
        buffer.writeString(self.message)
    }

    /// Reads the payload.
    /// - Throws: `authenticationFailed` for a bad mechanism field or message length.
    public init(decoding payload: ByteBuffer) throws(WireError) {
        var payload = payload
        let mechanism: String
        do {
            mechanism = try payload.readPayload { (payload) throws(WireError) -> String in
                try payload.readBoundedString(
                    lengthBytes: 1,
                    range: 1...Self.maxMechanismLength,
                    charset: .printableNoSpace,
                    field: "SASL mechanism"
                )
            }
        } catch {
            throw .authenticationFailed(error.message)
        }
        let message = try SCRAM.readMessage(from: payload)
        self.init(mechanism: mechanism, message: message)
    }
}

/// SCRAM-SHA-256 (RFC 5802, RFC 7677) messages as this protocol profiles them (WIRE.md §6): building
/// and strictly parsing the four texts, and the AuthMessage both sides sign. The cryptography
/// (PBKDF2, HMAC, SHA-256) is done by the caller, e.g. with `IAMTLS.Crypto`.
public enum SCRAM {
    /// The mechanism name.
    public static let mechanism = "SCRAM-SHA-256"
    /// The GS2 header: no channel binding, no authzid.
    public static let gs2Header = "n,,"
    /// base64 of the GS2 header, the `c=` value of client-final.
    public static let channelBinding = "biws"
    /// Fewest iterations a client accepts (RFC 7677's minimum).
    public static let minIterations = 4096
    /// Most iterations a client accepts (bounds the CPU a server can make it spend).
    public static let maxIterations = 1_000_000
    /// Allowed salt sizes in bytes.
    public static let saltSizeRange = 8...64
    /// Allowed access key id lengths.
    public static let accessKeyIDLengthRange = 16...128
    /// Allowed nonce lengths in characters (>= 18 random bytes, base64).
    public static let nonceLengthRange = 24...256

    /// Reads a whole AUTH payload as SCRAM text (UTF-8, 1...1024 bytes).
    public static func readMessage(from payload: ByteBuffer) throws(WireError) -> String {
        var payload = payload
        let length = payload.readableBytes
        guard (1...AuthClientFirst.maxMessageLength).contains(length) else {
            throw .authenticationFailed("SCRAM message is \(length) bytes; allowed 1...1024")
        }
        do {
            return try payload.readPayload { (payload) throws(WireError) -> String in
                try payload.readCheckedString(length: length, charset: .utf8, field: "SCRAM message")
            }
        } catch {
            throw .authenticationFailed(error.message)
        }
    }

    /// `client-first-message = "n,," "n=" key-id "," "r=" client-nonce`.
    public struct ClientFirst: Hashable, Sendable {
        /// The access key id (A-Z 0-9, 16...128 characters).
        public var accessKeyID: String
        /// The client nonce (base64 of >= 18 random bytes).
        public var nonce: String

        /// Creates the message.
        public init(accessKeyID: String, nonce: String) {
            self.accessKeyID = accessKeyID
            self.nonce = nonce
        }

        /// The message without the GS2 header (part of AuthMessage).
        public var bare: String { "n=\(self.accessKeyID),r=\(self.nonce)" }
        /// The whole message.
        public var message: String { SCRAM.gs2Header + self.bare }

        /// Parses and validates a client-first message.
        public init(parsing message: String) throws(WireError) {
            guard message.hasPrefix(SCRAM.gs2Header) else {
                throw .authenticationFailed("client-first must start with \"n,,\" (no channel binding, no authzid)")
            }
            let fields = try SCRAM.fields(message.dropFirst(SCRAM.gs2Header.count), names: ["n", "r"])
            let key = fields[0]
            guard SCRAM.accessKeyIDLengthRange.contains(key.utf8.count),
                key.utf8.allSatisfy({ ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) })
            else {
                throw .authenticationFailed("access key id must be 16...128 characters of A-Z 0-9")
            }
            try SCRAM.checkNonce(fields[1])
            self.init(accessKeyID: String(key), nonce: String(fields[1]))
        }
    }

    /// `server-first-message = "r=" client-nonce server-nonce "," "s=" base64(salt) "," "i=" iterations`.
    public struct ServerFirst: Hashable, Sendable {
        /// Client nonce followed by server nonce.
        public var nonce: String
        /// The salt.
        public var salt: [UInt8]
        /// PBKDF2 iterations.
        public var iterations: Int

        /// Creates the message.
        public init(nonce: String, salt: [UInt8], iterations: Int) {
            self.nonce = nonce
            self.salt = salt
            self.iterations = iterations
        }

        /// The whole message.
        public var message: String { "r=\(self.nonce),s=\(SCRAM.base64(self.salt)),i=\(self.iterations)" }

        /// Parses a server-first message and applies the client's limits (salt 8...64 bytes, 4096...1,000,000
        /// iterations, nonce extending `clientNonce` when given).
        public init(parsing message: String, clientNonce: String? = nil) throws(WireError) {
            let fields = try SCRAM.fields(message[...], names: ["r", "s", "i"])
            try SCRAM.checkNonce(fields[0])
            if let clientNonce {
                guard fields[0].hasPrefix(clientNonce), fields[0].utf8.count > clientNonce.utf8.count else {
                    throw .authenticationFailed("server nonce does not extend the client nonce")
                }
            }
            guard let salt = SCRAM.base64Decode(fields[1]), SCRAM.saltSizeRange.contains(salt.count) else {
                throw .authenticationFailed("salt must be base64 of 8...64 bytes")
            }
            guard fields[2].utf8.count <= 7, fields[2].utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                let iterations = Int(fields[2]), (SCRAM.minIterations...SCRAM.maxIterations).contains(iterations)
            else {
                throw .authenticationFailed("iteration count must be \(SCRAM.minIterations)...\(SCRAM.maxIterations)")
            }
            self.init(nonce: String(fields[0]), salt: salt, iterations: iterations)
        }
    }

    /// `client-final-message = "c=biws" "," "r=" nonce "," "p=" base64(ClientProof)`.
    public struct ClientFinal: Hashable, Sendable {
        /// The combined nonce from server-first.
        public var nonce: String
        /// ClientProof (32 bytes).
        public var proof: [UInt8]

        /// Creates the message.
        public init(nonce: String, proof: [UInt8]) {
            self.nonce = nonce
            self.proof = proof
        }

        /// The message without the proof (part of AuthMessage).
        public var withoutProof: String { "c=\(SCRAM.channelBinding),r=\(self.nonce)" }
        /// The whole message.
        public var message: String { "\(self.withoutProof),p=\(SCRAM.base64(self.proof))" }

        /// Parses a client-final message; `c` must be `biws` and the proof 32 bytes.
        public init(parsing message: String) throws(WireError) {
            let fields = try SCRAM.fields(message[...], names: ["c", "r", "p"])
            guard fields[0] == SCRAM.channelBinding else {
                throw .authenticationFailed("channel binding must be \"biws\" (no channel binding)")
            }
            try SCRAM.checkNonce(fields[1])
            guard let proof = SCRAM.base64Decode(fields[2]), proof.count == 32 else {
                throw .authenticationFailed("proof must be base64 of 32 bytes")
            }
            self.init(nonce: String(fields[1]), proof: proof)
        }
    }

    /// `server-final-message = "v=" base64(ServerSignature) / "e=" error`.
    public enum ServerFinal: Hashable, Sendable {
        /// Success: the server signature (32 bytes).
        case verifier([UInt8])
        /// Failure: an RFC 5802 server-error value such as `invalid-proof`.
        case error(String)

        /// The whole message.
        public var message: String {
            switch self {
            case .verifier(let signature): "v=\(SCRAM.base64(signature))"
            case .error(let value): "e=\(value)"
            }
        }

        /// Parses a server-final message.
        public init(parsing message: String) throws(WireError) {
            if message.hasPrefix("e=") {
                let value = message.dropFirst(2)
                guard !value.isEmpty, value.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7E && $0 != 0x2C }) else {
                    throw .authenticationFailed("malformed server error")
                }
                self = .error(String(value))
                return
            }
            let fields = try SCRAM.fields(message[...], names: ["v"])
            guard let signature = SCRAM.base64Decode(fields[0]), signature.count == 32 else {
                throw .authenticationFailed("server signature must be base64 of 32 bytes")
            }
            self = .verifier(signature)
        }
    }

    /// `client-first-message-bare "," server-first-message "," client-final-message-without-proof`,
    /// the text both ClientSignature and ServerSignature are computed over.
    public static func authMessage(clientFirst: ClientFirst, serverFirst: ServerFirst, clientFinal: ClientFinal)
        -> String
    {
        "\(clientFirst.bare),\(serverFirst.message),\(clientFinal.withoutProof)"
    }

    /// Splits `a=x,b=y` into values, requiring exactly these attribute names in this order.
    static func fields(_ text: Substring, names: [Character]) throws(WireError) -> [Substring] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count == names.count else {
            throw .authenticationFailed("expected attributes \(names.map(String.init).joined(separator: ",")) in order")
        }
        var values: [Substring] = []
        values.reserveCapacity(names.count)
        for (part, name) in zip(parts, names) {
            guard part.count >= 2, part.first == name, part.dropFirst().first == "=" else {
                throw .authenticationFailed("expected attribute \"\(name)=\"")
            }
            values.append(part.dropFirst(2))
        }
        return values
    }

    static func checkNonce(_ nonce: Substring) throws(WireError) {
        // RFC 5802 `printable`: 0x21-0x7E except ','.
        guard SCRAM.nonceLengthRange.contains(nonce.utf8.count),
            nonce.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7E && $0 != 0x2C })
        else {
            throw .authenticationFailed("nonce must be 24...256 printable characters without ','")
        }
    }

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Standard base64 (RFC 4648 §4) with padding.
    public static func base64(_ bytes: some Collection<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var iterator = bytes.makeIterator()
        while let b0 = iterator.next() {
            let b1 = iterator.next()
            let b2 = iterator.next()
            out.append(alphabet[Int(b0 >> 2)])
            out.append(alphabet[Int((b0 & 0x03) << 4 | (b1 ?? 0) >> 4)])
            out.append(b1.map { alphabet[Int(($0 & 0x0F) << 2 | (b2 ?? 0) >> 6)] } ?? 0x3D)
            out.append(b2.map { alphabet[Int($0 & 0x3F)] } ?? 0x3D)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes standard padded base64; nil for any other character, a bad length or bad padding.
    public static func base64Decode(_ text: some StringProtocol) -> [UInt8]? {
        let input = Array(text.utf8)
        guard input.count % 4 == 0 else { return nil }
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x41...0x5A: c - 0x41
            case 0x61...0x7A: c - 0x61 + 26
            case 0x30...0x39: c - 0x30 + 52
            case 0x2B: 62
            case 0x2F: 63
            default: nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(input.count / 4 * 3)
        var index = 0
        while index < input.count {
            let isLast = index + 4 == input.count
            let c2 = input[index + 2]
            let c3 = input[index + 3]
            guard let v0 = value(input[index]), let v1 = value(input[index + 1]) else { return nil }
            out.append(v0 << 2 | v1 >> 4)
            if c2 == 0x3D {
                // "xx==": only in the last quantum, and the unused bits must be zero (canonical form).
                guard isLast, c3 == 0x3D, v1 & 0x0F == 0 else { return nil }
                break
            }
            guard let v2 = value(c2) else { return nil }
            out.append((v1 & 0x0F) << 4 | v2 >> 2)
            if c3 == 0x3D {
                guard isLast, v2 & 0x03 == 0 else { return nil }
                break
            }
            guard let v3 = value(c3) else { return nil }
            out.append((v2 & 0x03) << 6 | v3)
            index += 4
        }
        return out
    }
}
