/* standalone_main.c — runs a fuzz target without libFuzzer.
 *
 * Linked into each target in the normal build (fuzz/CMakeLists.txt), so the
 * seed corpora and every crash found so far (regress-*) replay as ordinary
 * tests, under ASan+UBSan in the sanitizer build. Each argument is a file or
 * a directory; a directory's regular files are run in byte order of their
 * names (not recursively). Every input goes through LLVMFuzzerInitialize (once,
 * when the target has it) and LLVMFuzzerTestOneInput, exactly as libFuzzer
 * would hand it over: a fresh heap copy of exactly the file's bytes, so a
 * read one past the end is caught by ASan.
 *
 * Options: -v names each input on stderr before running it; -t SECONDS
 * fails the run when one input takes longer (as libFuzzer's -timeout would,
 * but measured after the fact), so a fixed hang stays fixed.
 *
 * Exit status: 0 when every input ran (a crash ends the process with the
 * sanitizer's report, which names the input last printed to stderr under
 * -v), 1 when an argument could not be read, an input was too slow, or
 * nothing was run.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional in a target: weak, so a target without it still links. */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

typedef struct run_state {
    int verbose;
    double timeout; /* seconds; 0 = none */
    size_t ran;
    int failed;
} run_state;

static int read_file(const char *path, uint8_t **out, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t cap = 4096, n = 0;
    uint8_t *b = malloc(cap);
    while (b) {
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
        if (n == cap) {
            uint8_t *nb = cap > SIZE_MAX / 2 ? NULL : realloc(b, cap * 2);
            if (!nb) {
                free(b);
                b = NULL;
                break;
            }
            b = nb;
            cap *= 2;
        }
    }
    int err = ferror(f);
    fclose(f);
    if (!b || err) {
        free(b);
        return -1;
    }
    /* Exactly n bytes, so ASan sees a read past the input's end. */
    uint8_t *exact = malloc(n ? n : 1);
    if (!exact) {
        free(b);
        return -1;
    }
    if (n) memcpy(exact, b, n);
    free(b);
    *out = exact;
    *len = n;
    return 0;
}

static void run_file(run_state *st, const char *path) {
    uint8_t *data = NULL;
    size_t len = 0;
    if (read_file(path, &data, &len) != 0) {
        fprintf(stderr, "standalone: cannot read %s: %s\n", path, strerror(errno));
        st->failed = 1;
        return;
    }
    if (st->verbose) fprintf(stderr, "standalone: running %s (%zu bytes)\n", path, len);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    LLVMFuzzerTestOneInput(data, len);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    free(data);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (st->timeout > 0 && secs > st->timeout) {
        fprintf(stderr, "standalone: %s took %.2f s, over the %.2f s limit\n", path, secs, st->timeout);
        st->failed = 1;
    }
    st->ran++;
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void run_dir(run_state *st, const char *dir) {
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "standalone: cannot open %s: %s\n", dir, strerror(errno));
        st->failed = 1;
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            char **nn = realloc(names, ncap * sizeof *nn);
            if (!nn) break;
            names = nn;
            cap = ncap;
        }
        size_t need = strlen(dir) + strlen(de->d_name) + 2;
        names[n] = malloc(need);
        if (!names[n]) break;
        snprintf(names[n], need, "%s/%s", dir, de->d_name);
        n++;
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_names);
    for (size_t i = 0; i < n; i++) {
        struct stat sb;
        if (stat(names[i], &sb) == 0 && S_ISREG(sb.st_mode)) run_file(st, names[i]);
        free(names[i]);
    }
    free(names);
}

int main(int argc, char **argv) {
    run_state st = {0};
    if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
    int first = 1;
    for (; first < argc; first++) {
        if (strcmp(argv[first], "-v") == 0) {
            st.verbose = 1;
        } else if (strcmp(argv[first], "-t") == 0 && first + 1 < argc) {
            st.timeout = strtod(argv[++first], NULL);
        } else {
            break;
        }
    }
    if (first >= argc) {
        fprintf(stderr, "usage: %s [-v] [-t SECONDS] FILE|DIR...\n", argv[0]);
        return 1;
    }
    for (int i = first; i < argc; i++) {
        struct stat sb;
        if (stat(argv[i], &sb) != 0) {
            fprintf(stderr, "standalone: %s: %s\n", argv[i], strerror(errno));
            st.failed = 1;
        } else if (S_ISDIR(sb.st_mode)) {
            run_dir(&st, argv[i]);
        } else {
            run_file(&st, argv[i]);
        }
    }
    printf("standalone: %zu inputs ran\n", st.ran);
    return st.failed || st.ran == 0 ? 1 : 0;
}
