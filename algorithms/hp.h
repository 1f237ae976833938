/* Hyperparameter schemas: one table per algorithm from which parsing, validation,
 * `algorun algorithms --json` and the docs all come (redis static_configs, LightGBM config.h).
 *
 * Values arrive as strings (hyperparameters.json, --hp k=v). ar_hp_parse() checks every name
 * against the table (unknown: AR_ERR_PARAM), converts each value by its type, checks ranges and
 * choices, fills defaults, and reports a missing required name. Messages name the parameter,
 * the value and what is allowed.
 */
#ifndef AR_ALGORITHMS_HP_H
#define AR_ALGORITHMS_HP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ar_hp_type {
    AR_HP_INT = 1, /* int64_t field; "10" (not "10.0") */
    AR_HP_FLOAT,   /* double field; any strtod number, finite */
    AR_HP_BOOL,    /* bool field; true/false/True/False/1/0 */
    AR_HP_ENUM,    /* int field: index into `choices` */
    AR_HP_STRING   /* char * field (owned by the params; freed by ar_hp_free) */
};

/* Flags for a spec entry. */
#define AR_HP_REQUIRED 0x1u /* must be given */
#define AR_HP_AUTO     0x2u /* "auto" is accepted: the `is_auto` bool at auto_offset is set */
#define AR_HP_MIN_OPEN 0x4u /* value > min rather than >= min */
#define AR_HP_MAX_OPEN 0x8u /* value < max rather than <= max */
#define AR_HP_HAS_MIN  0x10u
#define AR_HP_HAS_MAX  0x20u
#define AR_HP_IGNORED  0x40u /* accepted for compatibility, has no effect (logged once) */

struct ar_hp_spec {
    const char *name;
    enum ar_hp_type type;
    unsigned flags;
    const char *def;            /* default as a string (NULL: none / required) */
    double min, max;            /* with AR_HP_HAS_MIN / AR_HP_HAS_MAX */
    const char *const *choices; /* AR_HP_ENUM: NULL-terminated list */
    size_t offset;              /* offsetof(params struct, field) */
    size_t auto_offset;         /* AR_HP_AUTO: offsetof the bool set when "auto" was given */
    const char *doc;            /* one line */
    const char *alias;          /* another accepted name (e.g. learning_rate for eta) or NULL */
};

/* One name=value pair as given. */
struct ar_hp_kv {
    const char *name;
    const char *value;
};

/* Parses `n` pairs into `params` (a zeroed struct of the algorithm's params type) using the
 * schema `spec` (terminated by an entry with name == NULL). Defaults are applied first. Names
 * starting with '_' that are not in the table are accepted and ignored when `allow_internal`
 * (SageMaker adds _tuning_objective_metric and others). */
int ar_hp_parse(const struct ar_hp_spec *spec, const struct ar_hp_kv *kv, size_t n,
                bool allow_internal, void *params);
/* Frees AR_HP_STRING fields of params. */
void ar_hp_free(const struct ar_hp_spec *spec, void *params);
/* Writes the resolved value of entry `e` in params as a string ("auto" when auto was set). */
int ar_hp_format(const struct ar_hp_spec *e, const void *params, char *buf, size_t size);
/* Finds an entry by name or alias, NULL if none. */
const struct ar_hp_spec *ar_hp_find(const struct ar_hp_spec *spec, const char *name);
/* Strictly parses scalar strings, as the schema does (exposed for list-valued parameters).
 * AR_ERR_PARAM with a message naming `what`. */
int ar_hp_parse_int(const char *what, const char *s, int64_t *out);
int ar_hp_parse_float(const char *what, const char *s, double *out);
int ar_hp_parse_bool(const char *what, const char *s, bool *out);

#endif
