/*
 * config_walk.c — the walker of the `secdet run` configuration
 * (config_walk.h): the JSON path kept while checking, the first error
 * stopping the load with that path in it, warnings, the getters of typed
 * members, and paths and secret references resolved against the
 * configuration's directory.
 *
 * Secrets are not read into the configuration: a sink keeps its
 * references ({"env": ...}, {"file": ...}) in its JSON, with relative file
 * paths made absolute here, and the library reads them whenever the sink
 * is made — here once to check them, at start, and on SIGHUP.
 * cfg_read_secret is the reader for other secret-bearing keys of the file.
 */
#include "cli/config_walk.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/secret.h"

int cfg_fail(cfg_walker *w, const char *fmt, ...) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(w->err, w->errlen, "%s: %s%s%s", w->file, w->path, w->plen ? ": " : "", msg);
    return -1;
}

/* A warning for `secdet run` to print ("PATH: JSON-PATH: warning: ..."); a
 * warning that cannot be stored is dropped (it stops nothing). */
void cfg_warn(cfg_walker *w, const char *msg) {
    char **more = realloc(w->c->warnings, (w->c->nwarnings + 1) * sizeof *more);
    if (!more) return;
    w->c->warnings = more;
    size_t n = strlen(w->file) + w->plen + strlen(msg) + 16;
    char *line = malloc(n);
    if (!line) return;
    snprintf(line, n, "%s: %s%swarning: %s", w->file, w->path, w->plen ? ": " : "", msg);
    more[w->c->nwarnings++] = line;
}

/* Enters a member (".key", or "key" at the top) or an element ("[i]"); returns the old length. */
size_t cfg_enter_key(cfg_walker *w, const char *key) {
    size_t old = w->plen;
    int n = snprintf(w->path + w->plen, sizeof w->path - w->plen, "%s%s", w->plen ? "." : "", key);
    if (n > 0) w->plen += (size_t)n < sizeof w->path - w->plen ? (size_t)n : sizeof w->path - w->plen - 1;
    return old;
}

size_t cfg_enter_index(cfg_walker *w, size_t i) {
    size_t old = w->plen;
    int n = snprintf(w->path + w->plen, sizeof w->path - w->plen, "[%zu]", i);
    if (n > 0) w->plen += (size_t)n < sizeof w->path - w->plen ? (size_t)n : sizeof w->path - w->plen - 1;
    return old;
}

void cfg_leave(cfg_walker *w, size_t old) {
    w->plen = old;
    w->path[old] = 0;
}

int cfg_check_keys(cfg_walker *w, const cJSON *obj, const char *const *allowed) {
    for (const cJSON *m = obj->child; m; m = m->next) {
        bool ok = false;
        for (size_t i = 0; allowed[i]; i++) ok = ok || strcmp(m->string, allowed[i]) == 0;
        if (!ok) {
            cfg_enter_key(w, m->string);
            return cfg_fail(w, "unknown key");
        }
    }
    return 0;
}

int cfg_want_object(cfg_walker *w, const cJSON *v) { return cJSON_IsObject(v) ? 0 : cfg_fail(w, "expected an object"); }

/* A string member. *out NULL when absent and not required. */
int cfg_get_string(cfg_walker *w, const cJSON *obj, const char *key, bool required, char **out) {
    *out = NULL;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    size_t old = cfg_enter_key(w, key);
    int rc = 0;
    if (!v) {
        if (required) rc = cfg_fail(w, "missing (required)");
    } else if (!cJSON_IsString(v) || !v->valuestring[0]) {
        rc = cfg_fail(w, "expected a non-empty string");
    } else if (!(*out = strdup(v->valuestring))) {
        rc = cfg_fail(w, "out of memory");
    }
    cfg_leave(w, old);
    return rc;
}

/* A non-negative integer member up to max; *present says whether it was there. */
int cfg_get_uint(cfg_walker *w, const cJSON *obj, const char *key, double max, uint64_t *out, bool *present) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *present = v != NULL;
    if (!v) return 0;
    size_t old = cfg_enter_key(w, key);
    int rc = 0;
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > max || floor(v->valuedouble) != v->valuedouble)
        rc = cfg_fail(w, "expected an integer from 0 to %.0f", max);
    else
        *out = (uint64_t)v->valuedouble;
    cfg_leave(w, old);
    return rc;
}

char *cfg_resolve(cfg_walker *w, const char *p) {
    if (p[0] == '/' || !w->dir) return strdup(p);
    size_t n = strlen(w->dir) + strlen(p) + 2;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s/%s", w->dir, p);
    return s;
}

int cfg_get_path(cfg_walker *w, const cJSON *obj, const char *key, bool required, char **out) {
    char *raw;
    if (cfg_get_string(w, obj, key, required, &raw) != 0) return -1;
    *out = NULL;
    if (!raw) return 0;
    *out = cfg_resolve(w, raw);
    free(raw);
    return *out ? 0 : cfg_fail(w, "out of memory");
}

int cfg_get_bool(cfg_walker *w, const cJSON *obj, const char *key, int *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) return 0;
    if (!cJSON_IsBool(v)) {
        size_t old = cfg_enter_key(w, key);
        int rc = cfg_fail(w, "expected true or false");
        cfg_leave(w, old);
        return rc;
    }
    *out = cJSON_IsTrue(v);
    return 0;
}

/* ---- secrets --------------------------------------------------------------------- */

/* A {"file": PATH} reference with a relative PATH made absolute (against
 * the configuration's directory, like every path in it). */
int cfg_absolute_ref(cJSON *ref, void *arg) {
    cfg_walker *w = arg;
    cJSON *f = cJSON_GetObjectItemCaseSensitive(ref, "file");
    if (!cJSON_IsString(f) || !f->valuestring[0] || f->valuestring[0] == '/') return 0;
    char *abs = cfg_resolve(w, f->valuestring);
    if (!abs) return cfg_fail(w, "out of memory");
    int ok = cJSON_ReplaceItemInObjectCaseSensitive(ref, "file", cJSON_CreateString(abs));
    free(abs);
    return ok ? 0 : cfg_fail(w, "out of memory");
}

/*
 * The secret at v (the walker's current key): a string, {"env": NAME} or
 * {"file": PATH} (relative to the configuration's directory), in *out
 * (free it with sd_secret_free). -1 after a message naming the key and the
 * variable or file, never the value. A file every user may read is
 * warned about. For every secret-bearing key of this file that the
 * library does not read itself (a TLS key's passphrase...).
 */
int cfg_read_secret(cfg_walker *w, const cJSON *v, char **out) {
    cJSON *copy = cJSON_Duplicate(v, 1);
    if (!copy) return cfg_fail(w, "out of memory");
    char err[300], why[300];
    int rc = sd_secret_is_ref(copy) ? cfg_absolute_ref(copy, w) : 0;
    if (rc == 0 && sd_secret_read(copy, out, err, sizeof err, why, sizeof why) != 0)
        rc = cfg_fail(w, "%s", err);
    else if (rc == 0 && why[0])
        cfg_warn(w, why);
    cJSON_Delete(copy);
    return rc;
}