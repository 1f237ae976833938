/* model.tar.gz through libarchive. */
#include "container/tarball.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container/job.h"
#include "core/err.h"
#include "core/mem.h"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int ar_tarball_pack(const char *dir, const char *path)
{
    DIR *d = opendir(dir);
    if (!d)
        return ar_err_set(AR_ERR_IO, "%s: %s", dir, strerror(errno));
    char *names[1024];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 1024) {
        if (e->d_name[0] == '.')
            continue;
        names[n] = ar_strdup(e->d_name);
        if (names[n])
            n++;
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);

    char tmp[4096];
    int rc = AR_OK;
    if (snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid()) >= (int)sizeof tmp)
        rc = ar_err_set(AR_ERR_LIMIT, "path too long: %s", path);
    struct archive *a = archive_write_new();
    if (rc == AR_OK && (!a || archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
                        archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
                        archive_write_open_filename(a, tmp) != ARCHIVE_OK))
        rc = ar_err_set(AR_ERR_IO, "%s: cannot create archive: %s", path,
                        a ? archive_error_string(a) : "out of memory");
    char buf[1 << 16];
    for (size_t i = 0; rc == AR_OK && i < n; i++) {
        char file[4096];
        snprintf(file, sizeof file, "%s/%s", dir, names[i]);
        struct stat st;
        int fd = open(file, O_RDONLY);
        if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            if (fd >= 0)
                close(fd);
            continue;
        }
        struct archive_entry *ent = archive_entry_new();
        archive_entry_set_pathname(ent, names[i]);
        archive_entry_set_size(ent, st.st_size);
        archive_entry_set_filetype(ent, AE_IFREG);
        archive_entry_set_perm(ent, 0644);
        archive_entry_set_mtime(ent, st.st_mtime, 0);
        if (archive_write_header(a, ent) != ARCHIVE_OK)
            rc = ar_err_set(AR_ERR_IO, "%s: %s", path, archive_error_string(a));
        ssize_t r;
        while (rc == AR_OK && (r = read(fd, buf, sizeof buf)) > 0)
            if (archive_write_data(a, buf, (size_t)r) != r)
                rc = ar_err_set(AR_ERR_IO, "%s: %s", path, archive_error_string(a));
        archive_entry_free(ent);
        close(fd);
    }
    if (a) {
        if (archive_write_close(a) != ARCHIVE_OK && rc == AR_OK)
            rc = ar_err_set(AR_ERR_IO, "%s: %s", path, archive_error_string(a));
        archive_write_free(a);
    }
    for (size_t i = 0; i < n; i++)
        ar_free(names[i]);
    if (rc == AR_OK && rename(tmp, path) != 0)
        rc = ar_err_set(AR_ERR_IO, "%s: rename failed: %s", path, strerror(errno));
    if (rc != AR_OK)
        unlink(tmp);
    return rc;
}

static int safe_name(const char *p)
{
    if (!*p || p[0] == '/')
        return 0;
    for (const char *s = p; *s;) {
        const char *slash = strchr(s, '/');
        size_t len = slash ? (size_t)(slash - s) : strlen(s);
        if ((len == 2 && s[0] == '.' && s[1] == '.'))
            return 0;
        s += len + (slash ? 1 : 0);
    }
    return 1;
}

int ar_tarball_unpack(const char *path, const char *dir)
{
    struct archive *a = archive_read_new();
    if (!a)
        return AR_ERR_NOMEM;
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_none(a);
    archive_read_support_format_tar(a);
    int rc = AR_OK;
    if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
        rc = ar_err_set(AR_ERR_FORMAT, "%s: not a readable tar.gz: %s", path,
                        archive_error_string(a));
        archive_read_free(a);
        return rc;
    }
    struct archive_entry *ent;
    int r;
    char buf[1 << 16];
    while (rc == AR_OK && (r = archive_read_next_header(a, &ent)) == ARCHIVE_OK) {
        const char *name = archive_entry_pathname(ent);
        while (name[0] == '.' && name[1] == '/')
            name += 2;
        mode_t type = archive_entry_filetype(ent);
        if (!*name)
            continue;
        if (!safe_name(name) || (type != AE_IFREG && type != AE_IFDIR)) {
            rc = ar_err_set(AR_ERR_FORMAT,
                            "%s: refusing member '%s' (only plain files and "
                            "folders with relative names)",
                            path, archive_entry_pathname(ent));
            break;
        }
        char out[4096];
        if (snprintf(out, sizeof out, "%s/%s", dir, name) >= (int)sizeof out) {
            rc = ar_err_set(AR_ERR_LIMIT, "%s: member name too long", path);
            break;
        }
        if (type == AE_IFDIR) {
            rc = ar_mkdirs(out);
            continue;
        }
        char parent[4096];
        snprintf(parent, sizeof parent, "%s", out);
        char *slash = strrchr(parent, '/');
        if (slash) {
            *slash = '\0';
            if ((rc = ar_mkdirs(parent)) != AR_OK)
                break;
        }
        if (archive_entry_size(ent) > ((int64_t)4 << 30)) {
            rc = ar_err_set(AR_ERR_LIMIT, "%s: member '%s' is larger than 4 GiB", path, name);
            break;
        }
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) {
            rc = ar_err_set(AR_ERR_IO, "%s: %s", out, strerror(errno));
            break;
        }
        la_ssize_t got;
        while ((got = archive_read_data(a, buf, sizeof buf)) > 0) {
            if (write(fd, buf, (size_t)got) != got) {
                rc = ar_err_set(AR_ERR_IO, "%s: write failed: %s", out, strerror(errno));
                break;
            }
        }
        if (got < 0 && rc == AR_OK)
            rc = ar_err_set(AR_ERR_FORMAT, "%s: %s", path, archive_error_string(a));
        close(fd);
    }
    if (rc == AR_OK && r != ARCHIVE_EOF && r != ARCHIVE_OK)
        rc = ar_err_set(AR_ERR_FORMAT, "%s: damaged archive: %s", path, archive_error_string(a));
    archive_read_free(a);
    return rc;
}
