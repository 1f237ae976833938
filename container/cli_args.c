/* Subcommand option scanning. */
#include <string.h>

#include "container/cli.h"

void ar_args_init(struct ar_args *a, int argc, char **argv)
{
    memset(a, 0, sizeof *a);
    a->argc = argc;
    a->argv = argv;
    a->i = 1;
    a->cmd = argc > 0 ? argv[0] : "";
}

static int in_list(const char *const *list, const char *name, size_t len)
{
    for (; list && *list; list++)
        if (strlen(*list) == len && strncmp(*list, name, len) == 0)
            return 1;
    return 0;
}

int ar_args_next(struct ar_args *a, const char *const *with_value, const char *const *flags)
{
    a->opt = NULL;
    a->value = NULL;
    if (a->i >= a->argc)
        return 0;
    const char *arg = a->argv[a->i];
    if (arg[0] != '-' || arg[1] != '-' || arg[2] == '\0')
        return 0;
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    if (in_list(with_value, arg, len)) {
        a->opt = arg;
        if (eq) {
            a->value = eq + 1;
        } else {
            if (a->i + 1 >= a->argc) {
                ar_cli_usage_error(a->cmd, "option '%s' needs a value", arg);
                return -1;
            }
            a->value = a->argv[++a->i];
        }
        a->i++;
        /* Let callers compare a->opt with strcmp: point at a copy without "=value". */
        static _Thread_local char name[64];
        if (len < sizeof name) {
            memcpy(name, arg, len);
            name[len] = '\0';
            a->opt = name;
        }
        return 1;
    }
    if (!eq && in_list(flags, arg, len)) {
        a->opt = arg;
        a->i++;
        return 1;
    }
    ar_cli_usage_error(a->cmd, "unknown option '%.*s'", (int)len, arg);
    return -1;
}
