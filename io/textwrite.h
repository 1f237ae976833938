/* Writing rows as text: CSV (label first, float32 as %.9g, "nan"/"inf") and libsvm.
 * Output goes through a FILE * (stdout for `algorun data cat`, a temp file for convert). */
#ifndef AR_IO_TEXTWRITE_H
#define AR_IO_TEXTWRITE_H

#include <stdbool.h>
#include <stdio.h>

#include "io/batch.h"

/* Formats a float32 as %.9g with "nan" (never "-nan"), "inf", "-inf" and "-0"; returns the
 * length written (buf needs 24 bytes). */
int ar_textwrite_f32(char *buf, float v);

/* Writes every row of b as a CSV line: label first when b has labels, then the weight when
 * `with_weights` and b has weights, then the features. Sparse rows are written dense with
 * `absent_as_missing` choosing an empty field (missing) or 0 for absent entries. */
int ar_textwrite_csv(FILE *out, const struct ar_batch *b, bool with_weights,
                     bool absent_as_missing);
/* Writes every row of b as libsvm: label[:weight] then idx:val for each stored entry (dense
 * rows: every non-NaN value). Rows without labels get label 0. */
int ar_textwrite_libsvm(FILE *out, const struct ar_batch *b);

#endif
