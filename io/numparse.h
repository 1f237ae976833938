/* Locale-free, correctly rounded decimal text -> float32 for the text readers (CSV, libsvm).
 *
 * Grammar: [+-] digits [. digits] | [+-] . digits, then optionally [eE] [+-] digits; or
 * [+-] nan | inf | infinity in any letter case. No hex floats, no nan(...), no separators.
 * The value is rounded once, to nearest-even, from the exact decimal (what glibc strtof does):
 * beyond the float32 range it becomes +-inf, below half the smallest subnormal +-0.
 * Pure functions of their arguments: safe inside OpenMP regions (no allocation, no errors set).
 */
#ifndef AR_IO_NUMPARSE_H
#define AR_IO_NUMPARSE_H

#include <stdbool.h>
#include <stddef.h>

/* Reads the longest number the grammar allows at the start of [p, end) and stores it in *out.
 * Returns the position just after it, or NULL when [p, end) does not start with a number
 * (the caller decides whether what follows the number is an acceptable delimiter). */
const char *ar_numparse_f32(const char *p, const char *end, float *out);

/* True when all of [p, end) is one number (stored in *out); false otherwise. */
bool ar_numparse_f32_full(const char *p, const char *end, float *out);

#endif
