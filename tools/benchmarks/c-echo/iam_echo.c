/*
 * iam_echo: a benchmark peer for swift-iam's RPC layer, written in C on OpenSSL.
 *
 * The server and the client speak Protocol/WIRE.md's framing over TLS 1.3 on loopback and do the
 * per-call work our server and client do for Health/Ping -- parse every frame header, parse CALL_START
 * (method, timeout, request id, metadata), parse the request message (protobuf field 1), encode the
 * response MESSAGE and a CALL_END(OK), one write per read burst -- but nothing more: no event loop,
 * blocking sockets, one thread per connection. It answers "what do TLS and our framing cost in C", the
 * floor our Swift stack is measured against (tools/benchmarks/rpc-vs-c.sh).
 *
 * SCRAM authentication is skipped: this client talks only to this server. The opening is otherwise the
 * real one (prefaces, SETTINGS, SETTINGS ACKs).
 *
 *   iam_echo server CERT KEY                 listens on 127.0.0.1, port 0; prints "PORT n"
 *   iam_echo client PORT [--payload N] [--duration S] [--warmup S] [--server-pid PID]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
    HEADER = 10,
    T_SETTINGS = 0x01, T_PING = 0x06, T_GOAWAY = 0x07,
    T_CALL_START = 0x10, T_MESSAGE = 0x11, T_CALL_END = 0x12, T_CANCEL = 0x13,
    F_ACK = 0x01, F_COMPRESSED = 0x01, F_END_STREAM = 0x02,
    MAX_FRAME = 1 << 20,
};

static const char METHOD[] = "/iam.v1.Health/Ping";
static const uint8_t CLIENT_PREFACE[8] = {0x49, 0x41, 0x4d, 0x57, 1, 1, 0, 0};
static const uint8_t SERVER_PREFACE[8] = {0x49, 0x41, 0x4d, 0x57, 1, 1, 1, 0};
static const char *CIPHERS = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

static void die(const char *what) {
    fprintf(stderr, "iam_echo: %s\n", what);
    ERR_print_errors_fp(stderr);
    exit(1);
}

/* A growable byte buffer: bytes [start, end) are unread. */
typedef struct {
    uint8_t *data;
    size_t start, end, cap;
} buf_t;

static void buf_reserve(buf_t *b, size_t more) {
    if (b->start > 0 && b->start == b->end) b->start = b->end = 0;
    if (b->end + more <= b->cap) return;
    if (b->start > 0) {
        memmove(b->data, b->data + b->start, b->end - b->start);
        b->end -= b->start;
        b->start = 0;
        if (b->end + more <= b->cap) return;
    }
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->end + more) cap *= 2;
    b->data = realloc(b->data, cap);
    if (!b->data) die("out of memory");
    b->cap = cap;
}

static void put_u32(uint8_t *p, uint32_t v) {
    p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}
static uint32_t get_u32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint8_t *frame(buf_t *out, uint8_t type, uint8_t flags, uint32_t stream, size_t length) {
    buf_reserve(out, HEADER + length);
    uint8_t *p = out->data + out->end;
    put_u32(p, (uint32_t)length);
    p[4] = type; p[5] = flags;
    put_u32(p + 6, stream);
    out->end += HEADER + length;
    return p + HEADER;
}

static void write_settings(buf_t *out, int server) {
    static const uint16_t ids[6] = {1, 2, 3, 4, 5, 6};
    uint32_t values[6] = {1u << 20, server ? 1000 : 0, 4u << 20, 0, 1024, server ? 300 : 0};
    uint8_t *p = frame(out, T_SETTINGS, 0, 0, 36);
    for (int i = 0; i < 6; i++, p += 6) {
        p[0] = ids[i] >> 8; p[1] = ids[i] & 0xff;
        put_u32(p + 2, values[i]);
    }
}

static int varint(const uint8_t *p, size_t n, uint64_t *value, size_t *used) {
    uint64_t v = 0;
    for (size_t i = 0; i < n && i < 10; i++) {
        v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) { *value = v; *used = i + 1; return 1; }
    }
    return 0;
}

static size_t put_varint(uint8_t *p, uint64_t v) {
    size_t n = 0;
    while (v >= 0x80) { p[n++] = (uint8_t)(v | 0x80); v >>= 7; }
    p[n++] = (uint8_t)v;
    return n;
}

/* Finds field 1 (bytes) of a PingRequest/PingResponse, skipping others; -1 if malformed. */
static int ping_payload(const uint8_t *p, size_t n, const uint8_t **payload, size_t *length) {
    *payload = p; *length = 0;
    size_t i = 0;
    while (i < n) {
        uint64_t key, len; size_t used;
        if (!varint(p + i, n - i, &key, &used)) return -1;
        i += used;
        switch (key & 7) {
        case 0: if (!varint(p + i, n - i, &len, &used)) return -1; i += used; break;
        case 1: i += 8; break;
        case 5: i += 4; break;
        case 2:
            if (!varint(p + i, n - i, &len, &used) || len > n - i - used) return -1;
            i += used;
            if ((key >> 3) == 1) { *payload = p + i; *length = len; }
            i += len;
            break;
        default: return -1;
        }
        if (i > n) return -1;
    }
    return 0;
}

/* CALL_START as WIRE.md 7.1 lays it out; returns 0 if it names METHOD and is well formed. */
static int parse_call_start(const uint8_t *p, size_t n) {
    size_t i = 0;
    if (n < 1) return -1;
    size_t m = p[i++];
    if (m == 0 || i + m + 8 + 1 > n) return -1;
    int ok = m == sizeof METHOD - 1 && memcmp(p + i, METHOD, m) == 0;
    i += m;
    uint64_t timeout = 0;
    for (int k = 0; k < 8; k++) timeout = timeout << 8 | p[i++];
    (void)timeout;
    size_t r = p[i++];
    if (r > 128 || i + r + 1 > n) return -1;
    i += r;
    size_t k = p[i++];
    if (k > 64) return -1;
    for (size_t e = 0; e < k; e++) {
        if (i + 1 > n) return -1;
        size_t kl = p[i++];
        if (kl < 1 || kl > 64 || i + kl + 2 > n) return -1;
        i += kl;
        size_t vl = (size_t)p[i] << 8 | p[i + 1];
        i += 2;
        if (vl > 4096 || i + vl > n) return -1;
        i += vl;
    }
    return (i == n && ok) ? 0 : -1;
}

static int ssl_read_more(SSL *ssl, buf_t *in) {
    buf_reserve(in, 16384);
    int rc = SSL_read(ssl, in->data + in->end, (int)(in->cap - in->end));
    if (rc <= 0) return -1;
    in->end += (size_t)rc;
    return 0;
}

static int ssl_write_all(SSL *ssl, buf_t *out) {
    if (out->end == out->start) return 0;
    int rc = SSL_write(ssl, out->data + out->start, (int)(out->end - out->start));
    out->start = out->end = 0;
    return rc > 0 ? 0 : -1;
}

/* Reads until `need` unread bytes are buffered. */
static int ssl_read_at_least(SSL *ssl, buf_t *in, size_t need) {
    while (in->end - in->start < need)
        if (ssl_read_more(ssl, in) < 0) return -1;
    return 0;
}

static void tune_socket(int fd) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* ---------------------------------------------------------------- server */

static SSL_CTX *server_ctx;

static void *serve_connection(void *arg) {
    int fd = (int)(intptr_t)arg;
    tune_socket(fd);
    SSL *ssl = SSL_new(server_ctx);
    SSL_set_fd(ssl, fd);
    buf_t in = {0}, out = {0};
    if (SSL_accept(ssl) != 1) goto done;
    /* Preface, then the client's SETTINGS must be the first frame. */
    if (ssl_read_at_least(ssl, &in, 8) < 0 || memcmp(in.data + in.start, CLIENT_PREFACE, 6) != 0) goto done;
    in.start += 8;
    buf_reserve(&out, 8);
    memcpy(out.data + out.end, SERVER_PREFACE, 8);
    out.end += 8;
    write_settings(&out, 1);
    int settings_seen = 0;
    for (;;) {
        /* Every complete frame in the buffer is handled; replies for the burst leave in one write. */
        while (in.end - in.start >= HEADER) {
            const uint8_t *h = in.data + in.start;
            uint32_t length = get_u32(h), stream = get_u32(h + 6);
            uint8_t type = h[4], flags = h[5];
            if (length > MAX_FRAME || (stream >> 31)) goto done;
            if (in.end - in.start < HEADER + length) break;
            const uint8_t *payload = h + HEADER;
            in.start += HEADER + length;
            switch (type) {
            case T_SETTINGS:
                if (flags & F_ACK) break;
                if (settings_seen++ || length % 6) goto done;
                frame(&out, T_SETTINGS, F_ACK, 0, 0);
                break;
            case T_CALL_START:
                if (!(stream & 1) || parse_call_start(payload, length) < 0) goto done;
                break;
            case T_MESSAGE: {
                const uint8_t *ping; size_t ping_length;
                if (!(flags & F_END_STREAM) || (flags & F_COMPRESSED)) goto done;
                if (ping_payload(payload, length, &ping, &ping_length) < 0) goto done;
                uint8_t prefix[11];
                size_t prefix_length = 0;
                if (ping_length > 0) {
                    prefix[0] = 0x0a;
                    prefix_length = 1 + put_varint(prefix + 1, ping_length);
                }
                /* `ping` points into `in`, which frame() below never moves (different buffer). */
                uint8_t *p = frame(&out, T_MESSAGE, 0, stream, prefix_length + ping_length);
                memcpy(p, prefix, prefix_length);
                memcpy(p + prefix_length, ping, ping_length);
                p = frame(&out, T_CALL_END, 0, stream, 4);
                p[0] = 0; p[1] = 0; p[2] = 0; p[3] = 0;
                break;
            }
            case T_PING:
                if (!(flags & F_ACK) && length == 8) memcpy(frame(&out, T_PING, F_ACK, 0, 8), payload, 8);
                break;
            case T_CANCEL:
                break;
            case T_GOAWAY:
                goto done;
            default:
                goto done;
            }
        }
        if (ssl_write_all(ssl, &out) < 0) goto done;
        if (ssl_read_more(ssl, &in) < 0) goto done;
    }
done:
    SSL_shutdown(ssl);
    SSL_free(ssl);
    close(fd);
    free(in.data);
    free(out.data);
    return NULL;
}

static int run_server(const char *cert, const char *key) {
    server_ctx = SSL_CTX_new(TLS_server_method());
    if (!server_ctx) die("SSL_CTX_new");
    SSL_CTX_set_min_proto_version(server_ctx, TLS1_3_VERSION);
    SSL_CTX_set_ciphersuites(server_ctx, CIPHERS);
    if (SSL_CTX_use_certificate_chain_file(server_ctx, cert) != 1) die("cannot load the certificate");
    if (SSL_CTX_use_PrivateKey_file(server_ctx, key, SSL_FILETYPE_PEM) != 1) die("cannot load the key");
    signal(SIGPIPE, SIG_IGN);
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t size = sizeof address;
    if (bind(listener, (struct sockaddr *)&address, size) < 0 || listen(listener, 64) < 0) die("cannot listen");
    getsockname(listener, (struct sockaddr *)&address, &size);
    printf("PORT %d\nPID %d\n", ntohs(address.sin_port), getpid());
    fflush(stdout);
    for (;;) {
        int fd = accept(listener, NULL, NULL);
        if (fd < 0) continue;
        pthread_t thread;
        pthread_create(&thread, NULL, serve_connection, (void *)(intptr_t)fd);
        pthread_detach(thread);
    }
    return 0;
}

/* ---------------------------------------------------------------- client */

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static long process_cpu_us(int pid) {
    if (pid <= 0) return -1;
    char path[64], text[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    char *p = strrchr(text, ')');
    if (!p) return -1;
    unsigned long user = 0, system = 0;
    /* After ")": state is field 3; utime and stime are fields 14 and 15. */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &user, &system) != 2) return -1;
    return (long)((user + system) * 1000000 / (unsigned long)sysconf(_SC_CLK_TCK));
}

static long own_cpu_us(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_utime.tv_sec * 1000000L + u.ru_utime.tv_usec + u.ru_stime.tv_sec * 1000000L + u.ru_stime.tv_usec;
}

static int compare_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* One call: CALL_START + MESSAGE(END_STREAM) in one write, then read until its CALL_END. */
static int one_call(SSL *ssl, buf_t *in, buf_t *out, uint32_t stream, const uint8_t *ping, size_t ping_length) {
    size_t m = sizeof METHOD - 1;
    uint8_t *p = frame(out, T_CALL_START, 0, stream, 1 + m + 8 + 1 + 1);
    p[0] = (uint8_t)m;
    memcpy(p + 1, METHOD, m);
    memset(p + 1 + m, 0, 8 + 1 + 1); /* no deadline, no request id, no metadata */
    uint8_t prefix[11];
    size_t prefix_length = 0;
    if (ping_length > 0) {
        prefix[0] = 0x0a;
        prefix_length = 1 + put_varint(prefix + 1, ping_length);
    }
    p = frame(out, T_MESSAGE, F_END_STREAM, stream, prefix_length + ping_length);
    memcpy(p, prefix, prefix_length);
    memcpy(p + prefix_length, ping, ping_length);
    if (ssl_write_all(ssl, out) < 0) return -1;
    int got_message = 0;
    for (;;) {
        while (in->end - in->start >= HEADER) {
            const uint8_t *h = in->data + in->start;
            uint32_t length = get_u32(h), id = get_u32(h + 6);
            if (length > MAX_FRAME) return -1;
            if (in->end - in->start < HEADER + length) break;
            const uint8_t *payload = h + HEADER;
            in->start += HEADER + length;
            if (id != stream) continue;
            if (h[4] == T_MESSAGE) {
                const uint8_t *echo; size_t echo_length;
                if (ping_payload(payload, length, &echo, &echo_length) < 0 || echo_length != ping_length) return -1;
                got_message = 1;
            } else if (h[4] == T_CALL_END) {
                if (length < 4 || payload[0] != 0) return -1;
                return got_message ? 0 : -1;
            }
        }
        if (ssl_read_more(ssl, in) < 0) return -1;
    }
}

static int run_client(int argc, char **argv) {
    int port = atoi(argv[2]);
    size_t payload_size = 0;
    double duration = 5, warmup = 1;
    int server_pid = 0;
    for (int i = 3; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--payload")) payload_size = (size_t)atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--duration")) duration = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--warmup")) warmup = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--server-pid")) server_pid = atoi(argv[i + 1]);
        else die("unknown option");
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_ciphersuites(ctx, CIPHERS);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL); /* loopback benchmark peer only */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&address, sizeof address) < 0) die("cannot connect");
    tune_socket(fd);
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) != 1) die("TLS handshake failed");
    buf_t in = {0}, out = {0};
    buf_reserve(&out, 8);
    memcpy(out.data, CLIENT_PREFACE, 8);
    out.end = 8;
    write_settings(&out, 0);
    if (ssl_write_all(ssl, &out) < 0) die("write failed");
    /* Server preface + SETTINGS (+ its ACK of ours). */
    if (ssl_read_at_least(ssl, &in, 8 + HEADER + 36) < 0) die("no server opening");
    if (memcmp(in.data + in.start, SERVER_PREFACE, 8) != 0) die("bad server preface");
    in.start += 8 + HEADER + 36;
    frame(&out, T_SETTINGS, F_ACK, 0, 0);

    uint8_t *ping = malloc(payload_size + 1);
    static const char text[] = "{\"UserName\":\"alice\",\"Path\":\"/engineering/\",\"Tags\":[{\"Key\":\"team\"}]} ";
    for (size_t i = 0; i < payload_size; i++) ping[i] = (uint8_t)text[i % (sizeof text - 1)];

    size_t capacity = 1 << 20, count = 0;
    uint64_t *samples = malloc(capacity * sizeof *samples);
    uint32_t stream = 1;
    uint64_t begin = now_ns(), measure_from = begin + (uint64_t)(warmup * 1e9);
    uint64_t end = measure_from + (uint64_t)(duration * 1e9);
    long server_cpu_start = -1, client_cpu_start = 0;
    int measuring = 0;
    long errors = 0;
    for (;;) {
        uint64_t t0 = now_ns();
        if (!measuring && t0 >= measure_from) {
            measuring = 1;
            server_cpu_start = process_cpu_us(server_pid);
            client_cpu_start = own_cpu_us();
            measure_from = t0;
        }
        if (t0 >= end) break;
        if (one_call(ssl, &in, &out, stream, ping, payload_size) < 0) { errors++; break; }
        stream += 2;
        uint64_t t1 = now_ns();
        if (measuring) {
            if (count == capacity) samples = realloc(samples, (capacity *= 2) * sizeof *samples);
            samples[count++] = t1 - t0;
        }
    }
    uint64_t stop = now_ns();
    long server_cpu = server_cpu_start >= 0 ? process_cpu_us(server_pid) - server_cpu_start : -1;
    long client_cpu = own_cpu_us() - client_cpu_start;
    frame(&out, T_GOAWAY, 0, 0, 0); /* not a valid GOAWAY payload; the C server just closes */
    ssl_write_all(ssl, &out);
    SSL_shutdown(ssl);
    if (count == 0) die("no calls completed");
    qsort(samples, count, sizeof *samples, compare_u64);
    double seconds = (double)(stop - measure_from) / 1e9;
#define PCT(p) ((double)samples[(size_t)((double)(count - 1) * (p))] / 1000.0)
    printf("connections=1 in_flight=1 payload=%zu compression=off peer=c\n", payload_size);
    printf("calls=%zu errors=%ld seconds=%.2f calls_per_s=%.0f\n", count, errors, seconds, (double)count / seconds);
    printf("latency_us p50=%.1f p99=%.1f p99.9=%.1f max=%.1f\n", PCT(0.5), PCT(0.99), PCT(0.999),
           (double)samples[count - 1] / 1000.0);
    if (server_cpu >= 0) printf("server_cpu_us_per_call=%.2f\n", (double)server_cpu / (double)count);
    printf("client_cpu_us_per_call=%.2f\n", (double)client_cpu / (double)count);
    return errors ? 1 : 0;
}

int main(int argc, char **argv) {
    if (argc >= 4 && !strcmp(argv[1], "server")) return run_server(argv[2], argv[3]);
    if (argc >= 3 && !strcmp(argv[1], "client")) return run_client(argc, argv);
    fprintf(stderr, "usage: iam_echo server CERT KEY | iam_echo client PORT [--payload N] [--duration S] "
                    "[--warmup S] [--server-pid PID]\n");
    return 2;
}
