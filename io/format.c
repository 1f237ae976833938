/* Content-type strings to data formats. */
#include "io/format.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"

static const struct {
    const char *name;
    enum ar_content content;
} types[] = {
    {"text/csv", AR_CONTENT_CSV},
    {"csv", AR_CONTENT_CSV},
    {"text/libsvm", AR_CONTENT_LIBSVM},
    {"text/x-libsvm", AR_CONTENT_LIBSVM},
    {"libsvm", AR_CONTENT_LIBSVM},
    {"application/x-recordio-protobuf", AR_CONTENT_RECORDIO_PB},
    {"recordio-protobuf", AR_CONTENT_RECORDIO_PB},
    {"application/json", AR_CONTENT_JSON},
    {"application/jsonlines", AR_CONTENT_JSONLINES},
    {"application/x-jsonlines", AR_CONTENT_JSONLINES},
    {"application/json-lines", AR_CONTENT_JSONLINES},
};

/* Copies s[0..n) into buf trimmed of spaces and tabs. */
static void trimmed(const char *s, size_t n, char *buf, size_t size)
{
    while (n > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n >= size)
        n = size - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
}

int ar_format_parse(const char *content_type, struct ar_data_format *out)
{
    memset(out, 0, sizeof *out);
    out->label_size = 1;
    const char *semi = strchr(content_type, ';');
    size_t base_len = semi ? (size_t)(semi - content_type) : strlen(content_type);
    char base[128];
    trimmed(content_type, base_len, base, sizeof base);
    int found = 0;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        if (strcasecmp(base, types[i].name) == 0) {
            out->content = types[i].content;
            found = 1;
            break;
        }
    }
    if (!found)
        return ar_err_set(AR_ERR_UNSUPPORTED, "unsupported content type '%s'", content_type);
    /* Parameters: ;key=value;key=value */
    while (semi) {
        const char *p = semi + 1;
        semi = strchr(p, ';');
        size_t len = semi ? (size_t)(semi - p) : strlen(p);
        char param[128];
        trimmed(p, len, param, sizeof param);
        if (param[0] == '\0')
            continue;
        char *eq = strchr(param, '=');
        if (!eq)
            return ar_err_set(AR_ERR_UNSUPPORTED, "content type '%s': parameter '%s' has no value",
                              content_type, param);
        *eq = '\0';
        char key[64], val[64];
        trimmed(param, strlen(param), key, sizeof key);
        trimmed(eq + 1, strlen(eq + 1), val, sizeof val);
        if (strcasecmp(key, "label_size") == 0 && out->content == AR_CONTENT_CSV) {
            if (strcmp(val, "0") == 0)
                out->label_size = 0;
            else if (strcmp(val, "1") == 0)
                out->label_size = 1;
            else
                return ar_err_set(AR_ERR_UNSUPPORTED,
                                  "content type '%s': label_size must be 0 or 1, got '%s'",
                                  content_type, val);
            out->label_size_set = true;
        } else if (strcasecmp(key, "charset") == 0) {
            if (strcasecmp(val, "utf-8") != 0 && strcasecmp(val, "utf8") != 0 &&
                strcasecmp(val, "us-ascii") != 0)
                return ar_err_set(AR_ERR_UNSUPPORTED,
                                  "content type '%s': charset '%s' is not supported (UTF-8 only)",
                                  content_type, val);
        } else {
            return ar_err_set(AR_ERR_UNSUPPORTED, "content type '%s': unknown parameter '%s'",
                              content_type, key);
        }
    }
    return AR_OK;
}

const char *ar_format_mime(enum ar_content c)
{
    switch (c) {
    case AR_CONTENT_CSV:
        return "text/csv";
    case AR_CONTENT_LIBSVM:
        return "text/libsvm";
    case AR_CONTENT_RECORDIO_PB:
        return "application/x-recordio-protobuf";
    case AR_CONTENT_JSON:
        return "application/json";
    case AR_CONTENT_JSONLINES:
        return "application/jsonlines";
    }
    return "application/octet-stream";
}
