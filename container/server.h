/* The inference server (`algorun serve`): SageMaker's hosting contract on libmicrohttpd. */
#ifndef AR_CONTAINER_SERVER_H
#define AR_CONTAINER_SERVER_H

#include <stddef.h>

#include "algorithms/algo.h"

/* Finds and loads a model: `model_dir` (a directory or a model.tar.gz, unpacked into a temp
 * directory whose path is returned in *tmp_dir for the caller to remove, or NULL). The
 * algorithm is `algo_id` when given, else the first registered algorithm whose load()
 * accepts the directory. */
int ar_server_load_model(const char *model_dir, const char *algo_id, const struct ar_algo **algo,
                         struct ar_model **model, char **tmp_dir);
/* Removes a directory tree made by ar_server_load_model. */
void ar_server_remove_tmp(char *tmp_dir);

int ar_cmd_serve(int argc, char **argv);

#endif
