/* Evaluates one core/metrics metric on a case read from stdin, for tests/e2e/test_metrics.py.
 *
 * Input: one "key values..." line per field, values separated by blanks:
 *   metric <name>      required; see the table below
 *   param <double>     eps, threshold, delta, rho or beta (metric-dependent)
 *   k <int>            number of classes (matrix metrics) / centres (ssd, msd)
 *   top_k <int>        for top_k_accuracy
 *   d <int>            columns of x and of the centres (ssd, msd)
 *   y <floats>         labels (n values; defines n)
 *   p <floats>         predictions: n values, or n * k row-major for matrix metrics
 *   w <floats>         optional weights
 *   x <floats>         n * d points (ssd, msd; defines n)
 *   c <floats>         k * d centres (ssd, msd)
 * Values are parsed with strtod and stored as float, so decimal float32 values are exact.
 * Output: the value with %.17g on stdout and exit 0, or "error: <message>" on stderr and
 * exit 1 (exit 2 for a malformed case).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/metrics.h"

struct vec {
    float *v;
    size_t n;
    int set;
};

struct eval_case {
    char metric[64];
    double param;
    int has_param;
    size_t k, top_k, d;
    struct vec y, p, w, x, c;
};

static void die(const char *msg, const char *what)
{
    fprintf(stderr, "metric_eval: %s%s\n", msg, what ? what : "");
    exit(2);
}

static size_t parse_size(const char *s)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || v < 0)
        die("bad integer: ", s);
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end)
        die("trailing text after integer: ", s);
    return (size_t)v;
}

static void parse_floats(char *s, struct vec *out)
{
    size_t cap = 16, n = 0;
    float *v = malloc(cap * sizeof *v);
    if (!v)
        die("out of memory", NULL);
    for (;;) {
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s)
            break;
        char *end;
        errno = 0;
        double d = strtod(s, &end);
        if (end == s || (*end && *end != ' ' && *end != '\t'))
            die("bad number: ", s);
        if (n == cap) {
            cap *= 2;
            float *nv = realloc(v, cap * sizeof *v);
            if (!nv)
                die("out of memory", NULL);
            v = nv;
        }
        v[n++] = (float)d;
        s = end;
    }
    free(out->v);
    out->v = v;
    out->n = n;
    out->set = 1;
}

static void parse_line(char *line, struct eval_case *ec)
{
    char *sp = line + strcspn(line, " \t");
    char *rest = *sp ? sp + 1 : sp;
    *sp = '\0';
    if (!*line)
        return;
    if (strcmp(line, "metric") == 0) {
        size_t len = strcspn(rest, " \t");
        if (len == 0 || len >= sizeof ec->metric)
            die("bad metric name: ", rest);
        memcpy(ec->metric, rest, len);
        ec->metric[len] = '\0';
    } else if (strcmp(line, "param") == 0) {
        char *end;
        ec->param = strtod(rest, &end);
        if (end == rest)
            die("bad param: ", rest);
        ec->has_param = 1;
    } else if (strcmp(line, "k") == 0) {
        ec->k = parse_size(rest);
    } else if (strcmp(line, "top_k") == 0) {
        ec->top_k = parse_size(rest);
    } else if (strcmp(line, "d") == 0) {
        ec->d = parse_size(rest);
    } else if (strcmp(line, "y") == 0) {
        parse_floats(rest, &ec->y);
    } else if (strcmp(line, "p") == 0) {
        parse_floats(rest, &ec->p);
    } else if (strcmp(line, "w") == 0) {
        parse_floats(rest, &ec->w);
    } else if (strcmp(line, "x") == 0) {
        parse_floats(rest, &ec->x);
    } else if (strcmp(line, "c") == 0) {
        parse_floats(rest, &ec->c);
    } else {
        die("unknown key: ", line);
    }
}

static char *read_all(FILE *f)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    if (!buf)
        die("out of memory", NULL);
    for (;;) {
        if (n + 1 >= cap) {
            if (cap >= ((size_t)1 << 30))
                die("input too large", NULL);
            cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb)
                die("out of memory", NULL);
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - 1 - n, f);
        if (got == 0)
            break;
        n += got;
    }
    buf[n] = '\0';
    return buf;
}

static double need_param(const struct eval_case *ec)
{
    if (!ec->has_param)
        die("this metric needs 'param': ", ec->metric);
    return ec->param;
}

/* Element-wise metrics with the signature (y, p, w, n, out). */
typedef int (*plain_fn)(const float *, const float *, const float *, size_t, double *);
/* ... and with one scalar parameter before out. */
typedef int (*param_fn)(const float *, const float *, const float *, size_t, double, double *);

static const struct {
    const char *name;
    plain_fn fn;
} plain[] = {
    {"auc", ar_metric_auc},
    {"average_precision", ar_metric_average_precision},
    {"accuracy", ar_metric_accuracy},
    {"mse", ar_metric_mse},
    {"rmse", ar_metric_rmse},
    {"mae", ar_metric_mae},
    {"mape", ar_metric_mape},
    {"r2", ar_metric_r2},
    {"rmsle", ar_metric_rmsle},
    {"poisson_nloglik", ar_metric_poisson_nloglik},
    {"gamma_nloglik", ar_metric_gamma_nloglik},
    {"gamma_deviance", ar_metric_gamma_deviance},
    {"gamma_deviance_xgb", ar_metric_gamma_deviance_xgb},
    {"poisson_deviance", ar_metric_poisson_deviance},
};

static const struct {
    const char *name;
    param_fn fn;
} with_param[] = {
    {"logloss", ar_metric_logloss},
    {"error_at", ar_metric_error_at},
    {"mphe", ar_metric_mphe},
    {"tweedie_deviance", ar_metric_tweedie_deviance},
    {"tweedie_nloglik", ar_metric_tweedie_nloglik},
};

static int evaluate(const struct eval_case *ec, double *out)
{
    const float *y = ec->y.v, *p = ec->p.v, *w = ec->w.set ? ec->w.v : NULL;
    size_t n = ec->y.n;
    if (ec->w.set && ec->w.n != n)
        die("w must have as many values as y", NULL);
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
        if (strcmp(ec->metric, plain[i].name) == 0) {
            if (ec->p.n != n)
                die("p must have as many values as y", NULL);
            return plain[i].fn(y, p, w, n, out);
        }
    for (size_t i = 0; i < sizeof with_param / sizeof with_param[0]; i++)
        if (strcmp(ec->metric, with_param[i].name) == 0) {
            if (ec->p.n != n)
                die("p must have as many values as y", NULL);
            return with_param[i].fn(y, p, w, n, need_param(ec), out);
        }
    const char *m = ec->metric;
    if (strcmp(m, "precision") == 0 || strcmp(m, "recall") == 0 || strcmp(m, "fbeta") == 0) {
        if (ec->p.n != n)
            die("p must have as many values as y", NULL);
        struct ar_confusion c;
        AR_TRY(ar_metric_confusion(y, p, w, n, &c));
        *out = m[0] == 'p'   ? ar_metric_precision(&c)
               : m[0] == 'r' ? ar_metric_recall(&c)
                             : ar_metric_fbeta(&c, need_param(ec));
        return AR_OK;
    }
    if (strncmp(m, "macro_", 6) == 0) {
        if (ec->p.n != n)
            die("p must have as many values as y", NULL);
        double pr, rc, f;
        AR_TRY(
            ar_metric_macro_prf(y, p, w, n, ec->k, ec->has_param ? ec->param : 1.0, &pr, &rc, &f));
        if (strcmp(m, "macro_precision") == 0)
            *out = pr;
        else if (strcmp(m, "macro_recall") == 0)
            *out = rc;
        else if (strcmp(m, "macro_f") == 0)
            *out = f;
        else
            die("unknown metric: ", m);
        return AR_OK;
    }
    if (strcmp(m, "mlogloss") == 0 || strcmp(m, "merror") == 0 ||
        strcmp(m, "top_k_accuracy") == 0) {
        if (ec->p.n != n * ec->k)
            die("p must have n * k values", NULL);
        if (m[0] == 'm' && m[1] == 'l')
            return ar_metric_mlogloss(y, p, ec->k, w, n, need_param(ec), out);
        if (m[0] == 'm')
            return ar_metric_merror(y, p, ec->k, w, n, out);
        return ar_metric_top_k_accuracy(y, p, ec->k, ec->top_k, w, n, out);
    }
    if (strcmp(m, "ssd") == 0 || strcmp(m, "msd") == 0) {
        size_t d = ec->d, nx = d ? ec->x.n / d : 0;
        if (d && (ec->x.n % d || ec->c.n != ec->k * d))
            die("x must have n * d values and c k * d values", NULL);
        return (m[0] == 's' ? ar_metric_ssd : ar_metric_msd)(ec->x.v, nx, d, d, ec->c.v, ec->k,
                                                             out);
    }
    die("unknown metric: ", m);
    return AR_ERR_INTERNAL;
}

int main(void)
{
    struct eval_case ec = {0};
    char *buf = read_all(stdin);
    for (char *line = buf; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        parse_line(line, &ec);
        line = nl ? nl + 1 : NULL;
    }
    free(buf);
    if (!ec.metric[0])
        die("no 'metric' line", NULL);
    double v = 0;
    int rc = evaluate(&ec, &v);
    free(ec.y.v);
    free(ec.p.v);
    free(ec.w.v);
    free(ec.x.v);
    free(ec.c.v);
    if (rc != AR_OK) {
        fprintf(stderr, "error: %s\n", ar_err_msg());
        return 1;
    }
    printf("%.17g\n", v);
    return 0;
}
