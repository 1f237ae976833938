/* The JSONPath subset SageMaker batch transform accepts for InputFilter / OutputFilter:
 * `$` (required root), `.name`, `*`, `['a','b']`, `[i]` / `[i,j,k]` (negative allowed, -1 =
 * last), slices `[start:end]` with either side optional and the end INCLUSIVE (the developer
 * guide's rule: `$[1:4]` is the 2nd to 5th element). At most 63 characters. */
#ifndef AR_CONTAINER_JSONPATH_H
#define AR_CONTAINER_JSONPATH_H

#include <stdbool.h>

struct cJSON;
struct ar_jsonpath;

/* Compiles `path`. AR_ERR_PARAM naming the position of the first bad character. */
int ar_jsonpath_compile(const char *path, struct ar_jsonpath **out);
/* True for "$" (select everything: no work to do). */
bool ar_jsonpath_is_root(const struct ar_jsonpath *p);
/* True when the path uses only indices and slices (what a CSV row can be filtered with). */
bool ar_jsonpath_index_only(const struct ar_jsonpath *p);
/* Applies p to v, returning a new value the caller frees with cJSON_Delete. A step that picks
 * several elements of an array yields an array; several keys of an object yield an object
 * with those keys; `*` yields the array of all values. AR_ERR_INVALID when a key is missing or
 * an index is outside the value ("index 5 is beyond the 4 fields"). */
int ar_jsonpath_apply(const struct ar_jsonpath *p, const struct cJSON *v, struct cJSON **out);
void ar_jsonpath_free(struct ar_jsonpath *p);

#endif
