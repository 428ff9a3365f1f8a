/* value_text.c — values as JSON and as text: the one writer of both.
 *
 * Numbers are written in their shortest exact form (integers without a
 * fraction), so a value's text does not depend on how the event spelt it
 * or on how cJSON would print it: the alert's JSON and id, the template's
 * texts and the language's text() all use it. Strings and keys are written
 * whole, U+0000 included (as \u0000).
 */
#include "event/value_text.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"
#include "util/limits.h"

void sd_value_number_write(buf *b, double d) {
    if (!isfinite(d)) {
        sd_buf_puts(b, "null");
        return;
    }
    /* 2^53: every integer below it is exact in a double */
    if (fabs(d) < 9007199254740992.0 && d == trunc(d)) {
        sd_buf_printf(b, "%" PRId64, (int64_t)d);
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
    sd_buf_puts(b, tmp);
}

static void tree_write(buf *b, const cJSON *n, unsigned depth) {
    if (!n || depth > LIMIT_ALERT_JSON_DEPTH) {
        sd_buf_puts(b, "null");
        return;
    }
    switch (n->type & 0xFF) {
    case cJSON_False: sd_buf_puts(b, "false"); break;
    case cJSON_True: sd_buf_puts(b, "true"); break;
    case cJSON_Number: sd_value_number_write(b, n->valuedouble); break;
    case cJSON_String: sd_buf_json_string(b, n->valuestring ? n->valuestring : "", sd_json_string_len(n)); break;
    case cJSON_Array: {
        sd_buf_putc(b, '[');
        for (const cJSON *c = n->child; c; c = c->next) {
            if (c != n->child) sd_buf_putc(b, ',');
            tree_write(b, c, depth + 1);
        }
        sd_buf_putc(b, ']');
        break;
    }
    case cJSON_Object: {
        buf key; /* a key holding U+0000 is decoded into it (util/json.h) */
        sd_buf_init(&key);
        sd_buf_putc(b, '{');
        for (const cJSON *c = n->child; c; c = c->next) {
            if (c != n->child) sd_buf_putc(b, ',');
            size_t klen;
            const char *k = sd_json_key_bytes(c, &key, &klen);
            if (key.oom) b->oom = true;
            sd_buf_json_string(b, k, klen);
            sd_buf_putc(b, ':');
            tree_write(b, c, depth + 1);
        }
        sd_buf_putc(b, '}');
        sd_buf_free(&key);
        break;
    }
    default: sd_buf_puts(b, "null"); break; /* cJSON_NULL, and anything unexpected */
    }
}

void sd_value_tree_write(buf *b, const cJSON *node) { tree_write(b, node, 0); }

void sd_value_json(buf *b, const sd_value *v) {
    switch (v->type) {
    case SD_NULL: sd_buf_puts(b, "null"); break;
    case SD_BOOL: sd_buf_puts(b, v->b ? "true" : "false"); break;
    case SD_NUM: sd_value_number_write(b, v->num); break;
    case SD_STR: sd_buf_json_string(b, v->str ? v->str : "", v->str ? v->len : 0); break;
    case SD_ARR:
    case SD_OBJ:
        if (v->node)
            sd_value_tree_write(b, v->node);
        else
            sd_buf_puts(b, v->type == SD_ARR ? "[]" : "{}");
        break;
    }
}

void sd_value_text(buf *b, const sd_value *v) {
    if (v->type == SD_STR)
        sd_buf_append(b, v->str ? v->str : "", v->str ? v->len : 0);
    else
        sd_value_json(b, v);
}
