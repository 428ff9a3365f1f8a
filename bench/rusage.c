/*
 * rusage.c — runs a command and writes what it used to a file, one line:
 *
 *     rusage RESULT_FILE CMD ARGS...
 *     RESULT_FILE: MAXRSS_KIB USER_SECONDS SYS_SECONDS WALL_SECONDS
 *
 * The command keeps this process's stdin, stdout and stderr (the caller
 * redirects them). The benchmark takes peak memory from here, and CPU time
 * beside wall-clock time: on a busy machine other programs stretch the wall
 * clock of a single-threaded run but barely its CPU time.
 *
 * The child is forked from this small process and exec'd at once, so the
 * peak is the command's own (Linux keeps the high-water mark across exec; a
 * wrapper with a big heap, such as Python, would leak its own size into it).
 * Exit status: the command's, 128+N when signal N killed it, 2 when it could
 * not be run or the result not written.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double seconds(struct timespec t) { return (double)t.tv_sec + (double)t.tv_nsec / 1e9; }

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: rusage RESULT_FILE CMD [ARGS...]\n");
        return 2;
    }
    FILE *res = fopen(argv[1], "w");
    if (res == NULL) {
        fprintf(stderr, "rusage: %s: %s\n", argv[1], strerror(errno));
        return 2;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "rusage: fork: %s\n", strerror(errno));
        fclose(res);
        return 2;
    }
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        fprintf(stderr, "rusage: %s: %s\n", argv[2], strerror(errno));
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR) {
            fprintf(stderr, "rusage: wait: %s\n", strerror(errno));
            fclose(res);
            return 2;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    fprintf(res, "%ld %ld.%06ld %ld.%06ld %.6f\n", ru.ru_maxrss, (long)ru.ru_utime.tv_sec, (long)ru.ru_utime.tv_usec,
            (long)ru.ru_stime.tv_sec, (long)ru.ru_stime.tv_usec, seconds(t1) - seconds(t0));
    if (fclose(res) != 0) {
        fprintf(stderr, "rusage: %s: %s\n", argv[1], strerror(errno));
        return 2;
    }
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 2;
}
