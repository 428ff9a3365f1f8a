/*
 * rules.c — loading the RULES arguments every command takes.
 *
 * Each load compiles everything loaded before together with the new source,
 * so the warnings of the first file come back with every later load: each
 * distinct diagnostic is printed once. After an argument that fails, the
 * next ones are still loaded, so that one run shows every error.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "util/limits.h"

int cli_strings_push(cli_strings *list, const char *s) {
    if (list->count == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 16;
        char **items = realloc(list->items, cap * sizeof *items);
        if (items == NULL) {
            return -1;
        }
        list->items = items;
        list->cap = cap;
    }
    char *copy = strdup(s);
    if (copy == NULL) {
        return -1;
    }
    list->items[list->count++] = copy;
    return 0;
}

void cli_strings_free(cli_strings *list) {
    for (size_t i = 0; i < list->count; i++) {
        free(list->items[i]);
    }
    free(list->items);
    list->items = NULL;
    list->count = list->cap = 0;
}

static int strings_contains(const cli_strings *list, const char *s) {
    for (size_t i = 0; i < list->count; i++) {
        if (strcmp(list->items[i], s) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Prints the diagnostics not printed before; counts them. */
static void report_diagnostics(const secdet_diagnostics *diag, int print, cli_strings *seen, cli_load_result *result) {
    size_t n = secdet_diagnostics_count(diag);
    for (size_t i = 0; i < n; i++) {
        secdet_diagnostic d;
        if (secdet_diagnostics_get(diag, i, &d) != SECDET_OK) {
            continue;
        }
        char *text = secdet_diagnostics_format(diag, i);
        if (text == NULL) {
            continue;
        }
        if (!strings_contains(seen, text)) {
            if (d.severity == SECDET_DIAG_ERROR) {
                result->errors++;
            } else {
                result->warnings++;
            }
            if (print) {
                fprintf(stderr, "%s\n", text);
            }
            /* When memory runs out we may print a line twice; no harm. */
            (void)cli_strings_push(seen, text);
        }
        secdet_free(text);
    }
}

int cli_load_rules(secdet_engine *engine, char *const *paths, size_t count, int print, cli_load_result *result) {
    cli_strings seen = {0};
    result->errors = 0;
    result->warnings = 0;
    for (size_t i = 0; i < count; i++) {
        const char *path = paths[i];
        struct stat st;
        if (stat(path, &st) != 0) {
            if (print) {
                fprintf(stderr, "secdet: %s: %s\n", path, strerror(errno));
            }
            result->errors++;
            continue;
        }
        secdet_diagnostics *diag = NULL;
        errno = 0;
        secdet_status status = S_ISDIR(st.st_mode) ? secdet_load_rules_dir(engine, path, &diag)
                                                   : secdet_load_rules_file(engine, path, &diag);
        int saved_errno = errno;
        size_t errors_before = result->errors;
        if (diag != NULL) {
            report_diagnostics(diag, print, &seen, result);
            secdet_diagnostics_free(diag);
        }
        if (status != SECDET_OK && result->errors == errors_before) {
            /* A failure the diagnostics do not explain (or only repeat). */
            if (print) {
                if (status == SECDET_ERR_IO && saved_errno != 0) {
                    fprintf(stderr, "secdet: %s: %s\n", path, strerror(saved_errno));
                } else if (status != SECDET_ERR_RULES) {
                    fprintf(stderr, "secdet: %s: %s\n", path, secdet_strerror(status));
                }
            }
            result->errors++;
        }
    }
    cli_strings_free(&seen);
    return result->errors == 0 ? 0 : -1;
}

static int has_suffix(const char *s, const char *suffix) {
    size_t n = strlen(s);
    size_t m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int wanted(const char *name, const cli_walk *how) {
    for (const char *const *sfx = how->suffixes; *sfx != NULL; sfx++) {
        if (has_suffix(name, *sfx)) {
            return 1;
        }
    }
    return 0;
}

static int collect_dir(const char *dir, int depth, const cli_walk *how, cli_strings *out) {
    if (depth > LIMIT_RULES_DIR_DEPTH) {
        errno = ELOOP;
        return -1;
    }
    DIR *d = opendir(dir);
    if (d == NULL) {
        return -1;
    }
    int rc = 0;
    struct dirent *ent;
    while (rc == 0 && (ent = readdir(d)) != NULL) {
        if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0 ||
            (ent->d_name[0] == '.' && !how->hidden)) {
            continue;
        }
        size_t len = strlen(dir) + 1 + strlen(ent->d_name) + 1;
        char *path = malloc(len);
        if (path == NULL) {
            rc = -1;
            break;
        }
        snprintf(path, len, "%s/%s", dir, ent->d_name);
        struct stat st;
        struct stat lst;
        /* stat follows a link; lstat tells a link to a directory apart. */
        if (stat(path, &st) == 0) {
            if (S_ISDIR(st.st_mode)) {
                if (how->follow_links || (lstat(path, &lst) == 0 && !S_ISLNK(lst.st_mode))) {
                    rc = collect_dir(path, depth + 1, how, out);
                }
            } else if (S_ISREG(st.st_mode) && wanted(ent->d_name, how)) {
                rc = cli_strings_push(out, path);
            }
        }
        free(path);
    }
    int saved = errno;
    closedir(d);
    errno = saved;
    return rc;
}

static int compare_paths(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int cli_collect_files(const char *arg, const cli_walk *how, cli_strings *out) {
    struct stat st;
    if (strcmp(arg, "-") == 0 || stat(arg, &st) != 0 || !S_ISDIR(st.st_mode)) {
        return cli_strings_push(out, arg); /* opening it says what is wrong, if anything */
    }
    size_t first = out->count;
    /* Without a trailing slash, so paths read "dir/x.secdet", not "dir//x.secdet". */
    char *dir = strdup(arg);
    if (dir == NULL) {
        return -1;
    }
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/') {
        dir[--len] = '\0';
    }
    int rc = collect_dir(dir, 0, how, out);
    free(dir);
    if (rc == 0 && out->count > first) {
        qsort(out->items + first, out->count - first, sizeof *out->items, compare_paths);
    }
    return rc;
}

int cli_collect_rule_files(const char *arg, cli_strings *out) {
    static const char *const suffixes[] = {".secdet", NULL};
    static const cli_walk how = {.suffixes = suffixes, .hidden = 0, .follow_links = 1};
    struct stat st;
    if (stat(arg, &st) != 0) {
        return -1;
    }
    return cli_collect_files(arg, &how, out);
}

int cli_rules_command(const char *name, int argc, char **argv, secdet_engine **engine, int *loaded,
                      cli_load_result *result) {
    static const struct option long_options[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
        switch (c) {
        case 'h': cli_usage(name, stdout); return CLI_EXIT_OK;
        default: return cli_bad_option(name, c, optopt, argv[optind - 1]);
        }
    }
    if (optind >= argc) {
        return cli_usage_error(name, "no rule files given%s", "");
    }
    secdet_status status = secdet_engine_new(NULL, engine);
    if (status != SECDET_OK) {
        fprintf(stderr, "secdet: cannot create an engine: %s\n", secdet_strerror(status));
        return CLI_EXIT_ERROR;
    }
    *loaded = cli_load_rules(*engine, argv + optind, (size_t)(argc - optind), 1, result) == 0;
    return -1;
}
