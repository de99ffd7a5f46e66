// SHA-256 and HMAC-SHA-256 for iam_sha256 / iam_hmac_sha256, on libcrypto's SHA256_Init/Update/Final.
//
// Why not EVP: in OpenSSL 3 every EVP_Digest(EVP_sha256()) fetches the provider's implementation by name and
// allocates two contexts, and the one-shot HMAC() fetches both a MAC and a digest by name; for the short inputs
// SigV4 and SCRAM hash (one to six 64-byte blocks) that overhead is several times the hashing itself (measured: see
// tools/benchmarks/README.md, "SigV4"). The SHA256_* functions run the same assembly (SHA-NI, AVX2) on a context on
// the stack: no lookup, no lock, no allocation. They are deprecated in 3.0 in favour of EVP but still exported;
// this file alone opts in to them, so a deprecation anywhere else still warns.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "COpenSSL.h"

#include <openssl/sha.h>
#include <string.h>

int iam_sha256(const void *data, size_t len, unsigned char out[32]) {
    SHA256_CTX ctx;
    int ok = SHA256_Init(&ctx) && (len == 0 || SHA256_Update(&ctx, data, len)) && SHA256_Final(out, &ctx);
    OPENSSL_cleanse(&ctx, sizeof ctx);
    return ok;
}

// RFC 2104 with B = 64: H((K' ^ opad) || H((K' ^ ipad) || data)), K' = K zero-padded, or H(K) when longer than B.
int iam_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len, unsigned char out[32]) {
    unsigned char block[64] = {0};
    unsigned char pad[64];
    unsigned char inner[32];
    SHA256_CTX ctx;
    int ok = 1;
    if (key_len > sizeof block) {
        ok = iam_sha256(key, key_len, block);
    } else if (key_len > 0) {
        memcpy(block, key, key_len);
    }
    for (size_t i = 0; i < sizeof pad; i++) pad[i] = block[i] ^ 0x36;
    ok = ok && SHA256_Init(&ctx) && SHA256_Update(&ctx, pad, sizeof pad) && (len == 0 || SHA256_Update(&ctx, data, len)) &&
         SHA256_Final(inner, &ctx);
    for (size_t i = 0; i < sizeof pad; i++) pad[i] = block[i] ^ 0x5c;
    ok = ok && SHA256_Init(&ctx) && SHA256_Update(&ctx, pad, sizeof pad) && SHA256_Update(&ctx, inner, sizeof inner) &&
         SHA256_Final(out, &ctx);
    OPENSSL_cleanse(block, sizeof block);
    OPENSSL_cleanse(pad, sizeof pad);
    OPENSSL_cleanse(inner, sizeof inner);
    OPENSSL_cleanse(&ctx, sizeof ctx);
    return ok;
}
