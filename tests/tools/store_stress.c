/* Concurrency check for the experiments store: `store_stress STORE WRITER N` writes N complete
 * job records (hyperparameters, a tag, a channel, 5 metric values) named w<WRITER>-<i>, each in
 * its own transaction. Several of these run at once in tests/e2e/test_store.py. */
#include <stdio.h>
#include <stdlib.h>

#include "container/store.h"
#include "core/err.h"

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: store_stress STORE WRITER N\n");
        return 2;
    }
    char *end;
    long writer = strtol(argv[2], &end, 10);
    long n = strtol(argv[3], &end, 10);
    struct ar_store *s;
    if (ar_store_open(argv[1], &s) != AR_OK) {
        fprintf(stderr, "store_stress: %s\n", ar_err_msg());
        return 1;
    }
    for (long i = 0; i < n; i++) {
        char name[64], wv[32], iv[32];
        snprintf(name, sizeof name, "w%ld-%ld", writer, i);
        snprintf(wv, sizeof wv, "%ld", writer);
        snprintf(iv, sizeof iv, "%ld", i);
        struct ar_store_kv hp[] = {{"writer", wv}, {"index", iv}};
        struct ar_store_kv tags[] = {{"stress", "yes"}};
        struct ar_store_channel ch[] = {{"train", "/data/train.csv", "text/csv", "File"}};
        struct ar_store_metric m[5];
        for (int k = 0; k < 5; k++)
            m[k] = (struct ar_store_metric){"validation:rmse", (double)(writer * 100000 + i) + k,
                                            k < 4 ? k : -1, 1.7e9 + k};
        struct ar_store_job j = {.name = name,
                                 .algorithm = "kmeans:1",
                                 .status = "Completed",
                                 .creation_time = 1.7e9 + (double)i,
                                 .hp = hp,
                                 .n_hp = 2,
                                 .tags = tags,
                                 .n_tags = 1,
                                 .channels = ch,
                                 .n_channels = 1,
                                 .metrics = m,
                                 .n_metrics = 5};
        if (ar_store_job_put(s, &j, true) != AR_OK) {
            fprintf(stderr, "store_stress %ld: record %ld: %s\n", writer, i, ar_err_msg());
            ar_store_close(s);
            return 1;
        }
    }
    ar_store_close(s);
    return 0;
}
