/* Unit tests for io/artifact: atomic writes, capped reads, little-endian fields, CRC32. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/mem.h"
#include "io/artifact.h"
#include "tests/unit/testhelp.h"

void test_suite_artifact(void)
{
    char dir[] = "/tmp/algorun-test-artifact-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[128];
    snprintf(path, sizeof path, "%s/model", dir);
    CHECK_OK(ar_artifact_write(path, "hello", 5));
    CHECK_OK(ar_artifact_write(path, "bye", 3)); /* replaces it whole */
    unsigned char *d;
    size_t n;
    CHECK_OK(ar_artifact_read(path, 100, &d, &n));
    CHECK(n == 3 && memcmp(d, "bye", 4) == 0); /* NUL-terminated */
    ar_free(d);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644);
    CHECK_ERR(ar_artifact_read(path, 2, &d, &n), AR_ERR_LIMIT, "limit of 2");
    CHECK_ERR(ar_artifact_read(dir, 100, &d, &n), AR_ERR_FORMAT, "not a regular file");
    char missing[160];
    snprintf(missing, sizeof missing, "%s/none", dir);
    CHECK_ERR(ar_artifact_read(missing, 100, &d, &n), AR_ERR_NOT_FOUND, "cannot open");
    char nodir[160];
    snprintf(nodir, sizeof nodir, "%s/no/such/file", dir);
    CHECK_ERR(ar_artifact_write(nodir, "x", 1), AR_ERR_IO, "cannot create");

    unsigned char b[8];
    ar_le_put_u32(b, 0x01020304u);
    CHECK(b[0] == 4 && b[3] == 1 && ar_le_get_u32(b) == 0x01020304u);
    ar_le_put_u64(b, 0x0102030405060708ull);
    CHECK(b[0] == 8 && b[7] == 1 && ar_le_get_u64(b) == 0x0102030405060708ull);
    ar_le_put_f32(b, -1.5f);
    CHECK(ar_le_get_f32(b) == -1.5f);
    ar_le_put_f64(b, 0.1);
    CHECK(ar_le_get_f64(b) == 0.1);
    /* CRC32 of "123456789" is the standard check value. */
    CHECK(ar_artifact_crc32("123456789", 9) == 0xCBF43926u);
    CHECK(ar_artifact_crc32("", 0) == 0);

    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}
