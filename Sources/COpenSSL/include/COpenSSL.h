// COpenSSL: the one C shim between swift-iam and system OpenSSL 3 (libssl + libcrypto).
//
// Swift cannot import function-like macros (SSL_CTX_set_min_proto_version, BIO_set_mem_eof_return,
// ERR_GET_REASON, ...) nor macro constants built from casts (SSL_OP_*), so every one IAMTLS needs
// is wrapped here as a prefixed `iam_` function. Policy decisions that are easier to read in C
// (cipher lists, ALPN selection, peer-name verification) live in shims.c as well, so IAMTLS
// only sequences calls.
#ifndef IAM_COPENSSL_H
#define IAM_COPENSSL_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

// MARK: Constants Swift cannot import (they are casts or expressions in the OpenSSL headers).
static const int IAM_TLS1_2_VERSION = TLS1_2_VERSION;
static const int IAM_TLS1_3_VERSION = TLS1_3_VERSION;

// MARK: SSL_CTX setup

/// Applies swift-iam's fixed context policy: TLS 1.3 preferred; `min_version` (TLS1_2_VERSION or
/// TLS1_3_VERSION) as the floor; no compression, renegotiation or session tickets; server cipher
/// preference; ECDHE-only AEAD suites for TLS 1.2. Returns 1 on success, 0 on failure (error queue set).
int iam_SSL_CTX_configure(SSL_CTX *ctx, int min_version, const char *tls12_ciphers, const char *tls13_suites);

int iam_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version);
int iam_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version);

/// Loads client-CA names from `ca_file` into the CertificateRequest a server sends (mTLS).
int iam_SSL_CTX_set_client_CA_file(SSL_CTX *ctx, const char *ca_file);

/// Opaque server-side ALPN preference list; freed with iam_alpn_free after the SSL_CTX is freed.
typedef struct iam_alpn_list iam_alpn_list;

/// Installs a server ALPN selection callback that picks the first protocol of `wire` (ALPN wire
/// format: length-prefixed names, in server preference order) that the client also offers, and
/// aborts the handshake with a no_application_protocol alert when the client offers ALPN but none
/// matches. Returns the list the callback reads (caller keeps it alive as long as `ctx`), or NULL.
iam_alpn_list *iam_SSL_CTX_set_alpn_server(SSL_CTX *ctx, const unsigned char *wire, unsigned int wire_len);
void iam_alpn_free(iam_alpn_list *list);

// MARK: per-connection SSL

/// Attaches two fresh byte-queue BIOs (read: bytes from the network, write: bytes for the network).
/// A queue allocates when bytes arrive and frees its storage when the last byte is read, so an idle
/// connection holds no BIO buffer; an empty read queue signals "retry" so SSL_read reports WANT_READ
/// rather than EOF. Returns 1 on success. The SSL owns both BIOs; *rbio / *wbio are borrowed.
int iam_SSL_attach_memory_bios(SSL *ssl, BIO **rbio, BIO **wbio);

/// Client side: sets the expected peer name. An IP literal (v4 or v6) is matched against the
/// certificate's IP SANs and sends no SNI (RFC 6066 forbids it); a DNS name is matched against
/// DNS SANs (no partial wildcards) and is also sent as SNI. Returns 1 on success.
int iam_SSL_set_expected_peer_name(SSL *ssl, const char *name);

/// Number of bytes waiting in a BIO.
size_t iam_BIO_pending(BIO *bio);

/// The bytes a byte-queue BIO from iam_SSL_attach_memory_bios holds allocated (0 for NULL, and 0
/// whenever it is empty).
size_t iam_BIO_retained(BIO *bio);

/// SSL_get0_alpn_selected as a pointer + length pair (NULL/0 when none was negotiated).
const unsigned char *iam_SSL_get0_alpn_selected(const SSL *ssl, unsigned int *len);

/// Writes the one-line subject of the peer's certificate into `buf` (NUL-terminated); 0 when the
/// peer sent none.
int iam_SSL_peer_subject(const SSL *ssl, char *buf, int buf_len);

/// SSL_get_shutdown flags: bit 1 = we sent close_notify, bit 2 = we received theirs.
int iam_SSL_sent_shutdown(const SSL *ssl);
int iam_SSL_received_shutdown(const SSL *ssl);

// MARK: error queue

int iam_ERR_GET_LIB(unsigned long e);
int iam_ERR_GET_REASON(unsigned long e);
int iam_ERR_LIB_SSL(void);

/// Reason codes IAMTLS maps to specific TLSError codes.
int iam_SSL_R_NO_APPLICATION_PROTOCOL(void);
int iam_SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL(void);
int iam_SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE(void);
int iam_SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED(void);
int iam_SSL_R_UNSUPPORTED_PROTOCOL(void);
int iam_SSL_R_CERTIFICATE_VERIFY_FAILED(void);

// MARK: libcrypto helpers (SCRAM-SHA-256 building blocks). Return 1 on success.

int iam_sha256(const void *data, size_t len, unsigned char out[32]);
int iam_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len, unsigned char out[32]);
int iam_pbkdf2_sha256(const void *password, size_t password_len, const void *salt, size_t salt_len,
                      unsigned int iterations, unsigned char *out, size_t out_len);
int iam_random_bytes(unsigned char *out, size_t len);
int iam_memcmp_consttime(const void *a, const void *b, size_t len);

// MARK: development certificates (iamd's first start without --tls-cert/--tls-key)

/// Makes an EC P-256 key and an X.509 v3 certificate for it, valid from now for `days` days,
/// with subject `CN=common_name`. `is_ca` != 0 makes a CA (basicConstraints CA:TRUE, keyCertSign);
/// otherwise a TLS server leaf (serverAuth) whose subjectAltName is `san` (OpenSSL's
/// "DNS:localhost,IP:127.0.0.1" syntax). Signed with `issuer_key` as `issuer_cert`, or self-signed
/// when both are NULL. The PEM of the certificate and of the key (PKCS#8, unencrypted) are returned
/// in malloc'd NUL-terminated strings the caller frees with iam_free, and the key and certificate
/// in *out_key / *out_cert (caller frees with EVP_PKEY_free / X509_free; may be NULL to discard).
/// Returns 1 on success, 0 on failure (error queue set).
int iam_make_certificate(const char *common_name, int is_ca, const char *san, int days, EVP_PKEY *issuer_key,
                         X509 *issuer_cert, char **cert_pem, char **key_pem, EVP_PKEY **out_key, X509 **out_cert);

/// Frees a string returned by this shim.
void iam_free(void *pointer);

#endif
