/* Model artifact files: whole-file reads with a size cap, atomic writes (a temp file in the
 * same directory, fsync, rename, then fsync of the directory, so a reader never sees half a
 * file), and the little-endian fields and CRC32 of the versioned binary formats. */
#ifndef AR_IO_ARTIFACT_H
#define AR_IO_ARTIFACT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Writes data to path atomically, mode 0644. AR_ERR_IO naming the file. */
int ar_artifact_write(const char *path, const void *data, size_t len);
/* Reads a whole regular file (ar_alloc'd, NUL-terminated; *len excludes the NUL), refusing
 * more than `cap` bytes with AR_ERR_LIMIT. AR_ERR_NOT_FOUND "cannot open" when missing. */
int ar_artifact_read(const char *path, size_t cap, unsigned char **data, size_t *len);
/* zlib's CRC32 of n bytes. */
uint32_t ar_artifact_crc32(const void *p, size_t n);

static inline void ar_le_put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static inline void ar_le_put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint32_t ar_le_get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

static inline uint64_t ar_le_get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static inline void ar_le_put_f32(unsigned char *p, float f)
{
    uint32_t v;
    memcpy(&v, &f, 4);
    ar_le_put_u32(p, v);
}

static inline float ar_le_get_f32(const unsigned char *p)
{
    uint32_t v = ar_le_get_u32(p);
    float f;
    memcpy(&f, &v, 4);
    return f;
}

static inline void ar_le_put_f64(unsigned char *p, double f)
{
    uint64_t v;
    memcpy(&v, &f, 8);
    ar_le_put_u64(p, v);
}

static inline double ar_le_get_f64(const unsigned char *p)
{
    uint64_t v = ar_le_get_u64(p);
    double f;
    memcpy(&f, &v, 8);
    return f;
}

#endif
