/* alert.c — builds an alert's JSON and id (see alert.h).
 *
 * This runs for every alert, so it writes JSON straight into reusable
 * buffers instead of building a cJSON tree, and serialises the firing event
 * once even when several rules fire on it. Numbers are written in their
 * shortest exact form so the event JSON, and with it the id, does not depend
 * on how cJSON would print them. Strings and keys are written whole, U+0000
 * included (as \u0000), from a tree (util/json.h) as from text.
 */
#include "alert/alert.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event/scan.h"
#include "event/time.h"
#include "util/json.h"
#include "util/severity.h"
#include "util/limits.h"

void alert_ctx_init(alert_ctx *ac) {
    memset(ac, 0, sizeof *ac);
    buf_init(&ac->json);
    buf_init(&ac->message);
    buf_init(&ac->group);
    buf_init(&ac->events);
    buf_init(&ac->scratch);
}

void alert_ctx_free(alert_ctx *ac) {
    buf_free(&ac->json);
    buf_free(&ac->message);
    buf_free(&ac->group);
    buf_free(&ac->events);
    buf_free(&ac->scratch);
    if (ac->md_ctx) EVP_MD_CTX_free(ac->md_ctx);
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    if (ac->md) EVP_MD_free(ac->md);
#endif
    memset(ac, 0, sizeof *ac);
}

void alert_ctx_forget_event(alert_ctx *ac) {
    ac->cached_root = NULL;
    ac->cached_ev = NULL;
    ac->cached_gen = 0;
}

/* ---- JSON text ------------------------------------------------------------ */

void alert_number_write(buf *b, double d) {
    if (!isfinite(d)) {
        buf_puts(b, "null");
        return;
    }
    /* 2^53: every integer below it is exact in a double */
    if (fabs(d) < 9007199254740992.0 && d == trunc(d)) {
        buf_printf(b, "%" PRId64, (int64_t)d);
        return;
    }
    char tmp[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, d);
        if (strtod(tmp, NULL) == d) break;
    }
    /* A host program may have set a locale whose decimal point is not '.';
     * JSON's is. */
    for (char *p = tmp; *p; p++)
        if (!((*p >= '0' && *p <= '9') || *p == 'e' || *p == 'E' || *p == '+' || *p == '-')) *p = '.';
    buf_puts(b, tmp);
}

static void json_write_depth(buf *b, const cJSON *n, unsigned depth) {
    if (!n || depth > LIMIT_ALERT_JSON_DEPTH) {
        buf_puts(b, "null");
        return;
    }
    switch (n->type & 0xFF) {
    case cJSON_False: buf_puts(b, "false"); break;
    case cJSON_True: buf_puts(b, "true"); break;
    case cJSON_Number: alert_number_write(b, n->valuedouble); break;
    case cJSON_String:
        buf_json_string(b, n->valuestring ? n->valuestring : "", json_string_len(n));
        break;
    case cJSON_Array: {
        buf_putc(b, '[');
        for (const cJSON *c = n->child; c; c = c->next) {
            if (c != n->child) buf_putc(b, ',');
            json_write_depth(b, c, depth + 1);
        }
        buf_putc(b, ']');
        break;
    }
    case cJSON_Object: {
        buf key; /* a key holding U+0000 is decoded into it (util/json.h) */
        buf_init(&key);
        buf_putc(b, '{');
        for (const cJSON *c = n->child; c; c = c->next) {
            if (c != n->child) buf_putc(b, ',');
            size_t klen;
            const char *k = json_key_bytes(c, &key, &klen);
            if (key.oom) b->oom = true;
            buf_json_string(b, k, klen);
            buf_putc(b, ':');
            json_write_depth(b, c, depth + 1);
        }
        buf_putc(b, '}');
        buf_free(&key);
        break;
    }
    default: buf_puts(b, "null"); break; /* cJSON_NULL, and anything unexpected */
    }
}

void alert_json_write(buf *b, const cJSON *node) { json_write_depth(b, node, 0); }

/* A string token s[i] == '"' of accepted text: its body written as
 * buf_json_string writes cJSON's decoded string. Returns the offset past it. */
static size_t text_string(buf *b, const char *s, size_t n, size_t i) {
    size_t j = i + 1;
    bool esc = false;
    for (;;) {
        while (j < n && s[j] != '"' && s[j] != '\\') j++;
        if (j >= n || s[j] == '"') break;
        esc = true;
        j += 2; /* the escaped byte; \uXXXX's digits are neither '"' nor '\\' */
    }
    size_t blen = (j < n ? j : n) - (i + 1);
    if (!esc) {
        buf_json_string(b, s + i + 1, blen);
    } else {
        char small[256];
        char *tmp = blen <= sizeof small ? small : malloc(blen);
        if (!tmp) {
            b->oom = true;
        } else {
            buf_json_string(b, tmp, scan_unescape(s + i + 1, blen, tmp));
            if (tmp != small) free(tmp);
        }
    }
    return j + 1;
}

int alert_json_from_text(buf *b, const char *text, size_t len) {
    const char *s = text;
    size_t i = 0;
    unsigned depth = 0;
    if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) i = 3;
    while (i < len) {
        char c = s[i];
        switch (c) {
        case ' ':
        case '\t':
        case '\n':
        case '\r': i++; break;
        case '{':
        case '[':
            /* json_write_depth writes what lies deeper as null: left to it */
            if (depth >= LIMIT_ALERT_JSON_DEPTH) return -1;
            depth++;
            buf_putc(b, c);
            i++;
            break;
        case '}':
        case ']': depth--; /* fall through */
        case ',':
        case ':':
            buf_putc(b, c);
            i++;
            break;
        case '"': i = text_string(b, s, len, i); break;
        case 't': buf_puts(b, "true"), i += 4; break;
        case 'f': buf_puts(b, "false"), i += 5; break;
        case 'n': buf_puts(b, "null"), i += 4; break;
        default: {
            size_t j = i, digits = 0;
            bool plain = true;
            for (; j < len; j++) {
                char d = s[j];
                if (d >= '0' && d <= '9')
                    digits++;
                else if (d == '-' && j == i)
                    ;
                else if (d == '.' || d == 'e' || d == 'E' || d == '+' || d == '-')
                    plain = false;
                else
                    break;
            }
            if (j == i) return -1; /* not text scan_run accepted */
            /* A short integer prints as its own digits ("-0" as 0, like (int64_t)-0.0). */
            if (plain && digits <= 15 && !(j - i == 2 && s[i] == '-' && s[i + 1] == '0'))
                buf_append(b, s + i, j - i);
            else
                alert_number_write(b, scan_number(s + i, j - i));
            i = j;
        }
        }
    }
    return b->oom ? -1 : 0;
}

void alert_value_json(buf *b, const sd_value *v) {
    switch (v->type) {
    case SD_NULL: buf_puts(b, "null"); break;
    case SD_BOOL: buf_puts(b, v->b ? "true" : "false"); break;
    case SD_NUM: alert_number_write(b, v->num); break;
    case SD_STR: buf_json_string(b, v->str ? v->str : "", v->str ? v->len : 0); break;
    case SD_ARR:
    case SD_OBJ:
        if (v->node)
            alert_json_write(b, v->node);
        else
            buf_puts(b, v->type == SD_ARR ? "[]" : "{}");
        break;
    }
}

void alert_value_text(buf *b, const sd_value *v) {
    if (v->type == SD_STR)
        buf_append(b, v->str ? v->str : "", v->str ? v->len : 0);
    else
        alert_value_json(b, v);
}

/* A group value: missing → null; one value as itself; several (only a
 * function over a [*] path could give that) as an array. */
void alert_group_value_json(buf *b, const sd_values *vals) {
    if (!vals || vals->n == 0) {
        buf_puts(b, "null");
    } else if (vals->n == 1) {
        alert_value_json(b, &vals->v[0]);
    } else {
        buf_putc(b, '[');
        for (uint32_t i = 0; i < vals->n; i++) {
            if (i) buf_putc(b, ',');
            alert_value_json(b, &vals->v[i]);
        }
        buf_putc(b, ']');
    }
}

/* ---- The alert -------------------------------------------------------------- */

static void put_key(buf *b, const char *key) {
    buf_putc(b, ',');
    buf_putc(b, '"');
    buf_puts(b, key);
    buf_puts(b, "\":");
}

static void put_str(buf *b, const char *s) { buf_json_string(b, s ? s : "", s ? strlen(s) : 0); }

static void put_time(buf *b, int64_t ns) {
    char t[40];
    size_t n = time_format_rfc3339(ns, t);
    buf_putc(b, '"');
    buf_append(b, t, n);
    buf_putc(b, '"');
}

static bool meta_key_is_promoted(const char *k) {
    return strcmp(k, "title") == 0 || strcmp(k, "severity") == 0 || strcmp(k, "tags") == 0;
}

static void build_events(alert_ctx *ac, const alert_spec *spec) {
    if (spec->event_json) {
        buf_reset(&ac->events);
        for (uint32_t i = 0; i < spec->nevents; i++) {
            if (i) buf_putc(&ac->events, ',');
            buf_append(&ac->events, spec->event_json[i], spec->event_json_len[i]);
        }
        alert_ctx_forget_event(ac);
        return;
    }
    bool single = spec->nevents == 1;
    if (single && spec->ev && ac->cached_root == spec->events[0] && ac->cached_ev == spec->ev &&
        ac->cached_gen == spec->ev->gen && !ac->events.oom)
        return;
    buf_reset(&ac->events);
    for (uint32_t i = 0; i < spec->nevents; i++) {
        if (i) buf_putc(&ac->events, ',');
        alert_json_write(&ac->events, spec->events[i]);
    }
    if (single && spec->ev) {
        ac->cached_root = spec->events[0];
        ac->cached_ev = spec->ev;
        ac->cached_gen = spec->ev->gen;
    } else {
        alert_ctx_forget_event(ac);
    }
}

static void build_group(alert_ctx *ac, const alert_spec *spec) {
    buf *g = &ac->group;
    buf_reset(g);
    buf_putc(g, '{');
    /* Kept key bytes: each value's JSON ends in a NUL, which JSON text never holds. */
    const char *kept = spec->key_vals ? NULL : spec->group_json;
    const char *kept_end = kept ? kept + spec->group_json_len : NULL;
    for (uint32_t i = 0; i < spec->nkeys; i++) {
        if (i) buf_putc(g, ',');
        put_str(g, spec->keys[i].text);
        buf_putc(g, ':');
        if (kept && kept < kept_end) {
            const char *nul = memchr(kept, 0, (size_t)(kept_end - kept));
            size_t n = nul ? (size_t)(nul - kept) : (size_t)(kept_end - kept);
            buf_append(g, kept, n);
            kept += n + 1;
        } else {
            alert_group_value_json(g, spec->key_vals ? &spec->key_vals[i] : NULL);
        }
    }
    buf_putc(g, '}');
}

/* The id hashes the events one by one, NUL between them, which for a single
 * event is exactly its compact JSON; the "events" buffer separates events
 * with commas, so for several events they are re-serialised into scratch. */
static int compute_id(alert_ctx *ac, const alert_spec *spec, const vm_rule *r) {
    if (!ac->md_ctx) {
        ac->md_ctx = EVP_MD_CTX_new();
        if (!ac->md_ctx) return -1;
    }
    EVP_MD_CTX *md = ac->md_ctx;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    static const char nul = 0;
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    /* An explicit fetch, once: EVP_sha256() costs an implicit fetch per call. */
    if (!ac->md) ac->md = EVP_MD_fetch(NULL, "SHA256", NULL);
    const EVP_MD *type = ac->md ? (const EVP_MD *)ac->md : EVP_sha256();
#else
    const EVP_MD *type = EVP_sha256();
#endif
    if (EVP_DigestInit_ex(md, type, NULL) != 1) return -1;
    EVP_DigestUpdate(md, r->name, strlen(r->name));
    EVP_DigestUpdate(md, &nul, 1);
    EVP_DigestUpdate(md, ac->group.data, ac->group.len);
    EVP_DigestUpdate(md, &nul, 1);
    if (spec->nevents == 1) {
        EVP_DigestUpdate(md, ac->events.data, ac->events.len);
    } else {
        for (uint32_t i = 0; i < spec->nevents; i++) {
            if (i) EVP_DigestUpdate(md, &nul, 1);
            if (spec->event_json) {
                EVP_DigestUpdate(md, spec->event_json[i], spec->event_json_len[i]);
                continue;
            }
            buf_reset(&ac->scratch);
            alert_json_write(&ac->scratch, spec->events[i]);
            if (ac->scratch.oom) return -1;
            EVP_DigestUpdate(md, ac->scratch.data, ac->scratch.len);
        }
    }
    if (EVP_DigestFinal_ex(md, digest, &dlen) != 1 || dlen < 16) return -1;
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        ac->id[2 * i] = hex[digest[i] >> 4];
        ac->id[2 * i + 1] = hex[digest[i] & 15];
    }
    ac->id[32] = 0;
    return 0;
}

int alert_build(alert_ctx *ac, const alert_spec *spec, secdet_alert *out) {
    if (!spec->prog || spec->rule >= spec->prog->nrules || spec->nevents == 0 ||
        (!spec->events && !(spec->event_json && spec->event_json_len)))
        return -1;
    const vm_rule *r = &spec->prog->rules[spec->rule];
    const char *title = r->title ? r->title : r->name;
    const char *source = spec->source ? spec->source : "";

    build_events(ac, spec);
    build_group(ac, spec);
    buf_reset(&ac->message);
    template_render(&ac->message, spec, ac->max_message);
    if (ac->events.oom || ac->group.oom || ac->message.oom) goto oom;
    if (compute_id(ac, spec, r) != 0) goto oom;

    buf *b = &ac->json;
    buf_reset(b);
    buf_puts(b, "{\"rule\":");
    put_str(b, r->name);
    put_key(b, "title");
    put_str(b, title);
    put_key(b, "severity");
    put_str(b, severity_name(r->sev));
    put_key(b, "tags");
    buf_putc(b, '[');
    for (uint32_t i = 0; i < r->ntags; i++) {
        if (i) buf_putc(b, ',');
        put_str(b, r->tags[i]);
    }
    buf_putc(b, ']');
    put_key(b, "time");
    put_time(b, spec->time_ns);
    put_key(b, "source");
    put_str(b, source);
    put_key(b, "message");
    buf_json_string(b, ac->message.data ? ac->message.data : "", ac->message.len);
    put_key(b, "group");
    buf_append(b, ac->group.data, ac->group.len);
    put_key(b, "count");
    buf_printf(b, "%" PRIu64, spec->count);
    if (spec->has_distinct) {
        put_key(b, "distinct");
        buf_printf(b, "%" PRIu64, spec->distinct);
    }
    put_key(b, "first_seen");
    put_time(b, spec->first_seen_ns);
    put_key(b, "last_seen");
    put_time(b, spec->last_seen_ns);
    put_key(b, "suppressed");
    buf_printf(b, "%" PRIu64, spec->suppressed);
    put_key(b, "id");
    buf_putc(b, '"');
    buf_append(b, ac->id, 32);
    buf_putc(b, '"');
    put_key(b, "events");
    buf_putc(b, '[');
    buf_append(b, ac->events.data, ac->events.len);
    buf_putc(b, ']');
    put_key(b, "meta");
    buf_putc(b, '{');
    bool first = true;
    for (uint32_t i = 0; i < r->nmeta; i++) {
        const meta_kv *m = &r->meta[i];
        if (!m->key || meta_key_is_promoted(m->key)) continue;
        if (!first) buf_putc(b, ',');
        first = false;
        put_str(b, m->key);
        buf_putc(b, ':');
        buf_puts(b, m->json && m->json[0] ? m->json : "null");
    }
    buf_puts(b, "}}");
    if (b->oom) goto oom;

    out->json = b->data;
    out->json_len = b->len;
    out->rule = r->name;
    out->title = title;
    out->message = ac->message.data ? ac->message.data : "";
    out->message_len = ac->message.len;
    out->id = ac->id;
    out->source = source;
    out->severity = (secdet_severity)r->sev;
    out->time_ns = spec->time_ns;
    out->tags = (const char *const *)r->tags;
    out->ntags = r->ntags;
    return 0;

oom:
    /* The sticky OOM flag would poison the buffers for good; start them afresh. */
    buf_free(&ac->json);
    buf_free(&ac->message);
    buf_free(&ac->group);
    buf_free(&ac->events);
    buf_free(&ac->scratch);
    alert_ctx_forget_event(ac);
    return -1;
}
