/* template.c — renders a rule's output template for one alert.
 *
 * The compiler has already split the template into parts (tpl_part): literal
 * text with {{ }} unescaped, field paths, and the named substitutions. Here
 * each part becomes text as LANGUAGE.md "Output templates" says: a missing
 * field is `-`, strings raw, null/true/false as words, numbers without a
 * needless fraction, arrays and objects as compact JSON, a [*] path's values
 * joined by ", ". The result is capped so a hostile event cannot make a
 * message of unbounded size; a cut message ends in "…".
 */
#include <string.h>

#include "alert/alert.h"

#define ELLIPSIS "\xE2\x80\xA6" /* U+2026 */

static void put_values(buf *b, const sd_values *vals) {
    if (!vals || vals->n == 0) {
        buf_putc(b, '-');
        return;
    }
    for (uint32_t i = 0; i < vals->n; i++) {
        if (i) buf_puts(b, ", ");
        alert_value_text(b, &vals->v[i]);
    }
}

static void put_part(buf *b, const tpl_part *p, const alert_spec *spec, const vm_rule *r) {
    switch (p->kind) {
    case TPL_TEXT: buf_append(b, p->text ? p->text : "", p->text ? p->len : 0); break;
    case TPL_PATH:
        if (spec->ev && p->path < spec->ev->npaths)
            put_values(b, event_field(spec->ev, p->path));
        else
            buf_putc(b, '-');
        break;
    case TPL_COUNT: buf_printf(b, "%llu", (unsigned long long)spec->count); break;
    case TPL_DISTINCT:
        if (spec->has_distinct)
            buf_printf(b, "%llu", (unsigned long long)spec->distinct);
        else
            buf_putc(b, '-');
        break;
    case TPL_RULE: buf_puts(b, r->name); break;
    case TPL_TITLE: buf_puts(b, r->title ? r->title : r->name); break;
    case TPL_SEVERITY: buf_puts(b, severity_name(r->sev)); break;
    case TPL_GROUP:
        if (spec->nkeys == 0 || !spec->key_vals) {
            buf_putc(b, '-');
            break;
        }
        for (uint32_t i = 0; i < spec->nkeys; i++) {
            if (i) buf_puts(b, ", ");
            put_values(b, &spec->key_vals[i]);
        }
        break;
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
    if (max >= strlen(ELLIPSIS)) buf_puts(b, ELLIPSIS);
}

void template_render(buf *out, const alert_spec *spec, size_t max_len) {
    if (!spec->prog || spec->rule >= spec->prog->nrules) return;
    const vm_rule *r = &spec->prog->rules[spec->rule];
    size_t max = max_len ? max_len : ALERT_MAX_MESSAGE_DEFAULT;
    size_t start = out->len;
    if (!r->output || r->noutput == 0) {
        buf_puts(out, r->title ? r->title : r->name);
    } else {
        for (uint32_t i = 0; i < r->noutput; i++) {
            put_part(out, &r->output[i], spec, r);
            if (out->oom || out->len - start > max) break;
        }
    }
    if (!out->oom && out->len - start > max) truncate_utf8(out, start, max);
}
