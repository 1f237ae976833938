/* The reference for the RecordIO-protobuf reader: protobuf-c's generic decoder over the same
 * file. Reads the file into memory, walks the RecordIO frames (magic 0xced7230a, then a
 * length word whose top 3 bits are the continuation flag, payload padded to 4 bytes),
 * unpacks each payload with aialgs__data__record__unpack and copies features["values"] and
 * label["values"] (float32 tensors) into a dense row-major matrix, as a reader must.
 *
 *   bench-pbdecode FILE N_COLS
 *
 * Prints {"seconds", "rows", "bytes", "mb_per_s", "rows_per_s", "checksum"}: the time covers
 * reading the file (from the page cache when warm) and decoding, like the algorun parse. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/timer.h"
#include "io/record.pb-c.h"

#define RECORDIO_MAGIC 0xced7230au

/* The float32 tensor under key "values" of a map (features or label), or NULL. */
#define VALUES_TENSOR(n, entries, out)                                                             \
    do {                                                                                           \
        (out) = NULL;                                                                              \
        for (size_t k_ = 0; k_ < (n); k_++)                                                        \
            if (strcmp((entries)[k_]->key, "values") == 0 && (entries)[k_]->value &&               \
                (entries)[k_]->value->value_case == AIALGS__DATA__VALUE__VALUE_FLOAT32_TENSOR)     \
                (out) = (entries)[k_]->value->float32_tensor;                                      \
    } while (0)

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: bench-pbdecode FILE N_COLS\n");
        return 2;
    }
    size_t n_cols = strtoul(argv[2], NULL, 10);
    double t0 = ar_time_now();
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = ar_alloc((size_t)size);
    if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "bench-pbdecode: cannot read %s\n", argv[1]);
        return 1;
    }
    fclose(f);
    size_t cap = 1 << 16, rows = 0;
    float *x = ar_allocn(cap * n_cols, sizeof *x), *y = ar_allocn(cap, sizeof *y);
    size_t pos = 0;
    while (pos + 8 <= (size_t)size && x && y) {
        uint32_t magic, word;
        memcpy(&magic, buf + pos, 4);
        memcpy(&word, buf + pos + 4, 4);
        if (magic != RECORDIO_MAGIC) {
            fprintf(stderr, "bench-pbdecode: bad magic at byte %zu\n", pos);
            return 1;
        }
        size_t len = word & ((1u << 29) - 1);
        pos += 8;
        Aialgs__Data__Record *r = aialgs__data__record__unpack(NULL, len, buf + pos);
        pos += (len + 3) & ~(size_t)3;
        if (!r) {
            fprintf(stderr, "bench-pbdecode: record %zu does not decode\n", rows);
            return 1;
        }
        if (rows == cap) {
            x = ar_reallocn(x, cap * n_cols * sizeof *x, 2 * cap * n_cols, sizeof *x);
            y = ar_reallocn(y, cap * sizeof *y, 2 * cap, sizeof *y);
            cap *= 2;
            if (!x || !y)
                return 1;
        }
        const Aialgs__Data__Float32Tensor *ft, *lt;
        VALUES_TENSOR(r->n_features, r->features, ft);
        VALUES_TENSOR(r->n_label, r->label, lt);
        if (!ft || ft->n_values != n_cols) {
            fprintf(stderr, "bench-pbdecode: record %zu has no %zu float32 features\n", rows,
                    n_cols);
            return 1;
        }
        memcpy(x + rows * n_cols, ft->values, n_cols * sizeof *x);
        y[rows] = lt && lt->n_values ? lt->values[0] : 0.0f;
        rows++;
        aialgs__data__record__free_unpacked(r, NULL);
    }
    double seconds = ar_time_now() - t0;
    double sum = 0;
    uint64_t bits = 0; /* order-free exact checksum, as bench-driver parse prints */
    for (size_t i = 0; x && i < rows * n_cols; i++) {
        uint32_t u;
        memcpy(&u, &x[i], sizeof u);
        bits += u;
        sum += (double)x[i];
    }
    printf("{\"seconds\": %.6f, \"rows\": %zu, \"bytes\": %ld, \"mb_per_s\": %.3f, "
           "\"rows_per_s\": %.1f, \"checksum\": %.17g, \"bits_checksum\": %" PRIu64 "}\n",
           seconds, rows, size, (double)size / 1e6 / seconds, (double)rows / seconds, sum, bits);
    ar_free(buf);
    ar_free(x);
    ar_free(y);
    return 0;
}
