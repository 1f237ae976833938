/* model.tar.gz: packing a model directory and unpacking one for serving (libarchive). */
#ifndef AR_CONTAINER_TARBALL_H
#define AR_CONTAINER_TARBALL_H

/* Packs the regular files directly in `dir` (sorted, no hidden files) into a gzip tarball at
 * `path`, written to a temp name and renamed. */
int ar_tarball_pack(const char *dir, const char *path);
/* Unpacks the tarball at `path` into the existing directory `dir`. Only regular files and
 * directories with plain relative names are accepted (no "..", no absolute paths, no links);
 * each member is capped at 4 GiB. */
int ar_tarball_unpack(const char *path, const char *dir);

#endif
