/* `algorun serve`: /ping, /invocations and /execution-parameters on libmicrohttpd, with a
 * thread pool, a request size limit, Accept negotiation, an access log and clean shutdown. */
#include "container/server.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container/cli.h"
#include "container/codec.h"
#include "container/job.h"
#include "container/tarball.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/par.h"
#include "core/timer.h"

struct server {
    const struct ar_algo *algo;
    const struct ar_model *model;
    size_t max_payload;
    int workers;
    enum ar_content default_accept;
    int batch_mode;          /* SAGEMAKER_BATCH */
    const char *select_spec; /* SAGEMAKER_INFERENCE_OUTPUT */
    unsigned content_mask;   /* bit c: the algorithm accepts requests of enum ar_content c */
};

/* Per-request state. Bodies up to sizeof small stay in the request (one allocation per
 * request for the usual small body); larger ones get a heap buffer. */
struct request {
    double start;
    char method[8];
    char path[96];
    char *body;
    size_t len, cap;
    int too_large;
    char small[2048];
};

/* ---- model loading ---- */

void ar_server_remove_tmp(char *tmp_dir)
{
    if (tmp_dir) {
        ar_remove_tree(tmp_dir);
        ar_free(tmp_dir);
    }
}

int ar_server_load_model(const char *model_dir, const char *algo_id, const struct ar_algo **algo,
                         struct ar_model **model, char **tmp_dir)
{
    *tmp_dir = NULL;
    *model = NULL;
    struct stat st;
    if (stat(model_dir, &st) != 0)
        return ar_err_set(AR_ERR_NOT_FOUND, "model %s: %s", model_dir, strerror(errno));
    const char *dir = model_dir;
    if (S_ISREG(st.st_mode)) {
        char tmpl[] = "/tmp/algorun-model-XXXXXX";
        if (!mkdtemp(tmpl))
            return ar_err_set(AR_ERR_IO, "cannot make a temp directory: %s", strerror(errno));
        *tmp_dir = ar_strdup(tmpl);
        if (!*tmp_dir) {
            rmdir(tmpl);
            return AR_ERR_NOMEM;
        }
        int rc = ar_tarball_unpack(model_dir, *tmp_dir);
        if (rc != AR_OK) {
            ar_server_remove_tmp(*tmp_dir);
            *tmp_dir = NULL;
            return rc;
        }
        dir = *tmp_dir;
    }
    if (algo_id && *algo_id) {
        int rc = ar_algo_find(algo_id, algo);
        if (rc == AR_OK)
            rc = (*algo)->load(dir, model);
        if (rc != AR_OK) {
            ar_err_prefix("loading %s model from %s: ", algo_id, model_dir);
            ar_server_remove_tmp(*tmp_dir);
            *tmp_dir = NULL;
        }
        return rc;
    }
    /* No algorithm named: the first whose loader accepts the files. */
    char reasons[AR_ERR_MSG_SIZE] = "";
    size_t used = 0;
    for (const struct ar_algo *const *a = ar_algos; *a; a++) {
        if ((*a)->load(dir, model) == AR_OK) {
            *algo = *a;
            return AR_OK;
        }
        used += (size_t)snprintf(reasons + used, used < sizeof reasons ? sizeof reasons - used : 0,
                                 "%s%s: %s", used ? "; " : "", (*a)->id, ar_err_msg());
        if (used >= sizeof reasons)
            used = sizeof reasons - 1;
    }
    ar_server_remove_tmp(*tmp_dir);
    *tmp_dir = NULL;
    return ar_err_set(AR_ERR_FORMAT, "no algorithm can load the model in %s (%s)", model_dir,
                      reasons);
}

/* ---- responses ---- */

/* Copies a NUL-terminated string into out[cap], cut to fit. */
static void copy_str(char *out, size_t cap, const char *s)
{
    size_t n = strlen(s);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, const char *ctype,
                               const char *body, size_t len, const char *allow)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    if (ctype)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (allow)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Responds with out's bytes without copying them: libmicrohttpd frees the buffer when the
 * response is done (out is left empty either way). */
static enum MHD_Result respond_buf(struct MHD_Connection *c, unsigned status, const char *ctype,
                                   struct ar_buf *out)
{
    if (!out->data)
        return respond(c, status, ctype, "", 0, NULL);
    struct MHD_Response *r =
        MHD_create_response_from_buffer_with_free_callback(out->len, out->data, ar_free);
    if (!r) {
        ar_buf_release(out);
        return MHD_NO;
    }
    memset(out, 0, sizeof *out);
    if (ctype)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result respond_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
    char body[AR_ERR_MSG_SIZE + 32];
    int n = snprintf(body, sizeof body, "%s\n", msg);
    return respond(c, status, "text/plain; charset=utf-8", body,
                   (size_t)(n < (int)sizeof body ? n : (int)sizeof body - 1), NULL);
}

/* Picks the response type from an Accept header: the first listed type we can encode. */
static int negotiate(const struct server *s, const char *accept, enum ar_content *out)
{
    if (!accept || !*accept) {
        *out = s->default_accept;
        return AR_OK;
    }
    const char *p = accept;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char one[128];
        if (n >= sizeof one)
            n = sizeof one - 1;
        memcpy(one, p, n);
        one[n] = '\0';
        char *semi = strchr(one, ';');
        if (semi)
            *semi = '\0';
        char *t = one;
        while (*t == ' ')
            t++;
        for (char *e = t + strlen(t); e > t && e[-1] == ' '; e--)
            e[-1] = '\0';
        if (strcmp(t, "*/*") == 0) {
            *out = s->default_accept;
            return AR_OK;
        }
        struct ar_data_format f;
        if (ar_format_parse(t, &f) == AR_OK &&
            (f.content == AR_CONTENT_CSV || f.content == AR_CONTENT_JSON ||
             f.content == AR_CONTENT_JSONLINES || f.content == AR_CONTENT_RECORDIO_PB)) {
            *out = f.content;
            return AR_OK;
        }
        if (!end)
            break;
        p = end + 1;
    }
    return ar_err_set(AR_ERR_UNSUPPORTED,
                      "Accept '%s' is not supported (text/csv, application/json, "
                      "application/jsonlines, application/x-recordio-protobuf)",
                      accept);
}

/* The request content types an algorithm accepts, as a bit mask (computed once). */
static unsigned content_mask(const struct ar_algo *a)
{
    unsigned mask = 0;
    for (const char *const *t = a->infer_content_types; *t; t++) {
        struct ar_data_format f;
        if (ar_format_parse(*t, &f) == AR_OK && (unsigned)f.content < 32)
            mask |= 1u << (unsigned)f.content;
    }
    return mask;
}

static unsigned status_for(int rc)
{
    switch (rc) {
    case AR_ERR_FORMAT:
    case AR_ERR_INVALID:
    case AR_ERR_PARAM:
        return MHD_HTTP_BAD_REQUEST;
    case AR_ERR_LIMIT:
        return MHD_HTTP_CONTENT_TOO_LARGE;
    default:
        return MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
}

static enum MHD_Result invocations(struct server *s, struct MHD_Connection *c,
                                   const struct request *req)
{
    if (req->len == 0)
        return respond(c, MHD_HTTP_NO_CONTENT, NULL, "", 0, NULL);
    const char *ctype =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    struct ar_data_format fmt;
    if (!ctype || !*ctype)
        ctype = s->algo->infer_content_types[0];
    if (ar_format_parse(ctype, &fmt) != AR_OK || (unsigned)fmt.content >= 32 ||
        !(s->content_mask & (1u << (unsigned)fmt.content))) {
        char msg[512];
        snprintf(msg, sizeof msg, "Content-Type '%s' is not supported by %s", ctype, s->algo->id);
        return respond_error(c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, msg);
    }
    struct ar_encode_opts eo = {0, false, s->batch_mode != 0};
    const char *accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
    if (negotiate(s, accept, &eo.accept) != AR_OK)
        return respond_error(c, MHD_HTTP_NOT_ACCEPTABLE, ar_err_msg());
    struct ar_batch b;
    int rc = ar_codec_decode(req->body, req->len, &fmt, &b);
    if (rc != AR_OK)
        return respond_error(c, status_for(rc), ar_err_msg());
    struct ar_table t;
    memset(&t, 0, sizeof t);
    t.n_rows = b.n_rows;
    size_t want = s->algo->n_features ? s->algo->n_features(s->model) : 0;
    if (want && b.n_cols > want && !b.is_sparse)
        rc = ar_err_set(AR_ERR_INVALID, "request rows have %zu features, the model takes %zu",
                        b.n_cols, want);
    if (rc == AR_OK)
        rc = s->algo->predict(s->model, &b, &t);
    ar_batch_release(&b);
    if (rc != AR_OK) {
        ar_table_release(&t);
        return respond_error(c, status_for(rc), ar_err_msg());
    }
    struct ar_buf out = {0};
    rc = ar_codec_outputs(s->algo, s->model, s->select_spec, &eo, &t);
    if (rc != AR_OK) {
        ar_table_release(&t);
        return respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, ar_err_msg());
    }
    rc = ar_codec_encode(&t, &eo, &out);
    ar_table_release(&t);
    enum MHD_Result ret;
    if (rc != AR_OK)
        ret = respond_error(c, status_for(rc), ar_err_msg());
    else
        ret =
            respond_buf(c, MHD_HTTP_OK,
                        s->batch_mode ? "text/csv; charset=utf-8" : ar_codec_mime(eo.accept), &out);
    ar_buf_release(&out);
    return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    (void)version;
    struct server *s = cls;
    struct request *req = *con_cls;
    int is_post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
    int is_get = strcmp(method, MHD_HTTP_METHOD_GET) == 0;
    if (!req) {
        req = malloc(sizeof *req);
        if (!req)
            return MHD_NO;
        req->start = ar_time_now();
        req->body = req->small;
        req->len = 0;
        req->cap = sizeof req->small;
        req->too_large = 0;
        req->small[0] = '\0';
        copy_str(req->method, sizeof req->method, method);
        copy_str(req->path, sizeof req->path, url);
        *con_cls = req;
        if (strcmp(url, "/invocations") == 0 && is_post) {
            const char *cl =
                MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
            if (cl && strtoull(cl, NULL, 10) > s->max_payload)
                req->too_large = 1;
        }
        return MHD_YES;
    }
    if (*upload_size) {
        if (!req->too_large && req->len + *upload_size > s->max_payload)
            req->too_large = 1;
        if (!req->too_large) {
            if (req->len + *upload_size + 1 > req->cap) {
                size_t nc = req->cap < 16384 ? 16384 : req->cap;
                while (nc < req->len + *upload_size + 1)
                    nc *= 2;
                char *nb = realloc(req->body == req->small ? NULL : req->body, nc);
                if (!nb)
                    return MHD_NO;
                if (req->body == req->small)
                    memcpy(nb, req->small, req->len);
                req->body = nb;
                req->cap = nc;
            }
            memcpy(req->body + req->len, upload, *upload_size);
            req->len += *upload_size;
            req->body[req->len] = '\0';
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(url, "/ping") == 0) {
        if (!is_get && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
            return respond(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", "method not allowed\n", 19,
                           "GET");
        return respond(c, MHD_HTTP_OK, NULL, "", 0, NULL);
    }
    if (strcmp(url, "/execution-parameters") == 0) {
        if (!is_get)
            return respond(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", "method not allowed\n", 19,
                           "GET");
        char body[160];
        int n = snprintf(body, sizeof body,
                         "{\"MaxConcurrentTransforms\": %d, \"BatchStrategy\": \"MULTI_RECORD\", "
                         "\"MaxPayloadInMB\": %zu}",
                         s->workers, s->max_payload >> 20);
        return respond(c, MHD_HTTP_OK, "application/json", body, (size_t)n, NULL);
    }
    if (strcmp(url, "/invocations") == 0) {
        if (!is_post)
            return respond(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", "method not allowed\n", 19,
                           "POST");
        if (req->too_large) {
            char msg[128];
            snprintf(msg, sizeof msg, "request body larger than the limit of %zu bytes",
                     s->max_payload);
            return respond_error(c, MHD_HTTP_CONTENT_TOO_LARGE, msg);
        }
        return invocations(s, c, req);
    }
    return respond(c, MHD_HTTP_NOT_FOUND, "application/json", "{}", 2, NULL);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    struct request *req = *con_cls;
    if (!req)
        return;
    if (AR_LOG_INFO >= ar_log_get_level()) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_HTTP_STATUS);
        double us = (ar_time_now() - req->start) * 1e6;
        AR_INFO("access: %s %s %u %zu bytes in, %llu us%s", req->method, req->path,
                ci ? ci->http_status : 0, req->len, (unsigned long long)(us + 0.5),
                toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (connection ended early)");
    }
    if (req->body != req->small)
        free(req->body);
    free(req);
    *con_cls = NULL;
}

static void serve_help(FILE *out)
{
    fprintf(
        out,
        "usage: algorun serve [--model-dir DIR|MODEL.tar.gz] [--ml-root DIR] [--algorithm ID]\n"
        "                     [--host ADDR] [--port N] [--workers N] [--max-payload-mb N]\n"
        "                     [--timeout SECONDS]\n\n"
        "Serves SageMaker's inference contract: GET /ping, POST /invocations,\n"
        "GET /execution-parameters. The model comes from --model-dir (a directory or a\n"
        "model.tar.gz), else <ml-root>/model (default /opt/ml/model).\n\n"
        "  --port N            default $SAGEMAKER_BIND_TO_PORT, else 8080\n"
        "  --host ADDR         default 0.0.0.0\n"
        "  --workers N         request threads; default $SAGEMAKER_MODEL_SERVER_WORKERS, else\n"
        "                      the number of cores\n"
        "  --max-payload-mb N  default $SAGEMAKER_MAX_PAYLOAD_IN_MB, else 6 (413 above it)\n"
        "  --timeout SECONDS   idle connection timeout; default $SAGEMAKER_MODEL_SERVER_TIMEOUT,\n"
        "                      else 60\n"
        "Default Accept: $SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT, else the algorithm's.\n"
        "SIGTERM or SIGINT stops the server after the requests in flight.\n");
}

static int parse_uint(const char *what, const char *s, long lo, long hi, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > hi)
        return ar_err_set(AR_ERR_PARAM, "%s must be an integer in [%ld, %ld], got '%s'", what, lo,
                          hi, s);
    *out = v;
    return AR_OK;
}

int ar_cmd_serve(int argc, char **argv)
{
    static const char *const with_value[] = {"--model-dir",      "--ml-root", "--algorithm",
                                             "--host",           "--port",    "--workers",
                                             "--max-payload-mb", "--timeout", NULL};
    static const char *const flags[] = {"--help", NULL};
    const char *model_dir = NULL, *root = getenv("ALGORUN_ML_ROOT"),
               *algo_id = getenv("ALGORUN_ALGORITHM"), *host = "0.0.0.0";
    const char *port_s = getenv("SAGEMAKER_BIND_TO_PORT"),
               *workers_s = getenv("SAGEMAKER_MODEL_SERVER_WORKERS"),
               *payload_s = getenv("SAGEMAKER_MAX_PAYLOAD_IN_MB"),
               *timeout_s = getenv("SAGEMAKER_MODEL_SERVER_TIMEOUT");
    struct ar_args a;
    ar_args_init(&a, argc, argv);
    int r;
    while ((r = ar_args_next(&a, with_value, flags)) != 0) {
        if (r < 0)
            return AR_EXIT_USAGE;
        const char *o = a.opt;
        if (strcmp(o, "--help") == 0) {
            serve_help(stdout);
            return AR_EXIT_OK;
        }
        if (strcmp(o, "--model-dir") == 0)
            model_dir = a.value;
        else if (strcmp(o, "--ml-root") == 0)
            root = a.value;
        else if (strcmp(o, "--algorithm") == 0)
            algo_id = a.value;
        else if (strcmp(o, "--host") == 0)
            host = a.value;
        else if (strcmp(o, "--port") == 0)
            port_s = a.value;
        else if (strcmp(o, "--workers") == 0)
            workers_s = a.value;
        else if (strcmp(o, "--max-payload-mb") == 0)
            payload_s = a.value;
        else if (strcmp(o, "--timeout") == 0)
            timeout_s = a.value;
    }
    if (a.i < argc)
        return ar_cli_usage_error("serve", "unexpected argument '%s'", argv[a.i]);
    long port = 8080, workers = ar_par_cores(), payload_mb = 6, timeout = 60;
    if ((port_s && *port_s && parse_uint("port", port_s, 1, 65535, &port) != AR_OK) ||
        (workers_s && *workers_s && parse_uint("workers", workers_s, 1, 1024, &workers) != AR_OK) ||
        (payload_s && *payload_s &&
         parse_uint("max payload (MB)", payload_s, 1, 1024, &payload_mb) != AR_OK) ||
        (timeout_s && *timeout_s && parse_uint("timeout", timeout_s, 1, 86400, &timeout) != AR_OK))
        return ar_cli_usage_error("serve", "%s", ar_err_msg());
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1)
        return ar_cli_usage_error("serve", "--host '%s' is not an IPv4 address", host);

    char model_path[4096];
    if (!model_dir) {
        snprintf(model_path, sizeof model_path, "%s/model", root && *root ? root : "/opt/ml");
        model_dir = model_path;
    }
    struct server s;
    memset(&s, 0, sizeof s);
    char *tmp_dir = NULL;
    struct ar_model *model = NULL;
    double t0 = ar_time_now();
    int rc = ar_server_load_model(model_dir, algo_id, &s.algo, &model, &tmp_dir);
    if (rc != AR_OK)
        return ar_cli_fail(rc, "serve");
    s.model = model;
    s.max_payload = (size_t)payload_mb << 20;
    s.workers = (int)workers;
    s.select_spec = getenv("SAGEMAKER_INFERENCE_OUTPUT");
    s.content_mask = content_mask(s.algo);
    const char *batch = getenv("SAGEMAKER_BATCH");
    s.batch_mode = batch && strcasecmp(batch, "true") == 0 && s.algo->batch_lines;
    const char *def = getenv("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT");
    struct ar_data_format df;
    if (def && *def && ar_format_parse(def, &df) == AR_OK)
        s.default_accept = df.content;
    else if (ar_format_parse(s.algo->default_accept, &df) == AR_OK)
        s.default_accept = df.content;
    else
        s.default_accept = AR_CONTENT_JSON;
    /* Requests run in parallel on the pool; each prediction stays on its worker thread. */
    ar_par_init(1);

    /* Block the stop signals in every thread; the main thread waits for them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, (uint16_t)port, NULL,
        NULL, handle, &s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)workers, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)timeout, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u, MHD_OPTION_END);
    if (!d) {
        rc = ar_err_set(AR_ERR_IO, "cannot listen on %s:%ld: %s", host, port, strerror(errno));
        s.algo->model_free(model);
        ar_server_remove_tmp(tmp_dir);
        return ar_cli_fail(rc, "serve");
    }
    AR_INFO("serving %s model from %s on %s:%ld (%ld workers, max payload %ld MB, loaded in "
            "%.3f s)",
            s.algo->id, model_dir, host, port, workers, payload_mb, ar_time_now() - t0);
    int sig = 0;
    sigwait(&set, &sig);
    AR_INFO("received %s: finishing requests in flight and stopping",
            sig == SIGTERM ? "SIGTERM" : "SIGINT");
    MHD_stop_daemon(d);
    s.algo->model_free(model);
    ar_server_remove_tmp(tmp_dir);
    AR_INFO("server stopped");
    return AR_EXIT_OK;
}
