/* Content types: parsing MIME strings into a data format description. */
#ifndef AR_IO_FORMAT_H
#define AR_IO_FORMAT_H

#include <stdbool.h>
#include <stddef.h>

enum ar_content {
    AR_CONTENT_CSV = 1,     /* text/csv */
    AR_CONTENT_LIBSVM,      /* text/libsvm, text/x-libsvm */
    AR_CONTENT_RECORDIO_PB, /* application/x-recordio-protobuf */
    AR_CONTENT_JSON,        /* application/json (inference requests and responses) */
    AR_CONTENT_JSONLINES    /* application/jsonlines (inference requests and responses) */
};

struct ar_data_format {
    enum ar_content content;
    int label_size;      /* CSV: 1 = first column is the label (default), 0 = no label column */
    bool csv_weights;    /* CSV: second column is an instance weight (tree learner) */
    bool label_size_set; /* label_size was given explicitly in the content type */
};

/* Parses "text/csv;label_size=0", "text/libsvm", "application/x-recordio-protobuf",
 * the short aliases "csv", "libsvm", "recordio-protobuf", ... Parameters other than
 * label_size and charset are refused. AR_ERR_UNSUPPORTED naming the type otherwise. */
int ar_format_parse(const char *content_type, struct ar_data_format *out);
/* The canonical MIME name of a content kind ("text/csv", ...). */
const char *ar_format_mime(enum ar_content c);

#endif
