internal import COpenSSL

/// libcrypto primitives for the connection's authentication exchange (SCRAM-SHA-256, RFC 7677).
///
/// Inputs that come off the wire (salts, iteration counts) must be bounded by the caller first;
/// out-of-range arguments here are programming errors and trap.
public enum Crypto {
    /// SHA-256 of `bytes` (32 bytes).
    public static func sha256(_ bytes: some Collection<UInt8>) -> [UInt8] {
        withBytes(bytes) { input in
            [UInt8](unsafeUninitializedCapacity: 32) { out, count in
                precondition(iam_sha256(input.baseAddress, input.count, out.baseAddress) == 1, "SHA-256 failed")
                count = 32
            }
        }
    }

    /// HMAC-SHA-256 of `data` under `key` (RFC 2104; 32 bytes).
    public static func hmacSHA256(key: some Collection<UInt8>, data: some Collection<UInt8>) -> [UInt8] {
        withBytes(key) { key in
            withBytes(data) { data in
                [UInt8](unsafeUninitializedCapacity: 32) { out, count in
                    let ok = iam_hmac_sha256(key.baseAddress, key.count, data.baseAddress, data.count, out.baseAddress)
                    precondition(ok == 1, "HMAC-SHA-256 failed")
                    count = 32
                }
            }
        }
    }

    /// SHA-256 of `bytes` written to the first 32 bytes of `digest`, without allocating (for hashing on
    /// every request). `digest` must hold at least 32 bytes.
    public static func sha256(_ bytes: UnsafeRawBufferPointer, into digest: UnsafeMutableBufferPointer<UInt8>) {
        precondition(digest.count >= 32, "SHA-256 needs 32 bytes of output")
        precondition(iam_sha256(bytes.baseAddress, bytes.count, digest.baseAddress) == 1, "SHA-256 failed")
    }

    /// HMAC-SHA-256 of `data` under `key` written to the first 32 bytes of `mac`, without allocating.
    /// `mac` must hold at least 32 bytes.
    public static func hmacSHA256(
        key: UnsafeRawBufferPointer, data: UnsafeRawBufferPointer, into mac: UnsafeMutableBufferPointer<UInt8>
    ) {
        precondition(mac.count >= 32, "HMAC-SHA-256 needs 32 bytes of output")
        let ok = iam_hmac_sha256(key.baseAddress, key.count, data.baseAddress, data.count, mac.baseAddress)
        precondition(ok == 1, "HMAC-SHA-256 failed")
    }

    /// PBKDF2 with HMAC-SHA-256 (RFC 8018), SCRAM's `Hi()`. `iterations` must be 1...2^31-1 and
    /// `keyLength` 1...1 MiB.
    public static func pbkdf2SHA256(
        password: some Collection<UInt8>,
        salt: some Collection<UInt8>,
        iterations: Int,
        keyLength: Int
    ) -> [UInt8] {
        precondition((1...Int(Int32.max)).contains(iterations), "PBKDF2 iterations out of range: \(iterations)")
        precondition((1...(1 << 20)).contains(keyLength), "PBKDF2 key length out of range: \(keyLength)")
        return withBytes(password) { password in
            withBytes(salt) { salt in
                [UInt8](unsafeUninitializedCapacity: keyLength) { out, count in
                    let ok = iam_pbkdf2_sha256(
                        password.baseAddress,
                        password.count,
                        salt.baseAddress,
                        salt.count,
                        UInt32(iterations),
                        out.baseAddress,
                        keyLength
                    )
                    precondition(ok == 1, "PBKDF2-SHA-256 failed")
                    count = keyLength
                }
            }
        }
    }

    /// `count` bytes from OpenSSL's CSPRNG (`RAND_bytes`). `count` must be 0...1 MiB.
    public static func randomBytes(_ count: Int) -> [UInt8] {
        precondition((0...(1 << 20)).contains(count), "random byte count out of range: \(count)")
        return [UInt8](unsafeUninitializedCapacity: count) { out, written in
            precondition(iam_random_bytes(out.baseAddress, count) == 1, "RAND_bytes failed")
            written = count
        }
    }

    /// Compares two byte strings in time that depends only on their length (`CRYPTO_memcmp`), for
    /// comparing proofs and signatures. Different lengths compare unequal (lengths are not secret).
    public static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        return a.withUnsafeBytes { a in
            b.withUnsafeBytes { b in iam_memcmp_consttime(a.baseAddress, b.baseAddress, a.count) == 0 }
        }
    }

    /// Compares memory the caller already holds in time that depends only on its length (`CRYPTO_memcmp`);
    /// different lengths compare unequal.
    public static func constantTimeEquals(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        return iam_memcmp_consttime(a.baseAddress, b.baseAddress, a.count) == 0
    }

    private static func withBytes<R>(
        _ bytes: some Collection<UInt8>,
        _ body: (UnsafeRawBufferPointer) -> R
    ) -> R {
        if let result = bytes.withContiguousStorageIfAvailable({ body(UnsafeRawBufferPointer($0)) }) {
            return result
        }
        return Array(bytes).withUnsafeBytes(body)
    }
}
