// Implementations of the iam_ wrappers declared in include/COpenSSL.h.
#include "COpenSSL.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/pem.h>

// OpenSSL frees its global state (its locks and ex_data tables) from an atexit handler. A process that exits
// while an event loop thread is still closing a TLS connection (the `iam` CLI returns from main as its
// connection drains) then has that thread's SSL_free take a lock that is gone: a SEGV in
// CRYPTO_free_ex_data at exit, which the ThreadSanitizer pass caught. The kernel reclaims the memory at exit
// anyway, so OpenSSL is told not to clean up. This runs as the binary loads, before any other OpenSSL call
// (the option only counts on the first initialisation).
__attribute__((constructor)) static void iam_openssl_skip_atexit_cleanup(void) {
    OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
}

int iam_SSL_CTX_configure(SSL_CTX *ctx, int min_version, const char *tls12_ciphers, const char *tls13_suites) {
    if (!SSL_CTX_set_min_proto_version(ctx, min_version)) return 0;
    if (!SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION)) return 0;
    // Compression (CRIME) and renegotiation are attack surface we never need; session tickets
    // would cost an extra post-handshake record per connection and we do not resume sessions.
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (!SSL_CTX_set_num_tickets(ctx, 0)) return 0;
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    // An idle connection must not keep OpenSSL's ~17 KiB read and ~17 KiB write record buffers: with
    // this mode they are freed as soon as they are empty and allocated again for the next record
    // (issue 12: thousands of pooled, mostly idle connections per server).
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    if (!SSL_CTX_set_cipher_list(ctx, tls12_ciphers)) return 0;
    if (!SSL_CTX_set_ciphersuites(ctx, tls13_suites)) return 0;
    if (!SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384")) return 0;
    return 1;
}

int iam_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}

int iam_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_max_proto_version(ctx, version);
}

int iam_SSL_CTX_set_client_CA_file(SSL_CTX *ctx, const char *ca_file) {
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca_file);
    if (names == NULL) return 0;
    SSL_CTX_set_client_CA_list(ctx, names);  // takes ownership
    return 1;
}

struct iam_alpn_list {
    unsigned int len;
    unsigned char bytes[];
};

// Server preference order: the first of our protocols the client also offers wins.
static int iam_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                           unsigned int inlen, void *arg) {
    (void)ssl;
    const iam_alpn_list *list = arg;
    unsigned int i = 0;
    while (i < list->len) {
        unsigned int n = list->bytes[i];
        const unsigned char *ours = &list->bytes[i + 1];
        unsigned int j = 0;
        while (j < inlen) {
            unsigned int m = in[j];
            if (j + 1 + m > inlen) break;  // malformed client list: stop, never read past it
            if (m == n && memcmp(&in[j + 1], ours, n) == 0) {
                *out = &in[j + 1];  // must point into `in` or memory that outlives the handshake
                *outlen = (unsigned char)m;
                return SSL_TLSEXT_ERR_OK;
            }
            j += 1 + m;
        }
        i += 1 + n;
    }
    // The client speaks ALPN but none of our protocols: refuse (RFC 7301 section 3.2).
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

iam_alpn_list *iam_SSL_CTX_set_alpn_server(SSL_CTX *ctx, const unsigned char *wire, unsigned int wire_len) {
    iam_alpn_list *list = OPENSSL_malloc(sizeof(iam_alpn_list) + wire_len);
    if (list == NULL) return NULL;
    list->len = wire_len;
    memcpy(list->bytes, wire, wire_len);
    SSL_CTX_set_alpn_select_cb(ctx, iam_alpn_select, list);
    return list;
}

void iam_alpn_free(iam_alpn_list *list) { OPENSSL_free(list); }

// A byte queue BIO for the TLS handler, in place of BIO_s_mem: its storage is allocated when bytes arrive and
// freed the moment the last one is read, so a connection between bursts holds no BIO buffer at all (a memory
// BIO's BUF_MEM keeps its largest size for the connection's life). Reads of an empty queue ask to retry, so
// SSL_read reports WANT_READ rather than EOF: the network's EOF reaches the handler from NIO, not the BIO.
typedef struct {
    unsigned char *bytes;
    size_t start;  // first unread byte
    size_t end;    // one past the last written byte
    size_t capacity;
} iam_queue;

static void iam_queue_release(iam_queue *queue) {
    OPENSSL_free(queue->bytes);
    queue->bytes = NULL;
    queue->start = queue->end = queue->capacity = 0;
}

static int iam_queue_write(BIO *bio, const char *in, int length) {
    BIO_clear_retry_flags(bio);
    if (length <= 0) return 0;
    iam_queue *queue = BIO_get_data(bio);
    size_t held = queue->end - queue->start;
    size_t needed = held + (size_t)length;
    if (queue->end + (size_t)length > queue->capacity) {
        if (needed <= queue->capacity) {
            memmove(queue->bytes, queue->bytes + queue->start, held);
        } else {
            size_t capacity = queue->capacity * 2 > needed ? queue->capacity * 2 : needed;
            unsigned char *bytes = OPENSSL_malloc(capacity);
            if (bytes == NULL) return -1;
            if (held > 0) memcpy(bytes, queue->bytes + queue->start, held);
            OPENSSL_free(queue->bytes);
            queue->bytes = bytes;
            queue->capacity = capacity;
        }
        queue->start = 0;
        queue->end = held;
    }
    memcpy(queue->bytes + queue->end, in, (size_t)length);
    queue->end += (size_t)length;
    return length;
}

static int iam_queue_read(BIO *bio, char *out, int length) {
    BIO_clear_retry_flags(bio);
    iam_queue *queue = BIO_get_data(bio);
    size_t held = queue->end - queue->start;
    if (held == 0) {
        BIO_set_retry_read(bio);
        return -1;
    }
    if (length <= 0) return 0;
    size_t count = held < (size_t)length ? held : (size_t)length;
    memcpy(out, queue->bytes + queue->start, count);
    queue->start += count;
    if (queue->start == queue->end) iam_queue_release(queue);
    return (int)count;
}

static long iam_queue_ctrl(BIO *bio, int command, long number, void *pointer) {
    (void)number;
    (void)pointer;
    iam_queue *queue = BIO_get_data(bio);
    switch (command) {
    case BIO_CTRL_PENDING:
    case BIO_CTRL_WPENDING:
        return (long)(queue->end - queue->start);
    case BIO_CTRL_RESET:
        iam_queue_release(queue);
        return 1;
    case BIO_CTRL_FLUSH:
        return 1;
    case BIO_CTRL_EOF:
        return 0;
    default:
        return 0;
    }
}

static int iam_queue_create(BIO *bio) {
    iam_queue *queue = OPENSSL_zalloc(sizeof(iam_queue));
    if (queue == NULL) return 0;
    BIO_set_data(bio, queue);
    BIO_set_init(bio, 1);
    return 1;
}

static int iam_queue_destroy(BIO *bio) {
    iam_queue *queue = BIO_get_data(bio);
    if (queue != NULL) {
        iam_queue_release(queue);
        OPENSSL_free(queue);
    }
    BIO_set_data(bio, NULL);
    return 1;
}

static BIO_METHOD *iam_queue_method = NULL;
static CRYPTO_ONCE iam_queue_once = CRYPTO_ONCE_STATIC_INIT;

static void iam_queue_method_init(void) {
    BIO_METHOD *method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "iam byte queue");
    if (method == NULL) return;
    if (!BIO_meth_set_write(method, iam_queue_write) || !BIO_meth_set_read(method, iam_queue_read)
        || !BIO_meth_set_ctrl(method, iam_queue_ctrl) || !BIO_meth_set_create(method, iam_queue_create)
        || !BIO_meth_set_destroy(method, iam_queue_destroy)) {
        BIO_meth_free(method);
        return;
    }
    iam_queue_method = method;
}

static BIO *iam_new_queue_bio(void) {
    if (!CRYPTO_THREAD_run_once(&iam_queue_once, iam_queue_method_init) || iam_queue_method == NULL) return NULL;
    return BIO_new(iam_queue_method);
}

int iam_SSL_attach_memory_bios(SSL *ssl, BIO **rbio, BIO **wbio) {
    BIO *r = iam_new_queue_bio();
    BIO *w = iam_new_queue_bio();
    if (r == NULL || w == NULL) {
        BIO_free(r);
        BIO_free(w);
        return 0;
    }
    SSL_set_bio(ssl, r, w);  // SSL takes ownership of both
    *rbio = r;
    *wbio = w;
    return 1;
}

int iam_SSL_set_expected_peer_name(SSL *ssl, const char *name) {
    ASN1_OCTET_STRING *ip = a2i_IPADDRESS(name);
    if (ip != NULL) {
        ASN1_OCTET_STRING_free(ip);
        return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name);
    }
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (!SSL_set1_host(ssl, name)) return 0;
    return (int)SSL_set_tlsext_host_name(ssl, name);
}

size_t iam_BIO_pending(BIO *bio) { return BIO_ctrl_pending(bio); }

size_t iam_BIO_retained(BIO *bio) {
    if (bio == NULL) return 0;
    iam_queue *queue = BIO_get_data(bio);
    return queue == NULL ? 0 : queue->capacity;
}

const unsigned char *iam_SSL_get0_alpn_selected(const SSL *ssl, unsigned int *len) {
    const unsigned char *data = NULL;
    *len = 0;
    SSL_get0_alpn_selected(ssl, &data, len);
    return data;
}

int iam_SSL_peer_subject(const SSL *ssl, char *buf, int buf_len) {
    X509 *cert = SSL_get0_peer_certificate(ssl);
    if (cert == NULL || buf_len <= 0) return 0;
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio == NULL) return 0;
    X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
    int n = BIO_read(bio, buf, buf_len - 1);
    BIO_free(bio);
    if (n < 0) n = 0;
    buf[n] = '\0';
    return 1;
}

int iam_SSL_sent_shutdown(const SSL *ssl) { return (SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN) != 0; }
int iam_SSL_received_shutdown(const SSL *ssl) { return (SSL_get_shutdown(ssl) & SSL_RECEIVED_SHUTDOWN) != 0; }

int iam_ERR_GET_LIB(unsigned long e) { return ERR_GET_LIB(e); }
int iam_ERR_GET_REASON(unsigned long e) { return ERR_GET_REASON(e); }
int iam_ERR_LIB_SSL(void) { return ERR_LIB_SSL; }

int iam_SSL_R_NO_APPLICATION_PROTOCOL(void) { return SSL_R_NO_APPLICATION_PROTOCOL; }
int iam_SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL(void) { return SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL; }
int iam_SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE(void) { return SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE; }
int iam_SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED(void) { return SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED; }
int iam_SSL_R_UNSUPPORTED_PROTOCOL(void) { return SSL_R_UNSUPPORTED_PROTOCOL; }
int iam_SSL_R_CERTIFICATE_VERIFY_FAILED(void) { return SSL_R_CERTIFICATE_VERIFY_FAILED; }

int iam_pbkdf2_sha256(const void *password, size_t password_len, const void *salt, size_t salt_len,
                      unsigned int iterations, unsigned char *out, size_t out_len) {
    if (password_len > 0x7fffffff || salt_len > 0x7fffffff || out_len > 0x7fffffff || iterations == 0 ||
        iterations > 0x7fffffff)
        return 0;
    static const unsigned char empty = 0;
    if (password == NULL) password = &empty;
    if (salt == NULL) salt = &empty;
    return PKCS5_PBKDF2_HMAC(password, (int)password_len, salt, (int)salt_len, (int)iterations, EVP_sha256(),
                             (int)out_len, out);
}

int iam_random_bytes(unsigned char *out, size_t len) {
    if (len > 0x7fffffff) return 0;
    if (len == 0) return 1;
    return RAND_bytes(out, (int)len) == 1;
}

int iam_memcmp_consttime(const void *a, const void *b, size_t len) { return CRYPTO_memcmp(a, b, len); }

static char *iam_bio_to_string(BIO *bio) {
    char *data = NULL;
    long length = BIO_get_mem_data(bio, &data);
    if (length < 0) return NULL;
    char *copy = malloc((size_t)length + 1);
    if (copy == NULL) return NULL;
    memcpy(copy, data, (size_t)length);
    copy[length] = 0;
    return copy;
}

static int iam_add_extension(X509 *cert, X509 *issuer, int nid, const char *value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *extension = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (extension == NULL) return 0;
    int ok = X509_add_ext(cert, extension, -1);
    X509_EXTENSION_free(extension);
    return ok;
}

int iam_make_certificate(const char *common_name, int is_ca, const char *san, int days, EVP_PKEY *issuer_key,
                         X509 *issuer_cert, char **cert_pem, char **key_pem, EVP_PKEY **out_key, X509 **out_cert) {
    int ok = 0;
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    BIO *cert_bio = NULL, *key_bio = NULL;
    unsigned char serial_bytes[16];
    BIGNUM *serial = NULL;
    *cert_pem = NULL;
    *key_pem = NULL;
    if ((issuer_key == NULL) != (issuer_cert == NULL) || days <= 0) goto done;

    key = EVP_EC_gen("P-256");
    if (key == NULL) goto done;
    cert = X509_new();
    if (cert == NULL || X509_set_version(cert, 2) != 1) goto done;
    // A random positive 127-bit serial, as RFC 5280 recommends for unpredictability.
    if (RAND_bytes(serial_bytes, sizeof serial_bytes) != 1) goto done;
    serial_bytes[0] &= 0x7f;
    serial = BN_bin2bn(serial_bytes, sizeof serial_bytes, NULL);
    if (serial == NULL || BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert)) == NULL) goto done;
    // Backdated an hour so a client whose clock runs a little behind still accepts it.
    if (X509_gmtime_adj(X509_getm_notBefore(cert), -3600) == NULL) goto done;
    if (X509_gmtime_adj(X509_getm_notAfter(cert), (long)days * 86400L) == NULL) goto done;
    if (X509_set_pubkey(cert, key) != 1) goto done;
    X509_NAME *name = X509_get_subject_name(cert);
    if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"swift-iam development", -1,
                                   -1, 0) != 1)
        goto done;
    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)common_name, -1, -1, 0) != 1)
        goto done;
    X509 *issuer = issuer_cert != NULL ? issuer_cert : cert;
    if (X509_set_issuer_name(cert, X509_get_subject_name(issuer)) != 1) goto done;
    if (!iam_add_extension(cert, issuer, NID_subject_key_identifier, "hash")) goto done;
    if (issuer_cert != NULL && !iam_add_extension(cert, issuer, NID_authority_key_identifier, "keyid:always"))
        goto done;
    if (is_ca) {
        if (!iam_add_extension(cert, issuer, NID_basic_constraints, "critical,CA:TRUE,pathlen:0")) goto done;
        if (!iam_add_extension(cert, issuer, NID_key_usage, "critical,keyCertSign,cRLSign")) goto done;
    } else {
        if (!iam_add_extension(cert, issuer, NID_basic_constraints, "critical,CA:FALSE")) goto done;
        if (!iam_add_extension(cert, issuer, NID_key_usage, "critical,digitalSignature")) goto done;
        if (!iam_add_extension(cert, issuer, NID_ext_key_usage, "serverAuth")) goto done;
        if (san != NULL && !iam_add_extension(cert, issuer, NID_subject_alt_name, san)) goto done;
    }
    if (X509_sign(cert, issuer_key != NULL ? issuer_key : key, EVP_sha256()) <= 0) goto done;

    cert_bio = BIO_new(BIO_s_mem());
    key_bio = BIO_new(BIO_s_mem());
    if (cert_bio == NULL || key_bio == NULL) goto done;
    if (PEM_write_bio_X509(cert_bio, cert) != 1) goto done;
    if (PEM_write_bio_PrivateKey(key_bio, key, NULL, NULL, 0, NULL, NULL) != 1) goto done;
    *cert_pem = iam_bio_to_string(cert_bio);
    *key_pem = iam_bio_to_string(key_bio);
    if (*cert_pem == NULL || *key_pem == NULL) goto done;
    ok = 1;
done:
    if (!ok) {
        free(*cert_pem);
        free(*key_pem);
        *cert_pem = NULL;
        *key_pem = NULL;
    }
    BIO_free(cert_bio);
    BIO_free(key_bio);
    BN_free(serial);
    if (ok && out_key != NULL) {
        *out_key = key;
    } else {
        EVP_PKEY_free(key);
    }
    if (ok && out_cert != NULL) {
        *out_cert = cert;
    } else {
        X509_free(cert);
    }
    return ok;
}

void iam_free(void *pointer) { free(pointer); }
