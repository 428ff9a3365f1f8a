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
#include "event/value_text.h"
#include "util/json.h"
#include "util/severity.h"
#include "util/limits.h"

void sd_alert_ctx_init(alert_ctx *ac) {
    memset(ac, 0, sizeof *ac);
    sd_buf_init(&ac->json);
    sd_buf_init(&ac->message);
    sd_buf_init(&ac->group);
    sd_buf_init(&ac->events);
    sd_buf_init(&ac->scratch);
}

void sd_alert_ctx_free(alert_ctx *ac) {
    sd_buf_free(&ac->json);
    sd_buf_free(&ac->message);
    sd_buf_free(&ac->group);
    sd_buf_free(&ac->events);
    sd_buf_free(&ac->scratch);
    if (ac->md_ctx) EVP_MD_CTX_free(ac->md_ctx);
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    if (ac->md) EVP_MD_free(ac->md);
#endif
    memset(ac, 0, sizeof *ac);
}

void sd_alert_ctx_forget_event(alert_ctx *ac) {
    ac->cached_root = NULL;
    ac->cached_ev = NULL;
    ac->cached_gen = 0;
}

/* ---- JSON text ------------------------------------------------------------ */

void sd_alert_number_write(buf *b, double d) { sd_value_number_write(b, d); }

void sd_alert_json_write(buf *b, const cJSON *node) { sd_value_tree_write(b, node); }

/* A string token s[i] == '"' of accepted text: its body written as
 * sd_buf_json_string writes cJSON's decoded string. Returns the offset past it. */
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
        sd_buf_json_string(b, s + i + 1, blen);
    } else {
        char small[256];
        char *tmp = blen <= sizeof small ? small : malloc(blen);
        if (!tmp) {
            b->oom = true;
        } else {
            sd_buf_json_string(b, tmp, sd_scan_unescape(s + i + 1, blen, tmp));
            if (tmp != small) free(tmp);
        }
    }
    return j + 1;
}

int sd_alert_json_from_text(buf *b, const char *text, size_t len) {
    if (sd_alert_text_compact(text, len)) { /* the re-write would give it back unchanged (alert_text.c) */
        sd_buf_append(b, text, len);
        return b->oom ? -1 : 0;
    }
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
            sd_buf_putc(b, c);
            i++;
            break;
        case '}':
        case ']': depth--; /* fall through */
        case ',':
        case ':':
            sd_buf_putc(b, c);
            i++;
            break;
        case '"': i = text_string(b, s, len, i); break;
        case 't': sd_buf_puts(b, "true"), i += 4; break;
        case 'f': sd_buf_puts(b, "false"), i += 5; break;
        case 'n': sd_buf_puts(b, "null"), i += 4; break;
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
            if (j == i) return -1; /* not text sd_scan_run accepted */
            /* A short integer prints as its own digits ("-0" as 0, like (int64_t)-0.0). */
            if (plain && digits <= 15 && !(j - i == 2 && s[i] == '-' && s[i + 1] == '0'))
                sd_buf_append(b, s + i, j - i);
            else
                sd_alert_number_write(b, sd_scan_number(s + i, j - i));
            i = j;
        }
        }
    }
    return b->oom ? -1 : 0;
}

void sd_alert_value_json(buf *b, const sd_value *v) { sd_value_json(b, v); }

void sd_alert_value_text(buf *b, const sd_value *v) { sd_value_text(b, v); }

/* A group value: missing → null; one value as itself; several (only a
 * function over a [*] path could give that) as an array. */
void sd_alert_group_value_json(buf *b, const sd_values *vals) {
    if (!vals || vals->n == 0) {
        sd_buf_puts(b, "null");
    } else if (vals->n == 1) {
        sd_alert_value_json(b, &vals->v[0]);
    } else {
        sd_buf_putc(b, '[');
        for (uint32_t i = 0; i < vals->n; i++) {
            if (i) sd_buf_putc(b, ',');
            sd_alert_value_json(b, &vals->v[i]);
        }
        sd_buf_putc(b, ']');
    }
}

/* ---- The alert -------------------------------------------------------------- */

static void put_key(buf *b, const char *key) {
    sd_buf_putc(b, ',');
    sd_buf_putc(b, '"');
    sd_buf_puts(b, key);
    sd_buf_puts(b, "\":");
}

static void put_str(buf *b, const char *s) { sd_buf_json_string(b, s ? s : "", s ? strlen(s) : 0); }

static void put_time(buf *b, int64_t ns) {
    char t[40];
    size_t n = sd_time_format_rfc3339(ns, t);
    sd_buf_putc(b, '"');
    sd_buf_append(b, t, n);
    sd_buf_putc(b, '"');
}

static bool meta_key_is_promoted(const char *k) {
    return strcmp(k, "title") == 0 || strcmp(k, "severity") == 0 || strcmp(k, "tags") == 0;
}

static void build_events(alert_ctx *ac, const alert_spec *spec) {
    if (spec->event_json) {
        sd_buf_reset(&ac->events);
        for (uint32_t i = 0; i < spec->nevents; i++) {
            if (i) sd_buf_putc(&ac->events, ',');
            sd_buf_append(&ac->events, spec->event_json[i], spec->event_json_len[i]);
        }
        sd_alert_ctx_forget_event(ac);
        return;
    }
    bool single = spec->nevents == 1;
    if (single && spec->ev && ac->cached_root == spec->events[0] && ac->cached_ev == spec->ev &&
        ac->cached_gen == spec->ev->gen && !ac->events.oom)
        return;
    sd_buf_reset(&ac->events);
    for (uint32_t i = 0; i < spec->nevents; i++) {
        if (i) sd_buf_putc(&ac->events, ',');
        sd_alert_json_write(&ac->events, spec->events[i]);
    }
    if (single && spec->ev) {
        ac->cached_root = spec->events[0];
        ac->cached_ev = spec->ev;
        ac->cached_gen = spec->ev->gen;
    } else {
        sd_alert_ctx_forget_event(ac);
    }
}

static void build_group(alert_ctx *ac, const alert_spec *spec) {
    buf *g = &ac->group;
    sd_buf_reset(g);
    sd_buf_putc(g, '{');
    /* Kept key bytes: each value's JSON ends in a NUL, which JSON text never holds. */
    const char *kept = spec->key_vals ? NULL : spec->group_json;
    const char *kept_end = kept ? kept + spec->group_json_len : NULL;
    for (uint32_t i = 0; i < spec->nkeys; i++) {
        if (i) sd_buf_putc(g, ',');
        put_str(g, spec->keys[i].text);
        sd_buf_putc(g, ':');
        if (kept && kept < kept_end) {
            const char *nul = memchr(kept, 0, (size_t)(kept_end - kept));
            size_t n = nul ? (size_t)(nul - kept) : (size_t)(kept_end - kept);
            sd_buf_append(g, kept, n);
            kept += n + 1;
        } else {
            sd_alert_group_value_json(g, spec->key_vals ? &spec->key_vals[i] : NULL);
        }
    }
    sd_buf_putc(g, '}');
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
            sd_buf_reset(&ac->scratch);
            sd_alert_json_write(&ac->scratch, spec->events[i]);
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

int sd_alert_build(alert_ctx *ac, const alert_spec *spec, secdet_alert *out) {
    if (!spec->prog || spec->rule >= spec->prog->nrules || spec->nevents == 0 ||
        (!spec->events && !(spec->event_json && spec->event_json_len)))
        return -1;
    const vm_rule *r = &spec->prog->rules[spec->rule];
    const char *title = r->title ? r->title : r->name;
    const char *source = spec->source ? spec->source : "";

    build_events(ac, spec);
    build_group(ac, spec);
    sd_buf_reset(&ac->message);
    sd_template_render(&ac->message, spec, ac->max_message);
    if (ac->events.oom || ac->group.oom || ac->message.oom) goto oom;
    if (compute_id(ac, spec, r) != 0) goto oom;

    buf *b = &ac->json;
    sd_buf_reset(b);
    sd_buf_puts(b, "{\"rule\":");
    put_str(b, r->name);
    put_key(b, "title");
    put_str(b, title);
    put_key(b, "severity");
    put_str(b, sd_severity_name(sd_alert_spec_severity(spec, r)));
    put_key(b, "tags");
    sd_buf_putc(b, '[');
    for (uint32_t i = 0; i < r->ntags; i++) {
        if (i) sd_buf_putc(b, ',');
        put_str(b, r->tags[i]);
    }
    sd_buf_putc(b, ']');
    put_key(b, "time");
    put_time(b, spec->time_ns);
    put_key(b, "source");
    put_str(b, source);
    put_key(b, "fields"); /* the firing event's common fields, by its log type (docs/log-types.md) */
    if (spec->fields_json && spec->fields_json_len)
        sd_buf_append(b, spec->fields_json, spec->fields_json_len);
    else
        sd_buf_puts(b, "{}");
    put_key(b, "message");
    sd_buf_json_string(b, ac->message.data ? ac->message.data : "", ac->message.len);
    put_key(b, "group");
    sd_buf_append(b, ac->group.data, ac->group.len);
    put_key(b, "count");
    sd_buf_printf(b, "%" PRIu64, spec->count);
    if (spec->has_sum) {
        put_key(b, "sum");
        sd_alert_number_write(b, spec->sum);
    }
    if (spec->has_distinct) {
        put_key(b, "distinct");
        sd_buf_printf(b, "%" PRIu64, spec->distinct);
    }
    put_key(b, "first_seen");
    put_time(b, spec->first_seen_ns);
    put_key(b, "last_seen");
    put_time(b, spec->last_seen_ns);
    put_key(b, "suppressed");
    sd_buf_printf(b, "%" PRIu64, spec->suppressed);
    put_key(b, "id");
    sd_buf_putc(b, '"');
    sd_buf_append(b, ac->id, 32);
    sd_buf_putc(b, '"');
    put_key(b, "events");
    sd_buf_putc(b, '[');
    sd_buf_append(b, ac->events.data, ac->events.len);
    sd_buf_putc(b, ']');
    put_key(b, "meta");
    sd_buf_putc(b, '{');
    bool first = true;
    for (uint32_t i = 0; i < r->nmeta; i++) {
        const meta_kv *m = &r->meta[i];
        if (!m->key || meta_key_is_promoted(m->key)) continue;
        if (!first) sd_buf_putc(b, ',');
        first = false;
        put_str(b, m->key);
        sd_buf_putc(b, ':');
        sd_buf_puts(b, m->json && m->json[0] ? m->json : "null");
    }
    sd_buf_puts(b, "}}");
    if (b->oom) goto oom;

    out->json = b->data;
    out->json_len = b->len;
    out->rule = r->name;
    out->title = title;
    out->message = ac->message.data ? ac->message.data : "";
    out->message_len = ac->message.len;
    out->id = ac->id;
    out->source = source;
    out->severity = sd_alert_spec_severity(spec, r);
    out->time_ns = spec->time_ns;
    out->tags = (const char *const *)r->tags;
    out->ntags = r->ntags;
    out->log_type = spec->log_type ? spec->log_type : "";
    return 0;

oom:
    /* The sticky OOM flag would poison the buffers for good; start them afresh. */
    sd_buf_free(&ac->json);
    sd_buf_free(&ac->message);
    sd_buf_free(&ac->group);
    sd_buf_free(&ac->events);
    sd_buf_free(&ac->scratch);
    sd_alert_ctx_forget_event(ac);
    return -1;
}
