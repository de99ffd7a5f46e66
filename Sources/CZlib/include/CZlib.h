// CZlib: the C shim between IAMWire's MessageCompressor and system zlib (zlib1g).
//
// Why a shim and not a Swift wrapper library: zlib's init functions are macros (deflateInit2,
// inflateInit2) Swift cannot import, and a compressed MESSAGE is one small, complete zlib stream, so
// the whole "deflate one message and reset" and "inflate into this window" steps are one C call each.
// That keeps the per-message fixed cost at what zlib itself needs: no allocation per message (zlib
// allocates only when a stream is created), no copy of the compressed input, and one crossing of the
// language boundary per step. Streams are created once per connection and reset per message
// (WIRE.md §10).
#ifndef IAM_CZLIB_H
#define IAM_CZLIB_H

#include <stddef.h>
#include <stdint.h>

/// One zlib deflate or inflate stream (a z_stream and what it was made with).
typedef struct iam_zstream iam_zstream;

/// A deflate stream for RFC 1950 zlib output; NULL if zlib refuses the parameters or memory runs out.
iam_zstream *iam_deflate_new(int level, int window_bits, int mem_level);

/// An inflate stream for RFC 1950 zlib input with a window of up to 2^window_bits bytes; NULL on failure.
iam_zstream *iam_inflate_new(int window_bits);

/// Frees either kind of stream. NULL is allowed.
void iam_zstream_free(iam_zstream *stream);

/// The most bytes one message of `length` bytes can deflate to (deflateBound), so one call completes it.
size_t iam_deflate_bound(iam_zstream *stream, size_t length);

/// Deflates `input` as one complete zlib stream (header, blocks, Adler-32) into `output`, which must
/// hold at least iam_deflate_bound(length) bytes, then resets the stream for the next message.
/// Returns the number of bytes written, or -1 if zlib failed (the stream must then be freed).
long iam_deflate_message(iam_zstream *stream, const uint8_t *input, size_t length, uint8_t *output,
                         size_t capacity);

/// What one iam_inflate call ended with.
enum {
    /// The zlib stream ended (Adler-32 checked); `consumed` says where.
    IAM_INFLATE_END = 0,
    /// `output` is full and the stream has not ended: call again with more room.
    IAM_INFLATE_OUTPUT_FULL = 1,
    /// All input was used and the stream has not ended: it is truncated.
    IAM_INFLATE_TRUNCATED = 2,
    /// Not a valid zlib stream (bad header, preset dictionary, bad block, wrong Adler-32).
    IAM_INFLATE_CORRUPT = 3,
};

/// Inflates from `input` into `output`, adding what it read to `*consumed` and what it wrote to
/// `*produced`. Never writes past `capacity`.
int iam_inflate(iam_zstream *stream, const uint8_t *input, size_t length, size_t *consumed, uint8_t *output,
                size_t capacity, size_t *produced);

/// Makes an inflate stream ready for the next message (keeps its window allocation). 0 on success.
int iam_inflate_reset(iam_zstream *stream);

#endif
