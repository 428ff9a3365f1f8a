/* logtype_json.c — a log type from its JSON description, and the registry's
 * built-ins made from theirs (logtype_builtin.c).
 *
 *   {"name": "okta",
 *    "detect": [{"exists": [".eventType", ".published"], "equals": {".kind": "x"}}, ...],
 *    "fields": {"time": ".published", "ip": [".client.ipAddress", ".request.ipChain[0].ip"], ...},
 *    "known_fields": [".uuid", ".actor.alternateId", ".debugContext.debugData.*", ...]}
 *
 * Every member but "name" is optional. Defining a name that exists changes
 * only the members given (a field by field for "fields"; "detect" and
 * "known_fields" whole), and null removes one. The description is read
 * whole before anything changes, so a bad one changes nothing, and the
 * error names the member ("fields.ip[1]: \".a b\" is not a field path").
 */
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event/logtype.h"
#include "util/json.h"

typedef struct lt_err {
    char *buf;
    size_t cap;
} lt_err;

static int fail(lt_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(lt_err *e, const char *fmt, ...) {
    if (e->buf && e->cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->buf, e->cap, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static void paths_free(lt_paths *ps) {
    for (uint32_t i = 0; i < ps->n; i++) sd_path_free(&ps->v[i].p);
    free(ps->v);
    memset(ps, 0, sizeof *ps);
}

static void shapes_free(lt_shape *s, uint32_t n) {
    for (uint32_t a = 0; a < n; a++) {
        for (uint32_t t = 0; t < s[a].n; t++) {
            sd_path_free(&s[a].tests[t].path.p);
            free(s[a].tests[t].equals);
        }
        free(s[a].tests);
    }
    free(s);
}

static void known_free(char **k, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) free(k[i]);
    free(k);
}

void sd_logtype_free(sd_logtype *lt) {
    free(lt->name);
    for (int f = 0; f < SD_NCOMMON; f++) paths_free(&lt->field[f]);
    shapes_free(lt->shapes, lt->nshapes);
    known_free(lt->known, lt->nknown);
    memset(lt, 0, sizeof *lt);
}

/* A field path (not a common field) from a string node. */
static int one_path(const cJSON *s, lt_path *out, lt_err *e, const char *where) {
    if (!cJSON_IsString(s)) return fail(e, "%s: expected a field path string", where);
    const char *err = NULL;
    size_t n = sd_json_string_len(s);
    memset(out, 0, sizeof *out);
    out->extra = UINT32_MAX;
    if (n == 0 || sd_path_parse(s->valuestring, n, &out->p, &err) != n || out->p.common) {
        sd_path_free(&out->p);
        return fail(e, "%s: \"%s\" is not a field path", where, s->valuestring);
    }
    return 0;
}

/* A path or a list of paths. */
static int path_list(const cJSON *v, lt_paths *out, lt_err *e, const char *where) {
    memset(out, 0, sizeof *out);
    size_t n = cJSON_IsArray(v) ? (size_t)cJSON_GetArraySize(v) : 1;
    if (cJSON_IsArray(v) && n == 0) return 0;
    out->v = calloc(n, sizeof *out->v);
    if (!out->v) return fail(e, "out of memory");
    const cJSON *item = cJSON_IsArray(v) ? v->child : v;
    for (size_t i = 0; i < n; i++, item = item->next) {
        char at[96];
        snprintf(at, sizeof at, cJSON_IsArray(v) ? "%s[%zu]" : "%s", where, i);
        if (one_path(item, &out->v[i], e, at) != 0) {
            paths_free(out);
            return -1;
        }
        out->n++;
    }
    return 0;
}

static int read_fields(const cJSON *v, lt_paths *got, bool *given, lt_err *e) {
    if (!cJSON_IsObject(v)) return fail(e, "fields: expected an object of common field -> path");
    for (const cJSON *m = v->child; m; m = m->next) {
        int f = sd_common_lookup(m->string, strlen(m->string));
        if (f == SD_COMMON_TYPE) return fail(e, "fields.type: @type is the log type's name, not a field");
        if (f < 0) {
            const char *near = sd_common_suggest(m->string, strlen(m->string));
            return fail(e, "fields.%s: not a common field (time, id, ip, user, account, action, outcome)%s%s%s",
                        m->string, near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
        }
        if (given[f]) return fail(e, "fields.%s: given twice", m->string);
        given[f] = true;
        if (cJSON_IsNull(m)) continue;
        char at[64];
        snprintf(at, sizeof at, "fields.%s", m->string);
        if (path_list(m, &got[f], e, at) != 0) return -1;
    }
    return 0;
}

static int read_test(const cJSON *path, const cJSON *equals, lt_test *t, lt_err *e, const char *where) {
    memset(t, 0, sizeof *t);
    if (equals) {
        if (!cJSON_IsString(equals)) return fail(e, "%s: expected a string to compare with", where);
        t->equals_len = sd_json_string_len(equals);
        t->equals = malloc(t->equals_len + 1);
        if (!t->equals) return fail(e, "out of memory");
        memcpy(t->equals, equals->valuestring, t->equals_len + 1);
    }
    if (one_path(path, &t->path, e, where) != 0) {
        free(t->equals);
        t->equals = NULL;
        return -1;
    }
    return 0;
}

static int read_shape(const cJSON *v, lt_shape *s, lt_err *e, size_t a) {
    memset(s, 0, sizeof *s);
    const cJSON *ex = sd_json_member(v, "exists"), *eq = sd_json_member(v, "equals");
    if (!cJSON_IsObject(v) || (!ex && !eq))
        return fail(e, "detect[%zu]: expected {\"exists\": [...], \"equals\": {...}}", a);
    for (const cJSON *m = v->child; m; m = m->next)
        if (strcmp(m->string, "exists") != 0 && strcmp(m->string, "equals") != 0)
            return fail(e, "detect[%zu].%s: unknown key (exists, equals)", a, m->string);
    if ((ex && !cJSON_IsArray(ex)) || (eq && !cJSON_IsObject(eq)))
        return fail(e, "detect[%zu]: exists is a list of paths, equals an object of path -> string", a);
    size_t n = (ex ? (size_t)cJSON_GetArraySize(ex) : 0) + (eq ? (size_t)cJSON_GetArraySize(eq) : 0);
    if (n == 0) return fail(e, "detect[%zu]: no test", a);
    s->tests = calloc(n, sizeof *s->tests);
    if (!s->tests) return fail(e, "out of memory");
    char at[96];
    size_t i = 0;
    for (const cJSON *m = ex ? ex->child : NULL; m; m = m->next, i++) {
        snprintf(at, sizeof at, "detect[%zu].exists[%zu]", a, i);
        if (read_test(m, NULL, &s->tests[s->n], e, at) != 0) return -1;
        s->n++;
    }
    for (const cJSON *m = eq ? eq->child : NULL; m; m = m->next) {
        snprintf(at, sizeof at, "detect[%zu].equals", a);
        cJSON key = {.type = cJSON_String, .valuestring = m->string};
        if (read_test(&key, m, &s->tests[s->n], e, at) != 0) return -1;
        s->n++;
    }
    return 0;
}

static int read_detect(const cJSON *v, lt_shape **out, uint32_t *nout, lt_err *e) {
    if (!cJSON_IsArray(v)) return fail(e, "detect: expected a list of shapes");
    size_t n = (size_t)cJSON_GetArraySize(v);
    lt_shape *s = calloc(n ? n : 1, sizeof *s);
    if (!s) return fail(e, "out of memory");
    uint32_t k = 0;
    for (const cJSON *m = v->child; m; m = m->next, k++) {
        if (read_shape(m, &s[k], e, k) != 0) {
            shapes_free(s, k + 1);
            return -1;
        }
    }
    *out = s;
    *nout = k;
    return 0;
}

static int read_known(const cJSON *v, char ***out, uint32_t *nout, lt_err *e) {
    if (!cJSON_IsArray(v)) return fail(e, "known_fields: expected a list of field paths");
    size_t n = (size_t)cJSON_GetArraySize(v);
    char **k = calloc(n ? n : 1, sizeof *k);
    if (!k) return fail(e, "out of memory");
    uint32_t i = 0;
    for (const cJSON *m = v->child; m; m = m->next, i++) {
        size_t len = cJSON_IsString(m) ? sd_json_string_len(m) : 0;
        size_t base = len >= 2 && memcmp(m->valuestring + len - 2, ".*", 2) == 0 ? len - 2 : len;
        sd_path p;
        const char *err = NULL;
        if (!len || sd_path_parse(m->valuestring, base, &p, &err) != base || p.common) {
            if (len) sd_path_free(&p);
            known_free(k, i);
            return fail(
                e, "known_fields[%u]: expected a field path (\".a.b\", \".a[*].b\", or \".a.*\" for anything below)",
                i);
        }
        /* Kept in the canonical text the checker compares with. */
        size_t tn = strlen(p.text);
        k[i] = malloc(tn + (base < len ? 3 : 1));
        if (k[i]) {
            memcpy(k[i], p.text, tn);
            memcpy(k[i] + tn, base < len ? ".*" : "", base < len ? 3 : 1);
        }
        sd_path_free(&p);
        if (!k[i]) {
            known_free(k, i);
            return fail(e, "out of memory");
        }
    }
    *out = k;
    *nout = i;
    return 0;
}

/* What a description gives, read whole before it is applied. */
typedef struct lt_def {
    lt_paths field[SD_NCOMMON];
    bool field_given[SD_NCOMMON];
    bool detect_given, known_given;
    const cJSON *known_node;
    lt_shape *shapes;
    uint32_t nshapes;
    char **known;
    uint32_t nknown;
} lt_def;

static void def_free(lt_def *d) {
    for (int f = 0; f < SD_NCOMMON; f++) paths_free(&d->field[f]);
    shapes_free(d->shapes, d->nshapes);
    known_free(d->known, d->nknown);
}

static int read_def(const cJSON *root, lt_def *d, lt_err *e) {
    for (const cJSON *m = root->child; m; m = m->next) {
        const char *k = m->string;
        if (strcmp(k, "name") == 0) continue;
        if (strcmp(k, "fields") == 0) {
            if (read_fields(m, d->field, d->field_given, e) != 0) return -1;
        } else if (strcmp(k, "detect") == 0) {
            d->detect_given = true;
            if (!cJSON_IsNull(m) && read_detect(m, &d->shapes, &d->nshapes, e) != 0) return -1;
        } else if (strcmp(k, "known_fields") == 0) {
            d->known_given = true;
            if (!cJSON_IsNull(m) && read_known(m, &d->known, &d->nknown, e) != 0) return -1;
            d->known_node = m;
        } else {
            return fail(e, "%s: unknown key (name, detect, fields, known_fields)", k);
        }
    }
    return 0;
}

/* Moves what d gives into lt (its old members freed). */
static void apply(sd_logtype *lt, lt_def *d) {
    for (int f = 0; f < SD_NCOMMON; f++) {
        if (!d->field_given[f]) continue;
        paths_free(&lt->field[f]);
        lt->field[f] = d->field[f];
        memset(&d->field[f], 0, sizeof d->field[f]);
    }
    if (d->detect_given) {
        shapes_free(lt->shapes, lt->nshapes);
        lt->shapes = d->shapes;
        lt->nshapes = d->nshapes;
        d->shapes = NULL;
        d->nshapes = 0;
    }
    if (d->known_given) {
        known_free(lt->known, lt->nknown);
        lt->known = d->known;
        lt->nknown = d->nknown;
        lt->has_known = !cJSON_IsNull(d->known_node);
        d->known = NULL;
        d->nknown = 0;
    }
}

static int define(sd_logtypes *r, const char *json, size_t len, bool builtin, lt_err *e) {
    cJSON *root = sd_json_parse(json, len, 32, NULL);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return fail(e, "a log type is a JSON object with a \"name\"");
    }
    const cJSON *name = sd_json_member(root, "name");
    int rc = 0;
    if (!cJSON_IsString(name) || !sd_logtype_name_ok(name->valuestring))
        rc = fail(e, "name: expected a name of lower-case letters, digits and '_', parts joined by '-' (not \"auto\")");
    lt_def d;
    memset(&d, 0, sizeof d);
    if (rc == 0) rc = read_def(root, &d, e);
    sd_logtype *lt = rc == 0 ? sd_logtypes_find(r, name->valuestring) : NULL;
    sd_logtype *fresh = NULL;
    if (rc == 0 && !lt) {
        fresh = calloc(1, sizeof *fresh);
        if (fresh) fresh->name = strdup(name->valuestring);
        if (r->n == r->cap) {
            uint32_t cap = r->cap ? r->cap * 2 : 8;
            sd_logtype **v = realloc(r->v, cap * sizeof *v);
            if (v) {
                r->v = v;
                r->cap = cap;
            }
        }
        if (!fresh || !fresh->name || r->n == r->cap) {
            if (fresh) free(fresh->name);
            free(fresh);
            fresh = NULL;
            rc = fail(e, "out of memory");
        }
    }
    if (rc == 0) {
        if (fresh) {
            fresh->builtin = builtin;
            r->v[r->n++] = fresh;
            lt = fresh;
        }
        apply(lt, &d);
        r->gen++;
    }
    def_free(&d);
    cJSON_Delete(root);
    return rc;
}

int sd_logtypes_define(sd_logtypes *r, const char *json, size_t len, char *err, size_t errlen) {
    lt_err e = {err, errlen};
    if (err && errlen) err[0] = 0;
    if (!r || !json) return fail(&e, "no log type given");
    return define(r, json, len, false, &e);
}

int sd_logtypes_init(sd_logtypes *r) {
    memset(r, 0, sizeof *r);
    char msg[160];
    lt_err e = {msg, sizeof msg};
    for (size_t i = 0; sd_logtype_builtin_json[i]; i++) {
        if (define(r, sd_logtype_builtin_json[i], strlen(sd_logtype_builtin_json[i]), true, &e) != 0) {
            sd_logtypes_free(r);
            return -1;
        }
    }
    return 0;
}

/* ---- a log type as JSON (what it is now, overrides included) ---------------------- */

static cJSON *paths_json(const lt_paths *ps) {
    if (ps->n == 1) return cJSON_CreateString(ps->v[0].p.text);
    cJSON *a = cJSON_CreateArray();
    for (uint32_t i = 0; a && i < ps->n; i++) cJSON_AddItemToArray(a, cJSON_CreateString(ps->v[i].p.text));
    return a;
}

char *sd_logtype_to_json(const sd_logtype *lt) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "name", lt->name);
    cJSON *detect = cJSON_AddArrayToObject(o, "detect");
    for (uint32_t a = 0; detect && a < lt->nshapes; a++) {
        cJSON *shape = cJSON_CreateObject(), *ex = NULL, *eq = NULL;
        cJSON_AddItemToArray(detect, shape);
        for (uint32_t t = 0; shape && t < lt->shapes[a].n; t++) {
            const lt_test *test = &lt->shapes[a].tests[t];
            if (test->equals) {
                if (!eq) eq = cJSON_AddObjectToObject(shape, "equals");
                cJSON_AddStringToObject(eq, test->path.p.text, test->equals);
            } else {
                if (!ex) ex = cJSON_AddArrayToObject(shape, "exists");
                cJSON_AddItemToArray(ex, cJSON_CreateString(test->path.p.text));
            }
        }
    }
    cJSON *fields = cJSON_AddObjectToObject(o, "fields");
    for (int f = 0; fields && f < SD_NCOMMON; f++)
        if (lt->field[f].n) cJSON_AddItemToObject(fields, sd_common_names[f], paths_json(&lt->field[f]));
    if (lt->has_known) {
        cJSON *k = cJSON_AddArrayToObject(o, "known_fields");
        for (uint32_t i = 0; k && i < lt->nknown; i++) cJSON_AddItemToArray(k, cJSON_CreateString(lt->known[i]));
    }
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}
