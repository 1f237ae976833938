/* `algorun algorithms [--json] [ID]`: the fixed IDs and each one's hyperparameter schema,
 * generated from the same table the parser validates with. */
#include <cJSON.h>
#include <stdio.h>
#include <string.h>

#include "algorithms/algo.h"
#include "container/cli.h"
#include "core/err.h"

static const char *type_name(enum ar_hp_type t)
{
    switch (t) {
    case AR_HP_INT:
        return "integer";
    case AR_HP_FLOAT:
        return "float";
    case AR_HP_BOOL:
        return "boolean";
    case AR_HP_ENUM:
        return "categorical";
    case AR_HP_STRING:
        return "string";
    }
    return "unknown";
}

static void range_text(const struct ar_hp_spec *e, char *buf, size_t size)
{
    buf[0] = '\0';
    size_t n = 0;
    if (e->type == AR_HP_ENUM) {
        for (const char *const *c = e->choices; c && *c && n < size; c++)
            n += (size_t)snprintf(buf + n, size - n, "%s%s", c == e->choices ? "" : "|", *c);
        return;
    }
    if (e->flags & AR_HP_HAS_MIN)
        n += (size_t)snprintf(buf + n, size - n, "%s%g", (e->flags & AR_HP_MIN_OPEN) ? "(" : "[",
                              e->min);
    else if (e->flags & AR_HP_HAS_MAX)
        n += (size_t)snprintf(buf + n, size - n, "(-inf");
    if ((e->flags & (AR_HP_HAS_MIN | AR_HP_HAS_MAX)) && n < size)
        n += (size_t)snprintf(buf + n, size - n, ", ");
    if (e->flags & AR_HP_HAS_MAX && n < size)
        snprintf(buf + n, size - n, "%g%s", e->max, (e->flags & AR_HP_MAX_OPEN) ? ")" : "]");
    else if (e->flags & AR_HP_HAS_MIN && n < size)
        snprintf(buf + n, size - n, "inf)");
}

static cJSON *algo_json(const struct ar_algo *al)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", al->id);
    cJSON_AddStringToObject(o, "name", al->name);
    cJSON_AddStringToObject(o, "title", al->title);
    cJSON *chs = cJSON_AddArrayToObject(o, "channels");
    for (const char *const *c = al->channels; *c; c++) {
        cJSON *ch = cJSON_CreateObject();
        cJSON_AddStringToObject(ch, "name", *c);
        cJSON_AddBoolToObject(ch, "required", c == al->channels);
        cJSON_AddItemToArray(chs, ch);
    }
    cJSON *tr = cJSON_AddArrayToObject(o, "training_content_types");
    for (const char *const *c = al->train_content_types; *c; c++)
        cJSON_AddItemToArray(tr, cJSON_CreateString(*c));
    cJSON *inf = cJSON_AddArrayToObject(o, "inference_content_types");
    for (const char *const *c = al->infer_content_types; *c; c++)
        cJSON_AddItemToArray(inf, cJSON_CreateString(*c));
    cJSON *hps = cJSON_AddArrayToObject(o, "hyperparameters");
    for (const struct ar_hp_spec *e = al->hp; e->name; e++) {
        cJSON *h = cJSON_CreateObject();
        char r[512];
        cJSON_AddStringToObject(h, "name", e->name);
        cJSON_AddStringToObject(h, "type", type_name(e->type));
        cJSON_AddBoolToObject(h, "required", (e->flags & AR_HP_REQUIRED) != 0);
        if (e->def)
            cJSON_AddStringToObject(h, "default", e->def);
        else
            cJSON_AddNullToObject(h, "default");
        range_text(e, r, sizeof r);
        if (r[0])
            cJSON_AddStringToObject(h, e->type == AR_HP_ENUM ? "choices" : "range", r);
        cJSON_AddBoolToObject(h, "auto", (e->flags & AR_HP_AUTO) != 0);
        if (e->alias)
            cJSON_AddStringToObject(h, "alias", e->alias);
        cJSON_AddStringToObject(h, "description", e->doc ? e->doc : "");
        cJSON_AddItemToArray(hps, h);
    }
    return o;
}

int ar_cmd_algorithms(int argc, char **argv)
{
    static const char *const flags[] = {"--json", "--help", NULL};
    int json = 0;
    const char *only = NULL;
    struct ar_args a;
    ar_args_init(&a, argc, argv);
    for (;;) {
        int r = ar_args_next(&a, NULL, flags);
        if (r < 0)
            return AR_EXIT_USAGE;
        if (r == 0) {
            if (a.i >= argc)
                break;
            if (only)
                return ar_cli_usage_error("algorithms", "unexpected argument '%s'", argv[a.i]);
            only = argv[a.i++];
            continue;
        }
        if (strcmp(a.opt, "--help") == 0) {
            printf("usage: algorun algorithms [--json] [ID]\n\nLists the algorithm IDs, or one "
                   "algorithm's hyperparameters (name, type, default, range, description).\n");
            return AR_EXIT_OK;
        }
        json = 1;
    }
    const struct ar_algo *one = NULL;
    if (only && ar_algo_find(only, &one) != AR_OK)
        return ar_cli_fail(AR_ERR_NOT_FOUND, NULL);
    if (json) {
        cJSON *arr = cJSON_CreateArray();
        for (const struct ar_algo *const *al = ar_algos; *al; al++)
            if (!one || *al == one)
                cJSON_AddItemToArray(arr, algo_json(*al));
        char *text = cJSON_Print(arr);
        if (text)
            printf("%s\n", text);
        cJSON_free(text);
        cJSON_Delete(arr);
        return text ? AR_EXIT_OK : AR_EXIT_FAILURE;
    }
    for (const struct ar_algo *const *al = ar_algos; *al; al++) {
        if (one && *al != one)
            continue;
        printf("%-18s %s\n", (*al)->id, (*al)->title);
        if (!one)
            continue;
        printf("\n  %-36s %-11s %-12s %-28s %s\n", "hyperparameter", "type", "default", "range",
               "description");
        for (const struct ar_hp_spec *e = (*al)->hp; e->name; e++) {
            char r[512];
            range_text(e, r, sizeof r);
            printf("  %-36s %-11s %-12s %-28s %s\n", e->name, type_name(e->type),
                   (e->flags & AR_HP_REQUIRED) ? "(required)"
                   : e->def                    ? e->def
                                               : "-",
                   r, e->doc ? e->doc : "");
        }
    }
    return AR_EXIT_OK;
}
