internal import COpenSSL

// OpenSSL's EVP_CTRL_AEAD_* are macro aliases of macros; the values are part of OpenSSL's stable ABI
// (evp.h), so they are spelled out here rather than added to the C shim.
private let evpCtrlAEADSetIVLength: Int32 = 0x9
private let evpCtrlAEADGetTag: Int32 = 0x10
private let evpCtrlAEADSetTag: Int32 = 0x11

extension Crypto {
    /// The length of an AES-256-GCM key.
    public static let aes256GCMKeyLength = 32
    /// The nonce length used by ``aes256GCMSeal(key:plaintext:aad:)`` (96 bits, GCM's native size).
    public static let aes256GCMNonceLength = 12
    /// The authentication tag length (128 bits).
    public static let aes256GCMTagLength = 16

    /// Encrypts `plaintext` with AES-256-GCM under `key` (32 bytes) and a fresh random nonce,
    /// authenticating `aad` as well. Returns `nonce || ciphertext || tag`.
    public static func aes256GCMSeal(key: [UInt8], plaintext: [UInt8], aad: [UInt8]) -> [UInt8] {
        precondition(key.count == aes256GCMKeyLength, "AES-256-GCM needs a 32-byte key")
        precondition(plaintext.count < (1 << 20) && aad.count < (1 << 20), "AES-256-GCM input too large")
        let nonce = randomBytes(aes256GCMNonceLength)
        guard let context = EVP_CIPHER_CTX_new() else { preconditionFailure("EVP_CIPHER_CTX_new failed") }
        defer { EVP_CIPHER_CTX_free(context) }
        var ok = EVP_EncryptInit_ex(context, EVP_aes_256_gcm(), nil, nil, nil) == 1
        ok = ok && EVP_CIPHER_CTX_ctrl(context, evpCtrlAEADSetIVLength, Int32(aes256GCMNonceLength), nil) == 1
        ok = ok && EVP_EncryptInit_ex(context, nil, nil, key, nonce) == 1
        var length: Int32 = 0
        if !aad.isEmpty {
            ok = ok && EVP_EncryptUpdate(context, nil, &length, aad, Int32(aad.count)) == 1
        }
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count + 16)
        var written: Int32 = 0
        if !plaintext.isEmpty {
            ok = ok && EVP_EncryptUpdate(context, &ciphertext, &written, plaintext, Int32(plaintext.count)) == 1
        }
        var final: Int32 = 0
        ok =
            ok
            && ciphertext.withUnsafeMutableBufferPointer { buffer in
                EVP_EncryptFinal_ex(context, buffer.baseAddress! + Int(written), &final) == 1
            }
        var tag = [UInt8](repeating: 0, count: aes256GCMTagLength)
        ok = ok && EVP_CIPHER_CTX_ctrl(context, evpCtrlAEADGetTag, Int32(aes256GCMTagLength), &tag) == 1
        precondition(ok, "AES-256-GCM encryption failed")
        return nonce + ciphertext.prefix(Int(written + final)) + tag
    }

    /// Decrypts what ``aes256GCMSeal(key:plaintext:aad:)`` produced; nil when the key, the AAD or any
    /// byte of `sealed` differs (the tag does not verify) or `sealed` is too short to be a sealed box.
    public static func aes256GCMOpen(key: [UInt8], sealed: [UInt8], aad: [UInt8]) -> [UInt8]? {
        precondition(key.count == aes256GCMKeyLength, "AES-256-GCM needs a 32-byte key")
        guard sealed.count >= aes256GCMNonceLength + aes256GCMTagLength, sealed.count < (1 << 20),
            aad.count < (1 << 20)
        else { return nil }
        let nonce = Array(sealed.prefix(aes256GCMNonceLength))
        var tag = Array(sealed.suffix(aes256GCMTagLength))
        let ciphertext = Array(sealed.dropFirst(aes256GCMNonceLength).dropLast(aes256GCMTagLength))
        guard let context = EVP_CIPHER_CTX_new() else { preconditionFailure("EVP_CIPHER_CTX_new failed") }
        defer { EVP_CIPHER_CTX_free(context) }
        var ok = EVP_DecryptInit_ex(context, EVP_aes_256_gcm(), nil, nil, nil) == 1
        ok = ok && EVP_CIPHER_CTX_ctrl(context, evpCtrlAEADSetIVLength, Int32(aes256GCMNonceLength), nil) == 1
        ok = ok && EVP_DecryptInit_ex(context, nil, nil, key, nonce) == 1
        var length: Int32 = 0
        if !aad.isEmpty {
            ok = ok && EVP_DecryptUpdate(context, nil, &length, aad, Int32(aad.count)) == 1
        }
        var plaintext = [UInt8](repeating: 0, count: ciphertext.count + 16)
        var written: Int32 = 0
        if !ciphertext.isEmpty {
            ok = ok && EVP_DecryptUpdate(context, &plaintext, &written, ciphertext, Int32(ciphertext.count)) == 1
        }
        ok = ok && EVP_CIPHER_CTX_ctrl(context, evpCtrlAEADSetTag, Int32(aes256GCMTagLength), &tag) == 1
        var final: Int32 = 0
        // A tag mismatch makes the final step fail; nothing decrypted is returned then.
        ok =
            ok
            && plaintext.withUnsafeMutableBufferPointer { buffer in
                EVP_DecryptFinal_ex(context, buffer.baseAddress! + Int(written), &final) == 1
            }
        guard ok else { return nil }
        return Array(plaintext.prefix(Int(written + final)))
    }
}
