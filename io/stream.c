/* Byte streams (plain file, gzip, memory) and inputs (file, directory, FIFO, memory). */
#include "io/stream.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/err.h"
#include "core/mem.h"

/* ---- plain file / FIFO ---- */

struct fd_stream {
    struct ar_stream base;
    int fd;
    unsigned char head[2]; /* bytes read while sniffing for gzip, delivered first */
    size_t head_len, head_pos;
};

static ssize_t fd_read(struct ar_stream *s, void *buf, size_t n)
{
    struct fd_stream *f = (struct fd_stream *)s;
    if (n == 0)
        return 0;
    if (f->head_pos < f->head_len) {
        size_t k = f->head_len - f->head_pos;
        if (k > n)
            k = n;
        memcpy(buf, f->head + f->head_pos, k);
        f->head_pos += k;
        s->pos += k;
        return (ssize_t)k;
    }
    for (;;) {
        ssize_t r = read(f->fd, buf, n);
        if (r >= 0) {
            s->pos += (uint64_t)r;
            return r;
        }
        if (errno != EINTR)
            return ar_err_set(AR_ERR_IO, "%s: read failed: %s", s->name, strerror(errno));
    }
}

static void fd_close(struct ar_stream *s)
{
    struct fd_stream *f = (struct fd_stream *)s;
    close(f->fd);
    ar_free((char *)s->name);
    ar_free(f);
}

static const struct ar_stream_ops fd_ops = {fd_read, fd_close};

/* ---- gzip (zlib inflate over the fd stream, concatenated members allowed) ---- */

#define GZ_CHUNK (1u << 18)

struct gz_stream {
    struct ar_stream base;
    struct ar_stream *raw;
    z_stream z;
    unsigned char *in;
    int done;
};

static ssize_t gz_read(struct ar_stream *s, void *buf, size_t n)
{
    struct gz_stream *g = (struct gz_stream *)s;
    if (g->done || n == 0)
        return 0;
    if (n > (1u << 30))
        n = 1u << 30;
    g->z.next_out = buf;
    g->z.avail_out = (uInt)n;
    while (g->z.avail_out == n) {
        if (g->z.avail_in == 0) {
            ssize_t r = g->raw->ops->read(g->raw, g->in, GZ_CHUNK);
            if (r < 0)
                return r;
            if (r == 0)
                return ar_err_set(AR_ERR_FORMAT, "%s: gzip data is truncated", s->name);
            g->z.next_in = g->in;
            g->z.avail_in = (uInt)r;
        }
        int rc = inflate(&g->z, Z_NO_FLUSH);
        if (rc == Z_STREAM_END) {
            /* Another gzip member may follow; look for more input before ending. */
            if (g->z.avail_in == 0) {
                ssize_t r = g->raw->ops->read(g->raw, g->in, GZ_CHUNK);
                if (r < 0)
                    return r;
                g->z.next_in = g->in;
                g->z.avail_in = (uInt)r;
            }
            if (g->z.avail_in == 0) {
                g->done = 1;
                break;
            }
            inflateReset(&g->z);
            continue;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR)
            return ar_err_set(AR_ERR_FORMAT, "%s: bad gzip data at byte %lu: %s", s->name,
                              (unsigned long)g->z.total_in, g->z.msg ? g->z.msg : "inflate error");
    }
    size_t got = n - g->z.avail_out;
    s->pos += got;
    return (ssize_t)got;
}

static void gz_close(struct ar_stream *s)
{
    struct gz_stream *g = (struct gz_stream *)s;
    inflateEnd(&g->z);
    ar_stream_close(g->raw);
    ar_free(g->in);
    ar_free((char *)s->name);
    ar_free(g);
}

static const struct ar_stream_ops gz_ops = {gz_read, gz_close};

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

int ar_stream_open_file(const char *path, bool sniff_gzip, struct ar_stream **out)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return ar_err_set(e == ENOENT ? AR_ERR_NOT_FOUND : AR_ERR_IO, "%s: cannot open: %s", path,
                          strerror(e));
    }
    struct fd_stream *f = ar_callocn(1, sizeof *f);
    char *name = ar_strdup(path);
    if (!f || !name) {
        close(fd);
        ar_free(f);
        ar_free(name);
        return AR_ERR_NOMEM;
    }
    f->base.ops = &fd_ops;
    f->base.name = name;
    f->fd = fd;
    int gzip = ends_with(path, ".gz");
    if (sniff_gzip && !gzip) {
        /* Sniff the gzip magic without losing the bytes (FIFOs cannot seek). */
        while (f->head_len < 2) {
            ssize_t r = read(fd, f->head + f->head_len, 2 - f->head_len);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                break;
            f->head_len += (size_t)r;
        }
        gzip = f->head_len == 2 && f->head[0] == 0x1f && f->head[1] == 0x8b;
    }
    if (!gzip) {
        *out = &f->base;
        return AR_OK;
    }
    struct gz_stream *g = ar_callocn(1, sizeof *g);
    char *gname = ar_strdup(path);
    unsigned char *in = ar_alloc(GZ_CHUNK);
    if (!g || !gname || !in || inflateInit2(&g->z, 15 + 32) != Z_OK) {
        ar_free(g);
        ar_free(gname);
        ar_free(in);
        fd_close(&f->base);
        return ar_err_set(AR_ERR_NOMEM, "%s: cannot start gzip decompression", path);
    }
    g->base.ops = &gz_ops;
    g->base.name = gname;
    g->raw = &f->base;
    g->in = in;
    *out = &g->base;
    return AR_OK;
}

/* ---- memory ---- */

struct mem_stream {
    struct ar_stream base;
    const unsigned char *data;
    size_t len, off;
};

static ssize_t mem_read(struct ar_stream *s, void *buf, size_t n)
{
    struct mem_stream *m = (struct mem_stream *)s;
    size_t k = m->len - m->off;
    if (k > n)
        k = n;
    memcpy(buf, m->data + m->off, k);
    m->off += k;
    s->pos += k;
    return (ssize_t)k;
}

static void mem_close(struct ar_stream *s)
{
    ar_free((char *)s->name);
    ar_free(s);
}

static const struct ar_stream_ops mem_ops = {mem_read, mem_close};

int ar_stream_open_mem(const void *data, size_t len, const char *name, struct ar_stream **out)
{
    *out = NULL;
    struct mem_stream *m = ar_callocn(1, sizeof *m);
    char *nm = ar_strdup(name ? name : "<memory>");
    if (!m || !nm) {
        ar_free(m);
        ar_free(nm);
        return AR_ERR_NOMEM;
    }
    m->base.ops = &mem_ops;
    m->base.name = nm;
    m->data = data;
    m->len = len;
    *out = &m->base;
    return AR_OK;
}

ssize_t ar_stream_read_full(struct ar_stream *s, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = s->ops->read(s, (char *)buf + got, n - got);
        if (r < 0)
            return r;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

void ar_stream_close(struct ar_stream *s)
{
    if (s)
        s->ops->close(s);
}

int ar_stream_slurp(struct ar_stream *s, size_t cap, char **data, size_t *len)
{
    size_t size = 1 << 16, used = 0;
    char *buf = ar_alloc(size);
    if (!buf)
        return AR_ERR_NOMEM;
    for (;;) {
        if (used + 1 >= size) {
            if (size > cap + 1) {
                ar_free(buf);
                return ar_err_set(AR_ERR_LIMIT, "%s: larger than the limit of %zu bytes", s->name,
                                  cap);
            }
            char *nb = ar_reallocn(buf, size, size, 2);
            if (!nb) {
                ar_free(buf);
                return AR_ERR_NOMEM;
            }
            buf = nb;
            size *= 2;
        }
        ssize_t r = s->ops->read(s, buf + used, size - used - 1);
        if (r < 0) {
            ar_free(buf);
            return (int)r;
        }
        if (r == 0)
            break;
        used += (size_t)r;
        if (used > cap) {
            ar_free(buf);
            return ar_err_set(AR_ERR_LIMIT, "%s: larger than the limit of %zu bytes", s->name, cap);
        }
    }
    buf[used] = '\0';
    *data = buf;
    *len = used;
    return AR_OK;
}

/* ---- inputs ---- */

struct ar_input {
    char *location;
    char **files; /* sorted paths; NULL for memory inputs */
    size_t n_files, next;
    const void *mem; /* memory input */
    size_t mem_len;
    int is_fifo;
};

struct path_list {
    char **v;
    size_t n, cap;
};

static int list_push(struct path_list *l, const char *path)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 16;
        char **nv = ar_reallocn(l->v, l->cap * sizeof *nv, nc, sizeof *nv);
        if (!nv)
            return AR_ERR_NOMEM;
        l->v = nv;
        l->cap = nc;
    }
    char *d = ar_strdup(path);
    if (!d)
        return AR_ERR_NOMEM;
    l->v[l->n++] = d;
    return AR_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collects regular files below dir (hidden names skipped), depth-first. */
static int walk(const char *dir, struct path_list *l, int depth)
{
    if (depth > 64)
        return ar_err_set(AR_ERR_LIMIT, "%s: directories nested more than 64 deep", dir);
    DIR *d = opendir(dir);
    if (!d)
        return ar_err_set(AR_ERR_IO, "%s: cannot list directory: %s", dir, strerror(errno));
    struct path_list here = {0};
    int rc = AR_OK;
    struct dirent *e;
    while (rc == AR_OK && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        size_t n = strlen(dir) + strlen(e->d_name) + 2;
        char *p = ar_alloc(n);
        if (!p) {
            rc = AR_ERR_NOMEM;
            break;
        }
        snprintf(p, n, "%s/%s", dir, e->d_name);
        rc = list_push(&here, p);
        ar_free(p);
    }
    closedir(d);
    if (here.n)
        qsort(here.v, here.n, sizeof *here.v, cmp_str);
    for (size_t i = 0; i < here.n; i++) {
        struct stat st;
        if (rc == AR_OK && stat(here.v[i], &st) == 0) {
            if (S_ISDIR(st.st_mode))
                rc = walk(here.v[i], l, depth + 1);
            else if (S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode))
                rc = list_push(l, here.v[i]);
        }
        ar_free(here.v[i]);
    }
    ar_free(here.v);
    return rc;
}

int ar_input_open(const char *location, struct ar_input **out)
{
    *out = NULL;
    struct stat st;
    if (stat(location, &st) != 0) {
        int e = errno;
        return ar_err_set(e == ENOENT ? AR_ERR_NOT_FOUND : AR_ERR_IO, "%s: %s", location,
                          e == ENOENT ? "no such file or directory" : strerror(e));
    }
    struct ar_input *in = ar_callocn(1, sizeof *in);
    if (!in)
        return AR_ERR_NOMEM;
    struct path_list l = {0};
    int rc = AR_OK;
    in->location = ar_strdup(location);
    if (!in->location)
        rc = AR_ERR_NOMEM;
    else if (S_ISDIR(st.st_mode))
        rc = walk(location, &l, 0);
    else if (S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode))
        rc = list_push(&l, location);
    else
        rc = ar_err_set(AR_ERR_INVALID, "%s: not a file, directory or FIFO", location);
    in->is_fifo = S_ISFIFO(st.st_mode);
    in->files = l.v;
    in->n_files = l.n;
    if (rc != AR_OK) {
        ar_input_close(in);
        return rc;
    }
    *out = in;
    return AR_OK;
}

int ar_input_open_mem(const void *data, size_t len, const char *name, struct ar_input **out)
{
    *out = NULL;
    struct ar_input *in = ar_callocn(1, sizeof *in);
    if (!in)
        return AR_ERR_NOMEM;
    in->location = ar_strdup(name ? name : "<memory>");
    if (!in->location) {
        ar_free(in);
        return AR_ERR_NOMEM;
    }
    in->mem = data;
    in->mem_len = len;
    in->n_files = 1;
    *out = in;
    return AR_OK;
}

int ar_input_next(struct ar_input *in, struct ar_stream **out)
{
    *out = NULL;
    if (in->next >= in->n_files)
        return AR_OK;
    size_t i = in->next++;
    if (!in->files)
        return ar_stream_open_mem(in->mem, in->mem_len, in->location, out);
    return ar_stream_open_file(in->files[i], true, out);
}

int ar_input_rewind(struct ar_input *in)
{
    if (in->is_fifo)
        return ar_err_set(AR_ERR_UNSUPPORTED, "%s: a FIFO can be read only once", in->location);
    in->next = 0;
    return AR_OK;
}

size_t ar_input_n_files(const struct ar_input *in)
{
    return in->n_files;
}

const char *ar_input_location(const struct ar_input *in)
{
    return in->location;
}

void ar_input_close(struct ar_input *in)
{
    if (!in)
        return;
    for (size_t i = 0; in->files && i < in->n_files; i++)
        ar_free(in->files[i]);
    ar_free(in->files);
    ar_free(in->location);
    ar_free(in);
}
