#include "CZlib.h"

#include <limits.h>
#include <stdlib.h>
#include <zlib.h>

struct iam_zstream {
    z_stream z;
    int deflating;
};

iam_zstream *iam_deflate_new(int level, int window_bits, int mem_level) {
    iam_zstream *stream = calloc(1, sizeof *stream);
    if (!stream) return NULL;
    if (deflateInit2(&stream->z, level, Z_DEFLATED, window_bits, mem_level, Z_DEFAULT_STRATEGY) != Z_OK) {
        free(stream);
        return NULL;
    }
    stream->deflating = 1;
    return stream;
}

iam_zstream *iam_inflate_new(int window_bits) {
    iam_zstream *stream = calloc(1, sizeof *stream);
    if (!stream) return NULL;
    if (inflateInit2(&stream->z, window_bits) != Z_OK) {
        free(stream);
        return NULL;
    }
    return stream;
}

void iam_zstream_free(iam_zstream *stream) {
    if (!stream) return;
    if (stream->deflating) {
        deflateEnd(&stream->z);
    } else {
        inflateEnd(&stream->z);
    }
    free(stream);
}

size_t iam_deflate_bound(iam_zstream *stream, size_t length) {
    if (length > UINT_MAX) return SIZE_MAX;
    return deflateBound(&stream->z, (uLong)length);
}

long iam_deflate_message(iam_zstream *stream, const uint8_t *input, size_t length, uint8_t *output,
                         size_t capacity) {
    // zlib counts in uInt; MESSAGE payloads are far below 4 GiB (MAX_MESSAGE_SIZE <= 64 MiB).
    if (length > UINT_MAX || capacity > UINT_MAX) return -1;
    z_stream *z = &stream->z;
    z->next_in = (Bytef *)input;  // zlib does not write through next_in (z_const is off by default)
    z->avail_in = (uInt)length;
    z->next_out = output;
    z->avail_out = (uInt)capacity;
    int rc = deflate(z, Z_FINISH);
    long written = (long)(capacity - z->avail_out);
    z->next_in = NULL;
    z->next_out = NULL;
    if (rc != Z_STREAM_END) return -1;
    if (deflateReset(z) != Z_OK) return -1;
    return written;
}

int iam_inflate(iam_zstream *stream, const uint8_t *input, size_t length, size_t *consumed, uint8_t *output,
                size_t capacity, size_t *produced) {
    z_stream *z = &stream->z;
    // Chunks of at most UINT_MAX bytes each way; a MESSAGE is far smaller, so this loop runs once.
    for (;;) {
        uInt in_chunk = length - *consumed > UINT_MAX ? UINT_MAX : (uInt)(length - *consumed);
        uInt out_chunk = capacity > UINT_MAX ? UINT_MAX : (uInt)capacity;
        z->next_in = (Bytef *)input + *consumed;
        z->avail_in = in_chunk;
        z->next_out = output;
        z->avail_out = out_chunk;
        int rc = inflate(z, Z_NO_FLUSH);
        *consumed += in_chunk - z->avail_in;
        size_t wrote = out_chunk - z->avail_out;
        *produced += wrote;
        output += wrote;
        capacity -= wrote;
        z->next_in = NULL;
        z->next_out = NULL;
        switch (rc) {
        case Z_STREAM_END:
            return IAM_INFLATE_END;
        case Z_OK:
        case Z_BUF_ERROR:
            // No progress possible: either the output is full or the input ran out.
            if (capacity == 0) return IAM_INFLATE_OUTPUT_FULL;
            if (*consumed == length) return IAM_INFLATE_TRUNCATED;
            break;  // a chunk boundary; go on
        default:
            // Z_NEED_DICT (a preset dictionary, which WIRE.md §10 refuses), Z_DATA_ERROR, Z_MEM_ERROR.
            return IAM_INFLATE_CORRUPT;
        }
    }
}

int iam_inflate_reset(iam_zstream *stream) {
    return inflateReset(&stream->z) == Z_OK ? 0 : -1;
}
