/* Opening a channel as a batch source: File mode (file or directory), Pipe mode (one FIFO per
 * epoch), or data already in memory. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "algorithms/algo.h"
#include "core/err.h"
#include "core/mem.h"

/* ---- in-memory channel ---- */

struct mem_source {
    struct ar_batch_source base;
    const struct ar_batch *data;
    size_t next_row;
};

static int mem_next(struct ar_batch_source *s, size_t max_rows, struct ar_batch *out)
{
    struct mem_source *m = (struct mem_source *)s;
    size_t n = m->data->n_rows - m->next_row;
    if (n > max_rows)
        n = max_rows;
    *out = ar_batch_rows(m->data, m->next_row, m->next_row + n);
    m->next_row += n;
    return AR_OK;
}

static int mem_reset(struct ar_batch_source *s)
{
    ((struct mem_source *)s)->next_row = 0;
    return AR_OK;
}

static void mem_close(struct ar_batch_source *s)
{
    ar_free(s);
}

static const struct ar_batch_source_ops mem_ops = {mem_next, mem_reset, mem_close};

/* ---- Pipe mode: <prefix>_0, <prefix>_1, ... one FIFO per pass ---- */

struct pipe_source {
    struct ar_batch_source base;
    const struct ar_channel *ch;
    struct ar_batch_source *cur;
    unsigned epoch;
};

/* Waits for <prefix>_<epoch> to exist: SageMaker may create the next FIFO late. */
static int open_fifo(struct pipe_source *p)
{
    char path[4096];
    int n = snprintf(path, sizeof path, "%s_%u", p->ch->location, p->epoch);
    if (n < 0 || (size_t)n >= sizeof path)
        return ar_err_set(AR_ERR_LIMIT, "channel '%s': path too long", p->ch->name);
    struct stat st;
    for (int waited_ms = 0; stat(path, &st) != 0; waited_ms += 50) {
        if (errno != ENOENT)
            return ar_err_set(AR_ERR_IO, "channel '%s': %s: %s", p->ch->name, path,
                              strerror(errno));
        if (waited_ms >= 60000)
            return ar_err_set(AR_ERR_NOT_FOUND,
                              "channel '%s': Pipe-mode FIFO %s did not appear within 60 s",
                              p->ch->name, path);
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    struct ar_input *in;
    AR_TRY(ar_input_open(path, &in));
    return ar_batch_source_open(in, &p->ch->fmt, &p->cur);
}

static int pipe_next(struct ar_batch_source *s, size_t max_rows, struct ar_batch *out)
{
    struct pipe_source *p = (struct pipe_source *)s;
    int rc = ar_batch_source_next(p->cur, max_rows, out);
    s->n_cols = p->cur->n_cols;
    s->has_labels = p->cur->has_labels;
    return rc;
}

static int pipe_reset(struct ar_batch_source *s)
{
    struct pipe_source *p = (struct pipe_source *)s;
    ar_batch_source_close(p->cur);
    p->cur = NULL;
    p->epoch++;
    return open_fifo(p);
}

static void pipe_close(struct ar_batch_source *s)
{
    struct pipe_source *p = (struct pipe_source *)s;
    ar_batch_source_close(p->cur);
    ar_free(p);
}

static const struct ar_batch_source_ops pipe_ops = {pipe_next, pipe_reset, pipe_close};

int ar_channel_open(const struct ar_channel *ch, struct ar_batch_source **out)
{
    *out = NULL;
    if (ch->preloaded) {
        struct mem_source *m = ar_callocn(1, sizeof *m);
        if (!m)
            return AR_ERR_NOMEM;
        m->base.ops = &mem_ops;
        m->base.n_cols = ch->preloaded->n_cols;
        m->base.has_labels = ch->preloaded->labels != NULL;
        m->data = ch->preloaded;
        *out = &m->base;
        return AR_OK;
    }
    if (ch->mode == AR_INPUT_PIPE) {
        struct pipe_source *p = ar_callocn(1, sizeof *p);
        if (!p)
            return AR_ERR_NOMEM;
        p->base.ops = &pipe_ops;
        p->ch = ch;
        int rc = open_fifo(p);
        if (rc != AR_OK) {
            ar_free(p);
            return rc;
        }
        *out = &p->base;
        return AR_OK;
    }
    struct ar_input *in;
    int rc = ar_input_open(ch->location, &in);
    if (rc == AR_OK)
        rc = ar_batch_source_open(in, &ch->fmt, out);
    if (rc != AR_OK)
        ar_err_prefix("channel '%s': ", ch->name);
    return rc;
}
