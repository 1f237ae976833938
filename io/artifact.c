/* Atomic artifact writes and capped whole-file reads. */
#include "io/artifact.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/err.h"
#include "core/mem.h"

int ar_artifact_write(const char *path, const void *data, size_t len)
{
    char tmp[4096];
    int n = snprintf(tmp, sizeof tmp, "%s.tmpXXXXXX", path);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return ar_err_set(AR_ERR_LIMIT, "path too long: %s", path);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return ar_err_set(AR_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    const char *p = data;
    size_t left = len;
    int rc = AR_OK;
    while (left > 0 && rc == AR_OK) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            rc = ar_err_set(AR_ERR_IO, "%s: write failed: %s", path, strerror(errno));
        else {
            p += w;
            left -= (size_t)w;
        }
    }
    if (rc == AR_OK && (fchmod(fd, 0644) != 0 || fsync(fd) != 0))
        rc = ar_err_set(AR_ERR_IO, "%s: fsync failed: %s", path, strerror(errno));
    if (close(fd) != 0 && rc == AR_OK)
        rc = ar_err_set(AR_ERR_IO, "%s: close failed: %s", path, strerror(errno));
    if (rc == AR_OK && rename(tmp, path) != 0)
        rc = ar_err_set(AR_ERR_IO, "%s: rename failed: %s", path, strerror(errno));
    if (rc != AR_OK) {
        unlink(tmp);
        return rc;
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd); /* best effort: some file systems refuse fsync on directories */
        close(dfd);
    }
    return AR_OK;
}

int ar_artifact_read(const char *path, size_t cap, unsigned char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ar_err_set(errno == ENOENT ? AR_ERR_NOT_FOUND : AR_ERR_IO, "%s: cannot open: %s",
                          path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return ar_err_set(AR_ERR_FORMAT, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > cap) {
        close(fd);
        return ar_err_set(AR_ERR_LIMIT, "%s: %lld bytes is larger than the limit of %zu", path,
                          (long long)st.st_size, cap);
    }
    size_t n = (size_t)st.st_size;
    unsigned char *buf = ar_alloc(n + 1);
    if (!buf) {
        close(fd);
        return AR_ERR_NOMEM;
    }
    size_t got = 0;
    int rc = AR_OK;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
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
    if (rc != AR_OK) {
        ar_free(buf);
        return rc;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return AR_OK;
}

uint32_t ar_artifact_crc32(const void *data, size_t n)
{
    const unsigned char *p = data;
    uLong c = crc32(0L, Z_NULL, 0);
    while (n > 0) {
        uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return (uint32_t)c;
}
