/* rules.c — loading rule sources and swapping the compiled ruleset.
 *
 * Every source loaded into an engine shares one namespace, so a load compiles
 * all the sources loaded before together with the new ones. All or nothing:
 * the new program and everything that depends on it (VM context, field
 * cache, candidate bitmap) are built completely before the old set is freed;
 * any error leaves the engine with the rules it had. The engine keeps copies
 * of the texts it compiled, so callers' buffers are only borrowed.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/engine.h"
#include "engine/tuning.h"
#include "lang/compile.h"
#include "util/limits.h"

void sd_engine_ruleset_free(engine_ruleset *rs) {
    if (!rs) return;
    sd_vm_free(&rs->vm);
    sd_event_free(&rs->ev);
    free(rs->runnable);
    free(rs->always_run);
    free(rs->cand_bits);
    free(rs->key_vals);
    free(rs->tkey_vals);
    free(rs->fps);
    sd_tune_counts_free(rs->counts);
    sd_program_free(rs->prog);
    free(rs);
}

/* Takes ownership of prog (freed on failure). */
static engine_ruleset *ruleset_new(const secdet_engine *e, program *prog) {
    engine_ruleset *rs = calloc(1, sizeof *rs);
    if (!rs) {
        sd_program_free(prog);
        return NULL;
    }
    rs->prog = prog;
    bool vm_ok = sd_vm_init(&rs->vm, prog, e->opts.vm_budget) == 0;
    bool ev_ok = vm_ok && sd_event_init(&rs->ev, prog->paths, prog->npaths) == 0;
    if (!vm_ok || !ev_ok) {
        if (vm_ok) sd_vm_free(&rs->vm);
        rs->prog = NULL;
        sd_program_free(prog);
        free(rs);
        return NULL;
    }
    rs->vm.regex_match_limit = e->opts.regex_match_limit;

    uint32_t n = prog->nrules;
    uint32_t max_keys = 1;
    rs->nwords = (n + 63) / 64;
    rs->runnable = calloc(n ? n : 1, 1);
    rs->always_run = calloc(prog->nalways ? prog->nalways : 1, sizeof *rs->always_run);
    rs->cand_bits = calloc(rs->nwords ? rs->nwords : 1, sizeof *rs->cand_bits);
    for (uint32_t i = 0; i < n; i++) {
        const vm_rule *r = &prog->rules[i];
        if (r->nby > max_keys) max_keys = r->nby;
        if (r->nthrottle_by > max_keys) max_keys = r->nthrottle_by;
    }
    rs->key_vals = calloc(max_keys, sizeof *rs->key_vals);
    rs->tkey_vals = calloc(max_keys, sizeof *rs->tkey_vals);
    rs->fps = calloc(n ? n : 1, sizeof *rs->fps);
    if (!rs->runnable || !rs->always_run || !rs->cand_bits || !rs->key_vals || !rs->tkey_vals || !rs->fps) {
        sd_engine_ruleset_free(rs);
        return NULL;
    }
    /* Private and disabled rules never alert, and run only when another
     * rule names them (a private aggregation has nothing to do at all). */
    for (uint32_t i = 0; i < n; i++) {
        const vm_rule *r = &prog->rules[i];
        rs->runnable[i] = !r->is_private && !(r->tuning && r->tuning->disabled);
        if (rs->runnable[i] && (r->agg != RAGG_NONE || r->has_throttle)) rs->stateful = true;
        sd_corr_fingerprint(prog, i, &rs->fps[i]);
    }
    for (uint32_t i = 0; i < prog->nalways; i++) {
        uint32_t r = prog->always[i];
        if (r < n && rs->runnable[r]) rs->always_run[rs->nalways_run++] = r;
    }
    return rs;
}

static void hand_out_diag(diag_list *list, secdet_diagnostics **out) {
    if (!out) {
        sd_diag_free(list);
        return;
    }
    secdet_diagnostics *d = malloc(sizeof *d);
    if (!d) {
        sd_diag_free(list);
        *out = NULL;
        return;
    }
    d->list = *list;
    *out = d;
}

/* Compiles the loaded texts plus `add` (owned; taken on success, freed on
 * failure) and, when that works, makes it the engine's ruleset. */
static secdet_status load_texts(secdet_engine *e, rule_text *add, size_t nadd, diag_list *d) {
    secdet_status st = SECDET_OK;
    size_t total = e->ntexts + nadd;
    compile_input *in = calloc(total ? total : 1, sizeof *in);
    if (!in) {
        st = SECDET_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < total; i++) {
        const rule_text *t = i < e->ntexts ? &e->texts[i] : &add[i - e->ntexts];
        in[i] = (compile_input){.name = t->name, .text = t->text, .len = t->len};
    }
    compile_limits lim = {.max_source_bytes = e->opts.max_rule_file_bytes, .log_types = &e->logtypes};
    size_t errors_before = d->errors;
    program *prog = sd_compile_sources(in, total, &lim, d);
    free(in);
    if (!prog || d->errors > errors_before) {
        sd_program_free(prog);
        st = d->errors > errors_before ? SECDET_ERR_RULES : SECDET_ERR_NOMEM;
        goto out;
    }
    engine_ruleset *rs = ruleset_new(e, prog);
    if (!rs) {
        st = SECDET_ERR_NOMEM;
        goto out;
    }
    if (total > e->cap_texts) {
        size_t cap = e->cap_texts ? e->cap_texts : 4;
        while (cap < total) cap *= 2;
        rule_text *p = realloc(e->texts, cap * sizeof *p);
        if (!p) {
            sd_engine_ruleset_free(rs);
            st = SECDET_ERR_NOMEM;
            goto out;
        }
        e->texts = p;
        e->cap_texts = cap;
    }
    memcpy(e->texts + e->ntexts, add, nadd * sizeof *add);
    e->ntexts = total;
    /* Correlation state follows the rules that did not change (by name and
     * fingerprint); the old program is still alive for the mapping. */
    sd_corr_set_program(e->corr, rs->prog, rs->fps);
    sd_tune_swap(e, rs); /* the per-rule figures follow the rules too */
    sd_engine_ruleset_free(e->rs);
    e->rs = rs;
    e->prog_gen++;
    sd_alert_ctx_forget_event(&e->alerts);
    sd_engine_remake_aux(e); /* the records held for ordering, for the rules as they are now */
    return SECDET_OK;
out:
    for (size_t i = 0; i < nadd; i++) {
        free(add[i].name);
        free(add[i].text);
    }
    return st;
}

static secdet_status copy_text(rule_text *t, const char *name, const char *text, size_t len) {
    t->name = strdup(name);
    t->text = malloc(len + 1);
    t->len = len;
    if (!t->name || !t->text) {
        free(t->name);
        free(t->text);
        return SECDET_ERR_NOMEM;
    }
    if (len) memcpy(t->text, text, len);
    t->text[len] = 0;
    return SECDET_OK;
}

/* Reads a whole file, refusing more than `max` bytes without reading them all. */
static secdet_status read_file(const char *path, size_t max, rule_text *t, diag_list *d) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        sd_diag_add(d, DIAG_ERROR, path, 0, 0, "cannot open: %s", strerror(errno));
        return SECDET_ERR_IO;
    }
    size_t cap = 4096, len = 0;
    char *data = malloc(cap);
    secdet_status st = data ? SECDET_OK : SECDET_ERR_NOMEM;
    while (st == SECDET_OK) {
        if (len == cap) {
            size_t ncap = cap * 2;
            char *p = realloc(data, ncap);
            if (!p) {
                st = SECDET_ERR_NOMEM;
                break;
            }
            data = p;
            cap = ncap;
        }
        size_t n = fread(data + len, 1, cap - len, f);
        len += n;
        if (len > max) {
            sd_diag_add(d, DIAG_ERROR, path, 0, 0, "rule file is larger than the limit of %zu bytes", max);
            st = SECDET_ERR_LIMIT;
        } else if (n == 0) {
            if (ferror(f)) {
                sd_diag_add(d, DIAG_ERROR, path, 0, 0, "cannot read: %s", strerror(errno));
                st = SECDET_ERR_IO;
            }
            break;
        }
    }
    fclose(f);
    if (st == SECDET_OK) st = copy_text(t, path, data, len);
    free(data);
    return st;
}

secdet_status secdet_load_rules_string(secdet_engine *e, const char *name, const char *text, size_t len,
                                       secdet_diagnostics **diag) {
    if (diag) *diag = NULL;
    if (!e || e->busy || (!text && len)) return SECDET_ERR_INVALID_ARG;
    if (!name) name = "<string>";
    diag_list d;
    sd_diag_init(&d);
    secdet_status st;
    rule_text t;
    if (len > e->opts.max_rule_file_bytes) {
        sd_diag_add(&d, DIAG_ERROR, name, 0, 0, "rule source is larger than the limit of %zu bytes",
                    e->opts.max_rule_file_bytes);
        st = SECDET_ERR_LIMIT;
    } else {
        st = copy_text(&t, name, text ? text : "", len);
        if (st == SECDET_OK) st = load_texts(e, &t, 1, &d);
    }
    hand_out_diag(&d, diag);
    return st;
}

secdet_status secdet_load_rules_file(secdet_engine *e, const char *path, secdet_diagnostics **diag) {
    if (diag) *diag = NULL;
    if (!e || e->busy || !path) return SECDET_ERR_INVALID_ARG;
    diag_list d;
    sd_diag_init(&d);
    rule_text t;
    secdet_status st = read_file(path, e->opts.max_rule_file_bytes, &t, &d);
    if (st == SECDET_OK) st = load_texts(e, &t, 1, &d);
    hand_out_diag(&d, diag);
    return st;
}

typedef struct path_list {
    char **items;
    size_t n, cap;
} path_list;

static bool has_secdet_suffix(const char *name) {
    size_t n = strlen(name);
    return n > 7 && strcmp(name + n - 7, ".secdet") == 0;
}

static secdet_status collect_dir(const char *dir, int depth, path_list *out, diag_list *d) {
    if (depth > LIMIT_RULES_DIR_DEPTH) return SECDET_OK;
    DIR *dh = opendir(dir);
    if (!dh) {
        sd_diag_add(d, DIAG_ERROR, dir, 0, 0, "cannot open directory: %s", strerror(errno));
        return SECDET_ERR_IO;
    }
    secdet_status st = SECDET_OK;
    struct dirent *de;
    while (st == SECDET_OK && (de = readdir(dh)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        size_t need = strlen(dir) + strlen(de->d_name) + 2;
        char *full = malloc(need);
        if (!full) {
            st = SECDET_ERR_NOMEM;
            break;
        }
        snprintf(full, need, "%s/%s", dir, de->d_name);
        struct stat sb;
        if (stat(full, &sb) != 0) {
            free(full); /* a dangling symlink: nothing to load */
            continue;
        }
        if (S_ISDIR(sb.st_mode)) {
            st = collect_dir(full, depth + 1, out, d);
            free(full);
        } else if (S_ISREG(sb.st_mode) && has_secdet_suffix(de->d_name)) {
            if (out->n == out->cap) {
                size_t cap = out->cap ? out->cap * 2 : 16;
                char **p = realloc(out->items, cap * sizeof *p);
                if (!p) {
                    free(full);
                    st = SECDET_ERR_NOMEM;
                    break;
                }
                out->items = p;
                out->cap = cap;
            }
            out->items[out->n++] = full;
        } else {
            free(full);
        }
    }
    closedir(dh);
    return st;
}

static int cmp_paths(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

secdet_status secdet_load_rules_dir(secdet_engine *e, const char *dir, secdet_diagnostics **diag) {
    if (diag) *diag = NULL;
    if (!e || e->busy || !dir) return SECDET_ERR_INVALID_ARG;
    diag_list d;
    sd_diag_init(&d);
    path_list files = {0};
    rule_text *texts = NULL;
    size_t ntexts = 0;
    secdet_status st = collect_dir(dir, 0, &files, &d);
    if (st == SECDET_OK) {
        qsort(files.items, files.n, sizeof *files.items, cmp_paths);
        texts = calloc(files.n ? files.n : 1, sizeof *texts);
        if (!texts) st = SECDET_ERR_NOMEM;
    }
    for (size_t i = 0; st == SECDET_OK && i < files.n; i++) {
        st = read_file(files.items[i], e->opts.max_rule_file_bytes, &texts[i], &d);
        if (st == SECDET_OK) ntexts++;
    }
    if (st == SECDET_OK) {
        st = load_texts(e, texts, ntexts, &d);
    } else {
        for (size_t i = 0; i < ntexts; i++) {
            free(texts[i].name);
            free(texts[i].text);
        }
    }
    free(texts);
    for (size_t i = 0; i < files.n; i++) free(files.items[i]);
    free(files.items);
    hand_out_diag(&d, diag);
    return st;
}

/* For secdet_reload_rules (sources.c): the old texts are set aside so
 * that load_texts compiles the new ones alone, and come back on failure. */
secdet_status sd_engine_replace_texts(secdet_engine *e, rule_text *texts, size_t n, diag_list *d) {
    rule_text *old = e->texts;
    size_t nold = e->ntexts, cap_old = e->cap_texts;
    e->texts = NULL;
    e->ntexts = e->cap_texts = 0;
    secdet_status st = load_texts(e, texts, n, d);
    if (st != SECDET_OK) {
        free(e->texts);
        e->texts = old;
        e->ntexts = nold;
        e->cap_texts = cap_old;
        return st;
    }
    for (size_t i = 0; i < nold; i++) {
        free(old[i].name);
        free(old[i].text);
    }
    free(old);
    return SECDET_OK;
}
