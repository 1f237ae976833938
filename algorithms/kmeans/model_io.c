/* The k-means model and its file `model_algo-1` (layout in README.md):
 *
 *   0  char[8]  magic "ARKMEANS"
 *   8  u32      format version (1)
 *  12  u32      reserved, 0
 *  16  u64      k
 *  24  u64      dim
 *  32  f32[k*dim] centres, row-major (centre i = row i)
 *  ..  u32      CRC-32 (zlib) of every byte before it
 *
 * All integers and floats little-endian. Saving writes a temporary file in the model directory,
 * fsyncs it, renames it into place and fsyncs the directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "algorithms/kmeans/kmeans.h"
#include "core/err.h"
#include "core/mem.h"

#define MAGIC       "ARKMEANS"
#define VERSION     1u
#define HEADER_SIZE 32u
/* Refuse model files above 4 GiB of centres. */
#define MAX_CELLS ((uint64_t)1 << 30)

int ar_km_model_new(size_t k, size_t dim, struct ar_km_model **out)
{
    *out = NULL;
    size_t cells;
    if (ar_mul_overflow(k, dim, &cells))
        return ar_err_set(AR_ERR_LIMIT, "k-means: %zu x %zu centres are too many", k, dim);
    struct ar_km_model *m = ar_callocn(1, sizeof *m);
    if (!m)
        return AR_ERR_NOMEM;
    m->centres = ar_callocn(cells ? cells : 1, sizeof *m->centres);
    if (!m->centres) {
        ar_free(m);
        return AR_ERR_NOMEM;
    }
    m->base.algo = &ar_algo_kmeans;
    m->k = k;
    m->dim = dim;
    *out = m;
    return AR_OK;
}

void ar_km_model_free(struct ar_km_model *m)
{
    if (!m)
        return;
    ar_free(m->centres);
    ar_free(m);
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static uint32_t crc_of(const unsigned char *p, size_t n)
{
    uLong c = crc32(0L, Z_NULL, 0);
    while (n > 0) {
        uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return (uint32_t)c;
}

int ar_km_model_encode(const struct ar_km_model *m, unsigned char **buf, size_t *len)
{
    size_t cells = m->k * m->dim;
    size_t n = HEADER_SIZE + cells * 4 + 4;
    unsigned char *b = ar_alloc(n);
    if (!b)
        return AR_ERR_NOMEM;
    memcpy(b, MAGIC, 8);
    put_u32(b + 8, VERSION);
    put_u32(b + 12, 0);
    put_u64(b + 16, m->k);
    put_u64(b + 24, m->dim);
    for (size_t i = 0; i < cells; i++) {
        uint32_t u;
        memcpy(&u, &m->centres[i], 4);
        put_u32(b + HEADER_SIZE + 4 * i, u);
    }
    put_u32(b + n - 4, crc_of(b, n - 4));
    *buf = b;
    *len = n;
    return AR_OK;
}

int ar_km_model_decode(const unsigned char *buf, size_t len, const char *what,
                       struct ar_km_model **out)
{
    *out = NULL;
    if (len < 8 || memcmp(buf, MAGIC, 8) != 0)
        return ar_err_set(AR_ERR_FORMAT, "%s: not an algorun k-means model (bad magic)", what);
    if (len < HEADER_SIZE + 4)
        return ar_err_set(AR_ERR_FORMAT, "%s: truncated k-means model (%zu bytes)", what, len);
    uint32_t version = get_u32(buf + 8);
    if (version != VERSION)
        return ar_err_set(AR_ERR_FORMAT,
                          "%s: k-means model format version %u is not supported (this build "
                          "reads version %u)",
                          what, version, VERSION);
    uint64_t k = get_u64(buf + 16), dim = get_u64(buf + 24);
    if (k == 0 || dim == 0 || k > MAX_CELLS || dim > MAX_CELLS || k * dim > MAX_CELLS)
        return ar_err_set(AR_ERR_FORMAT, "%s: invalid k-means model sizes k = %llu, dim = %llu",
                          what, (unsigned long long)k, (unsigned long long)dim);
    uint64_t want = HEADER_SIZE + k * dim * 4 + 4;
    if (len != want)
        return ar_err_set(AR_ERR_FORMAT,
                          "%s: k-means model of k = %llu, dim = %llu must be %llu bytes, the file "
                          "has %zu (truncated or trailing data)",
                          what, (unsigned long long)k, (unsigned long long)dim,
                          (unsigned long long)want, len);
    uint32_t crc = get_u32(buf + len - 4), have = crc_of(buf, len - 4);
    if (crc != have)
        return ar_err_set(AR_ERR_FORMAT,
                          "%s: k-means model checksum mismatch (stored %08x, computed %08x): the "
                          "file is corrupt",
                          what, crc, have);
    struct ar_km_model *m;
    AR_TRY(ar_km_model_new((size_t)k, (size_t)dim, &m));
    for (size_t i = 0; i < k * dim; i++) {
        uint32_t u = get_u32(buf + HEADER_SIZE + 4 * i);
        memcpy(&m->centres[i], &u, 4);
        if (!isfinite(m->centres[i])) {
            ar_km_model_free(m);
            return ar_err_set(AR_ERR_FORMAT, "%s: centre %zu has a non-finite value", what,
                              i / (size_t)dim);
        }
    }
    *out = m;
    return AR_OK;
}

static int write_all(int fd, const unsigned char *p, size_t n, const char *path)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return ar_err_set(AR_ERR_IO, "%s: write failed: %s", path, strerror(errno));
        }
        p += w;
        n -= (size_t)w;
    }
    return AR_OK;
}

int ar_km_model_save(const struct ar_model *base, const char *dir)
{
    const struct ar_km_model *m = (const struct ar_km_model *)base;
    char path[4096], tmp[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, AR_KM_MODEL_FILE) >= sizeof path ||
        (size_t)snprintf(tmp, sizeof tmp, "%s/.%s.tmp.%ld", dir, AR_KM_MODEL_FILE,
                         (long)getpid()) >= sizeof tmp)
        return ar_err_set(AR_ERR_LIMIT, "model directory path is too long: %s", dir);
    unsigned char *buf;
    size_t len;
    AR_TRY(ar_km_model_encode(m, &buf, &len));
    int rc = AR_OK;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = ar_err_set(AR_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
        goto done;
    }
    rc = write_all(fd, buf, len, tmp);
    if (rc == AR_OK && fsync(fd) != 0)
        rc = ar_err_set(AR_ERR_IO, "%s: fsync failed: %s", tmp, strerror(errno));
    if (close(fd) != 0 && rc == AR_OK)
        rc = ar_err_set(AR_ERR_IO, "%s: close failed: %s", tmp, strerror(errno));
    if (rc == AR_OK && rename(tmp, path) != 0)
        rc = ar_err_set(AR_ERR_IO, "%s: rename to %s failed: %s", tmp, path, strerror(errno));
    if (rc != AR_OK) {
        unlink(tmp);
        goto done;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd); /* best effort: some file systems refuse fsync on directories */
        close(dfd);
    }
done:
    ar_free(buf);
    return rc;
}

int ar_km_model_load(const char *dir, struct ar_model **out)
{
    *out = NULL;
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, AR_KM_MODEL_FILE) >= sizeof path)
        return ar_err_set(AR_ERR_LIMIT, "model directory path is too long: %s", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ar_err_set(errno == ENOENT ? AR_ERR_NOT_FOUND : AR_ERR_IO, "%s: cannot open: %s",
                          path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return ar_err_set(AR_ERR_FORMAT, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > HEADER_SIZE + MAX_CELLS * 4 + 4) {
        close(fd);
        return ar_err_set(AR_ERR_LIMIT, "%s: %lld bytes is too large for a k-means model", path,
                          (long long)st.st_size);
    }
    size_t len = (size_t)st.st_size;
    unsigned char *buf = ar_alloc(len);
    if (!buf) {
        close(fd);
        return AR_ERR_NOMEM;
    }
    size_t got = 0;
    int rc = AR_OK;
    while (got < len) {
        ssize_t r = read(fd, buf + got, len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = r < 0 ? ar_err_set(AR_ERR_IO, "%s: read failed: %s", path, strerror(errno))
                       : ar_err_set(AR_ERR_FORMAT, "%s: file shrank while reading", path);
            break;
        }
        got += (size_t)r;
    }
    close(fd);
    struct ar_km_model *m = NULL;
    if (rc == AR_OK)
        rc = ar_km_model_decode(buf, len, path, &m);
    ar_free(buf);
    if (rc == AR_OK)
        *out = &m->base;
    return rc;
}
