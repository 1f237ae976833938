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
#include "io/artifact.h"

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

int ar_km_model_encode(const struct ar_km_model *m, unsigned char **buf, size_t *len)
{
    size_t cells = m->k * m->dim;
    size_t n = HEADER_SIZE + cells * 4 + 4;
    unsigned char *b = ar_alloc(n);
    if (!b)
        return AR_ERR_NOMEM;
    memcpy(b, MAGIC, 8);
    ar_le_put_u32(b + 8, VERSION);
    ar_le_put_u32(b + 12, 0);
    ar_le_put_u64(b + 16, m->k);
    ar_le_put_u64(b + 24, m->dim);
    for (size_t i = 0; i < cells; i++) {
        uint32_t u;
        memcpy(&u, &m->centres[i], 4);
        ar_le_put_u32(b + HEADER_SIZE + 4 * i, u);
    }
    ar_le_put_u32(b + n - 4, ar_artifact_crc32(b, n - 4));
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
    uint32_t version = ar_le_get_u32(buf + 8);
    if (version != VERSION)
        return ar_err_set(AR_ERR_FORMAT,
                          "%s: k-means model format version %u is not supported (this build "
                          "reads version %u)",
                          what, version, VERSION);
    uint64_t k = ar_le_get_u64(buf + 16), dim = ar_le_get_u64(buf + 24);
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
    uint32_t crc = ar_le_get_u32(buf + len - 4), have = ar_artifact_crc32(buf, len - 4);
    if (crc != have)
        return ar_err_set(AR_ERR_FORMAT,
                          "%s: k-means model checksum mismatch (stored %08x, computed %08x): the "
                          "file is corrupt",
                          what, crc, have);
    struct ar_km_model *m;
    AR_TRY(ar_km_model_new((size_t)k, (size_t)dim, &m));
    for (size_t i = 0; i < k * dim; i++) {
        uint32_t u = ar_le_get_u32(buf + HEADER_SIZE + 4 * i);
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

int ar_km_model_save(const struct ar_model *base, const char *dir)
{
    const struct ar_km_model *m = (const struct ar_km_model *)base;
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, AR_KM_MODEL_FILE) >= sizeof path)
        return ar_err_set(AR_ERR_LIMIT, "model directory path is too long: %s", dir);
    unsigned char *buf;
    size_t len;
    AR_TRY(ar_km_model_encode(m, &buf, &len));
    int rc = ar_artifact_write(path, buf, len);
    ar_free(buf);
    return rc;
}

int ar_km_model_load(const char *dir, struct ar_model **out)
{
    *out = NULL;
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, AR_KM_MODEL_FILE) >= sizeof path)
        return ar_err_set(AR_ERR_LIMIT, "model directory path is too long: %s", dir);
    unsigned char *buf;
    size_t len;
    int rc = ar_artifact_read(path, HEADER_SIZE + MAX_CELLS * 4 + 4, &buf, &len);
    if (rc != AR_OK)
        return rc;
    struct ar_km_model *m = NULL;
    rc = ar_km_model_decode(buf, len, path, &m);
    ar_free(buf);
    if (rc == AR_OK)
        *out = &m->base;
    return rc;
}
