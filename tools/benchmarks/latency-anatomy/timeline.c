// An LD_PRELOAD shim for latency-anatomy.sh: it records every read(2) and write(2) of the process (descriptor,
// result, CLOCK_MONOTONIC before and after) in a fixed table and writes the table to "$TIMELINE_OUT.<pid>" when the
// process exits. Both iamd and iam-loadtest run under it on one machine, so their records share one clock and a
// call's one-at-a-time round trip can be cut into its parts. The table holds TIMELINE_RECORDS records; later calls
// are not recorded (the recorder never allocates on the hot path and never blocks).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define TIMELINE_RECORDS 2000000

struct record {
    char op;
    int fd;
    long result;
    long long start_ns, end_ns;
};

static struct record records[TIMELINE_RECORDS];
static atomic_long used;
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_write)(int, const void *, size_t);

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void note(char op, int fd, long result, long long start, long long end) {
    long index = atomic_fetch_add_explicit(&used, 1, memory_order_relaxed);
    if (index < TIMELINE_RECORDS) records[index] = (struct record){op, fd, result, start, end};
}

ssize_t read(int fd, void *buffer, size_t count) {
    if (!real_read) real_read = (ssize_t (*)(int, void *, size_t))dlsym(RTLD_NEXT, "read");
    long long start = now_ns();
    ssize_t result = real_read(fd, buffer, count);
    note('r', fd, result, start, now_ns());
    return result;
}

ssize_t write(int fd, const void *buffer, size_t count) {
    if (!real_write) real_write = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
    long long start = now_ns();
    ssize_t result = real_write(fd, buffer, count);
    note('w', fd, result, start, now_ns());
    return result;
}

__attribute__((destructor)) static void dump(void) {
    const char *prefix = getenv("TIMELINE_OUT");
    if (!prefix) return;
    char path[4096];
    snprintf(path, sizeof path, "%s.%d", prefix, (int)getpid());
    FILE *out = fopen(path, "w");
    if (!out) return;
    long count = atomic_load(&used);
    if (count > TIMELINE_RECORDS) count = TIMELINE_RECORDS;
    for (long i = 0; i < count; i++)
        fprintf(out, "%c %d %ld %lld %lld\n", records[i].op, records[i].fd, records[i].result, records[i].start_ns,
            records[i].end_ns);
    fclose(out);
}
