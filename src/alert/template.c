/* template.c — renders a rule's output template for one alert.
 *
 * The compiler has already split the template into parts (tpl_part): literal
 * text with {{ }} unescaped, field paths, and the named substitutions. Here
 * each part becomes text as LANGUAGE.md "Output templates" says: a missing
 * field is `-`, strings raw, null/true/false as words, numbers without a
 * needless fraction, arrays and objects as compact JSON, a [*] path's values
 * joined by ", ". An aggregation alert is rendered from the texts its firing
 * record kept (sd_alert_aux_write, when the event was evaluated), never from
 * the event again. The result is capped so a hostile event cannot make a
 * message of unbounded size; a cut message ends in "…".
 */
#include <string.h>

#include "alert/alert.h"
#include "util/severity.h"
#include "util/limits.h"

#define ELLIPSIS "\xE2\x80\xA6" /* U+2026 */

static void put_values(buf *b, const sd_values *vals) {
    if (!vals || vals->n == 0) {
        sd_buf_putc(b, '-');
        return;
    }
    for (uint32_t i = 0; i < vals->n; i++) {
        if (i) sd_buf_puts(b, ", ");
        sd_alert_value_text(b, &vals->v[i]);
    }
}

/* Reads the aux blob (alert.h): the parts' texts. */
typedef struct aux_reader {
    const unsigned char *p, *end;
} aux_reader;

static bool aux_u32(aux_reader *a, uint32_t *out) {
    if ((size_t)(a->end - a->p) < sizeof *out) return false;
    memcpy(out, a->p, sizeof *out);
    a->p += sizeof *out;
    return true;
}

static bool aux_bytes(aux_reader *a, const char **s, uint32_t *n) {
    if (!aux_u32(a, n) || (size_t)(a->end - a->p) < *n) return false;
    *s = (const char *)a->p;
    a->p += *n;
    return true;
}

/* Positions a reader at the first part's text (after the count); false
 * when the blob is malformed or holds no part. */
static bool aux_parts(const char *aux, uint32_t len, aux_reader *a) {
    if (!aux) return false;
    a->p = (const unsigned char *)aux;
    a->end = a->p + len;
    uint32_t nparts;
    return aux_u32(a, &nparts) && nparts > 0;
}

static bool is_event_part(const tpl_part *p) { return p->kind == TPL_PATH || p->kind == TPL_GROUP; }

bool sd_alert_aux_needed(const vm_rule *r) {
    for (uint32_t i = 0; r->output && i < r->noutput; i++)
        if (is_event_part(&r->output[i])) return true;
    return false;
}

static void put_u32(buf *b, uint32_t v) { sd_buf_append(b, &v, sizeof v); }

/* The text of one {.path} or {group} part from the event and group values. */
static void put_event_part(buf *b, const tpl_part *p, sd_event *ev, const sd_values *group, uint32_t ngroup) {
    if (p->kind == TPL_PATH) {
        if (ev && p->path < ev->npaths)
            put_values(b, sd_event_field(ev, p->path));
        else
            sd_buf_putc(b, '-');
        return;
    }
    if (ngroup == 0 || !group) {
        sd_buf_putc(b, '-');
        return;
    }
    for (uint32_t i = 0; i < ngroup; i++) {
        if (i) sd_buf_puts(b, ", ");
        put_values(b, &group[i]);
    }
}

void sd_alert_aux_write(buf *b, const vm_rule *r, sd_event *ev, const sd_values *group, uint32_t ngroup) {
    uint32_t nparts = 0;
    for (uint32_t i = 0; r->output && i < r->noutput; i++) nparts += is_event_part(&r->output[i]);
    put_u32(b, nparts);
    for (uint32_t i = 0; r->output && i < r->noutput; i++) {
        if (!is_event_part(&r->output[i])) continue;
        size_t at = b->len;
        put_u32(b, 0);
        put_event_part(b, &r->output[i], ev, group, ngroup);
        uint32_t n = b->oom ? 0 : (uint32_t)(b->len - at - sizeof n);
        if (!b->oom) memcpy(b->data + at, &n, sizeof n);
    }
}

static void put_part(buf *b, const tpl_part *p, const alert_spec *spec, const vm_rule *r, aux_reader *aux) {
    if (is_event_part(p) && !spec->ev) { /* an aggregation alert: the text its record kept */
        const char *text;
        uint32_t n;
        if (aux && aux_bytes(aux, &text, &n))
            sd_buf_append(b, text, n);
        else
            sd_buf_putc(b, '-');
        return;
    }
    switch (p->kind) {
    case TPL_TEXT: sd_buf_append(b, p->text ? p->text : "", p->text ? p->len : 0); break;
    case TPL_PATH: put_event_part(b, p, spec->ev, NULL, 0); break;
    case TPL_COUNT: sd_buf_printf(b, "%llu", (unsigned long long)spec->count); break;
    case TPL_DISTINCT:
        if (spec->has_distinct)
            sd_buf_printf(b, "%llu", (unsigned long long)spec->distinct);
        else
            sd_buf_putc(b, '-');
        break;
    case TPL_SUM:
        if (spec->has_sum)
            sd_alert_number_write(b, spec->sum);
        else
            sd_buf_putc(b, '-');
        break;
    case TPL_RULE: sd_buf_puts(b, r->name); break;
    case TPL_TITLE: sd_buf_puts(b, r->title ? r->title : r->name); break;
    case TPL_SEVERITY: sd_buf_puts(b, sd_severity_name(sd_alert_spec_severity(spec, r))); break;
    case TPL_GROUP: put_event_part(b, p, spec->ev, spec->key_vals, spec->key_vals ? spec->nkeys : 0); break;
    }
}

/* Cuts b back to at most `start + max` bytes including the ellipsis, never
 * inside a UTF-8 sequence. */
static void truncate_utf8(buf *b, size_t start, size_t max) {
    size_t keep = max > strlen(ELLIPSIS) ? max - strlen(ELLIPSIS) : 0;
    size_t end = start + keep;
    while (end > start && ((unsigned char)b->data[end] & 0xC0) == 0x80) end--;
    b->len = end;
    b->data[end] = 0;
    if (max >= strlen(ELLIPSIS)) sd_buf_puts(b, ELLIPSIS);
}

void sd_template_render(buf *out, const alert_spec *spec, size_t max_len) {
    if (!spec->prog || spec->rule >= spec->prog->nrules) return;
    const vm_rule *r = &spec->prog->rules[spec->rule];
    size_t max = max_len ? max_len : LIMIT_MESSAGE_BYTES_DEFAULT;
    size_t start = out->len;
    if (!r->output || r->noutput == 0) {
        sd_buf_puts(out, r->title ? r->title : r->name);
    } else {
        aux_reader aux;
        bool have_aux = !spec->ev && aux_parts(spec->aux, spec->aux_len, &aux);
        for (uint32_t i = 0; i < r->noutput; i++) {
            put_part(out, &r->output[i], spec, r, have_aux ? &aux : NULL);
            if (out->oom || out->len - start > max) break;
        }
    }
    if (!out->oom && out->len - start > max) truncate_utf8(out, start, max);
}
