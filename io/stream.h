/* Byte streams and the inputs that yield them (redis rio.h style: one type, several backends).
 *
 * A stream reads bytes from one file: plain, gzip-compressed (".gz", zlib) or a FIFO; or from
 * a memory buffer (request bodies). An input is an ordered sequence of streams: a file, a
 * directory (every regular file below it in sorted path order, hidden files and folders
 * skipped), or one Pipe-mode FIFO. Readers of every format pull streams from an input, so a
 * record never spans two files and every error can name the file it is in.
 *
 * Locations are strings; local paths now, "s3://" and "https://" (libcurl) plug in as more
 * backends of ar_input_open without touching any reader.
 */
#ifndef AR_IO_STREAM_H
#define AR_IO_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ar_stream;

struct ar_stream_ops {
    /* Reads up to n bytes; returns bytes read, 0 at end, or a negative status (message set). */
    ssize_t (*read)(struct ar_stream *s, void *buf, size_t n);
    void (*close)(struct ar_stream *s);
};

struct ar_stream {
    const struct ar_stream_ops *ops;
    const char *name; /* path or "<request body>", for messages; owned by the stream */
    uint64_t pos;     /* bytes delivered so far (decompressed) */
};

/* Opens a local file; ".gz" files (or any file starting with the gzip magic when
 * `sniff_gzip`) are decompressed on the fly. AR_ERR_NOT_FOUND / AR_ERR_IO. */
int ar_stream_open_file(const char *path, bool sniff_gzip, struct ar_stream **out);
/* A stream over caller memory (borrowed, must outlive the stream). */
int ar_stream_open_mem(const void *data, size_t len, const char *name, struct ar_stream **out);
/* Reads until buf is full or the stream ends; returns bytes read or a negative status. */
ssize_t ar_stream_read_full(struct ar_stream *s, void *buf, size_t n);
void ar_stream_close(struct ar_stream *s); /* NULL is a no-op */

/* Reads a whole stream into one ar_alloc'd buffer (NUL-terminated; *len excludes the NUL),
 * refusing more than `cap` bytes with AR_ERR_LIMIT. */
int ar_stream_slurp(struct ar_stream *s, size_t cap, char **data, size_t *len);

struct ar_input;

/* Opens a location: a file, a directory, or a FIFO. AR_ERR_NOT_FOUND when it does not exist.
 * An empty directory is a valid input of zero streams. */
int ar_input_open(const char *location, struct ar_input **out);
/* A single-stream input over memory (for request bodies and tests). */
int ar_input_open_mem(const void *data, size_t len, const char *name, struct ar_input **out);
/* Next stream, or *out = NULL at the end. The caller closes each stream it gets. */
int ar_input_next(struct ar_input *in, struct ar_stream **out);
/* Restarts from the first stream (a new pass over the same files). AR_ERR_UNSUPPORTED for
 * FIFOs, which are read once. */
int ar_input_rewind(struct ar_input *in);
/* Number of files (0 for a FIFO until read) and the location string. */
size_t ar_input_n_files(const struct ar_input *in);
const char *ar_input_location(const struct ar_input *in);
void ar_input_close(struct ar_input *in);

#endif
