/* Line and blank scanning shared by the text readers (io/csv.c, io/libsvm.c); io-internal.
 * Blanks around fields are spaces and tabs; a line is blank when it holds nothing but spaces,
 * tabs and carriage returns; a line ends at LF, CRLF or the end of the buffer. */
#ifndef AR_IO_TEXT_IMPL_H
#define AR_IO_TEXT_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

static inline const char *ar_text_skip_blanks(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

/* Skips spaces, tabs and CRs: the line is blank when this reaches e or '\n'. */
static inline const char *ar_text_skip_space(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\r'))
        p++;
    return p;
}

/* True at the end of a line: end of buffer, LF, or CR followed by LF or the end. */
static inline bool ar_text_at_eol(const char *p, const char *e)
{
    return p == e || *p == '\n' || (*p == '\r' && (p + 1 == e || p[1] == '\n'));
}

/* From a position where ar_text_at_eol holds, the start of the next line. */
static inline const char *ar_text_next_line(const char *p, const char *e)
{
    if (p < e && *p == '\r')
        p++;
    return p < e ? p + 1 : e;
}

/* Copies n bytes of input for an error message: at most 40, control bytes and bytes >= 0x7f
 * shown as '?', "..." when cut. out has room for cap >= 48 bytes. */
static inline void ar_text_quote(const char *p, size_t n, char *out, size_t cap)
{
    size_t k = 0, lim = n > 40 ? 40 : n;
    for (size_t i = 0; i < lim && k + 1 < cap; i++) {
        unsigned char c = (unsigned char)p[i];
        out[k++] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
    }
    if (n > lim)
        for (int i = 0; i < 3 && k + 1 < cap; i++)
            out[k++] = '.';
    out[k] = '\0';
}

/* Where chunk t of n_chunks over [b0, end) ends, given that the previous chunk ended at prev:
 * the first line start at or after t's share of the bytes (end for the last chunk), so every
 * chunk holds whole lines and parallel parsers agree with a serial one. */
static inline const char *ar_text_chunk_end(const char *b0, const char *end, const char *prev,
                                            size_t t, size_t n_chunks)
{
    if (t + 1 >= n_chunks)
        return end;
    size_t span = (size_t)(end - b0);
    const char *cut = b0 + (size_t)((double)span * (double)(t + 1) / (double)n_chunks);
    if (cut < prev)
        cut = prev;
    if (cut > b0 && cut < end) {
        const char *nl = memchr(cut - 1, '\n', (size_t)(end - cut + 1));
        cut = nl ? nl + 1 : end;
    }
    return cut;
}

#endif
