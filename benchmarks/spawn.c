/* Runs a command and reports its peak resident set size as wait4() sees it.
 *
 *   bench-spawn OUT_FILE COMMAND [ARGS...]
 *
 * Why not measure from the harness directly: ru_maxrss of a child includes the memory of
 * the process it was forked from (the kernel keeps the pre-exec high-water mark), so a child
 * of the Python harness, which holds numpy, would never report less than ~60 MiB. Forked from
 * this small program the floor is about 1 MiB. Writes "maxrss_kb exit_status" to OUT_FILE and
 * exits with the command's status (128 + signal when it was killed). */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench-spawn OUT_FILE COMMAND [ARGS...]\n");
        return 2;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("bench-spawn: fork");
        return 2;
    }
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        perror(argv[2]);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) {
        perror("bench-spawn: wait4");
        return 2;
    }
    int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    FILE *f = fopen(argv[1], "w");
    if (!f || fprintf(f, "%ld %d\n", ru.ru_maxrss, rc) < 0 || fclose(f) != 0) {
        perror(argv[1]);
        return 2;
    }
    return rc;
}
