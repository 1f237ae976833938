/* k-means inference: the nearest centre of every row and its Euclidean distance. */
#include <math.h>

#include "algorithms/kmeans/kmeans.h"
#include "core/err.h"
#include "core/mem.h"

int ar_km_predict(const struct ar_model *base, const struct ar_batch *in, struct ar_table *out)
{
    const struct ar_km_model *m = (const struct ar_km_model *)base;
    /* Dense rows must have exactly feature_dim columns; sparse rows may declare fewer columns
     * (libsvm infers the width from the largest index) but no index beyond feature_dim. */
    if (in->is_sparse ? in->n_cols > m->dim : in->n_cols != m->dim)
        return ar_err_set(AR_ERR_INVALID,
                          "k-means: the input has %zu features per record but the model was "
                          "trained with feature_dim = %zu",
                          in->n_cols, m->dim);
    size_t n = in->n_rows;
    out->n_rows = n;
    float *cluster, *distance;
    /* Emitted as a float ("2.0"), as the SageMaker endpoint answers. */
    AR_TRY(ar_table_add(out, "closest_cluster", 1, false, &cluster));
    AR_TRY(ar_table_add(out, "distance_to_cluster", 1, false, &distance));
    if (n == 0)
        return AR_OK;
    uint32_t *assign = ar_allocn(n, sizeof *assign);
    double *d2 = ar_allocn(n, sizeof *d2);
    struct ar_km_centres cs;
    int rc = assign && d2 ? ar_km_centres_init(&cs, m->centres, m->k, m->dim) : AR_ERR_NOMEM;
    if (rc == AR_OK) {
        rc = ar_km_assign(&cs, in, assign, d2);
        ar_km_centres_release(&cs);
    }
    if (rc == AR_OK) {
        for (size_t i = 0; i < n; i++) {
            cluster[i] = (float)assign[i];
            distance[i] = (float)sqrt(d2[i]);
        }
    }
    ar_free(assign);
    ar_free(d2);
    return rc;
}
