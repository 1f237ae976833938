/* Unit tests for the batch-transform JSONPath subset, with the developer guide's examples. */
#include <cJSON.h>
#include <string.h>

#include "container/jsonpath.h"
#include "tests/unit/testhelp.h"

/* Applies `path` to `json` and compares the unformatted result with `want` (NULL: expect
 * AR_ERR_INVALID). */
static void expect(const char *path, const char *json, const char *want)
{
    struct ar_jsonpath *p = NULL;
    int rc = ar_jsonpath_compile(path, &p);
    CHECK_OK(rc);
    if (rc != AR_OK)
        return;
    cJSON *v = cJSON_Parse(json);
    cJSON *out = NULL;
    rc = ar_jsonpath_apply(p, v, &out);
    if (!want) {
        CHECK_INT(rc, AR_ERR_INVALID);
    } else {
        char *s = out ? cJSON_PrintUnformatted(out) : NULL;
        CHECK_STR(s, want);
        cJSON_free(s);
    }
    cJSON_Delete(out);
    cJSON_Delete(v);
    ar_jsonpath_free(p);
}

void test_suite_jsonpath(void)
{
    const char *row = "[10,11,12,13,14,15,16,17]";
    expect("$", row, row);
    expect("$[1:4]", row, "[11,12,13,14]"); /* 2nd to 5th: the end is inclusive */
    expect("$[:5]", row, "[10,11,12,13,14,15]");
    expect("$[2:]", row, "[12,13,14,15,16,17]");
    expect("$[1:]", row, "[11,12,13,14,15,16,17]");
    expect("$[0,-1]", row, "[10,17]");
    expect("$[-1]", row, "17");
    expect("$[3]", row, "13");
    expect("$[8]", row, NULL);
    expect("$[1:9]", row, NULL);
    expect("$[*]", "[1,2]", "[1,2]");
    const char *obj = "{\"id\":7,\"features\":[1,2],\"SageMakerOutput\":{\"score\":0.5}}";
    expect("$['id','SageMakerOutput']", obj, "{\"id\":7,\"SageMakerOutput\":{\"score\":0.5}}");
    expect("$.features", obj, "[1,2]");
    expect("$.features[1]", obj, "2");
    expect("$.SageMakerOutput.score", obj, "0.5");
    expect("$.f.['c1','c2']", "{\"f\":{\"c1\":1,\"c2\":2,\"c3\":3}}", "{\"c1\":1,\"c2\":2}");
    expect("$.missing", obj, NULL);
    expect("$.id", "[1]", NULL);

    struct ar_jsonpath *p;
    CHECK_ERR(ar_jsonpath_compile("features", &p), AR_ERR_PARAM, "must start with '$'");
    CHECK_ERR(ar_jsonpath_compile("$.f.['c1','c2.x']", &p), AR_ERR_PARAM, "nested paths");
    CHECK_ERR(ar_jsonpath_compile("$[1", &p), AR_ERR_PARAM, "expected ']'");
    CHECK_ERR(ar_jsonpath_compile("$['a'", &p), AR_ERR_PARAM, "character");
    CHECK_ERR(ar_jsonpath_compile("$[1:2:3]", &p), AR_ERR_PARAM, "slice");
    CHECK_ERR(ar_jsonpath_compile(
                  "$.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &p),
              AR_ERR_PARAM, "63");
    CHECK_OK(ar_jsonpath_compile("$[0,2]", &p));
    CHECK(ar_jsonpath_index_only(p) && !ar_jsonpath_is_root(p));
    ar_jsonpath_free(p);
    CHECK_OK(ar_jsonpath_compile("$.x", &p));
    CHECK(!ar_jsonpath_index_only(p));
    ar_jsonpath_free(p);
    CHECK_OK(ar_jsonpath_compile("$", &p));
    CHECK(ar_jsonpath_is_root(p));
    ar_jsonpath_free(p);
}
