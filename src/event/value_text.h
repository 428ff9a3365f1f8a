/* value_text.h — a value as JSON, and as text (value_text.c). */
#ifndef SECDET_EVENT_VALUE_TEXT_H
#define SECDET_EVENT_VALUE_TEXT_H

#include "event/value.h"
#include "util/buf.h"

typedef struct cJSON cJSON;

/* Appends a number: integers without a fraction, others in the shortest
 * form that reads back to the same double; NaN and infinities as null. */
void sd_value_number_write(buf *b, double d);
/* Appends a cJSON node as compact JSON (deeper than LIMIT_ALERT_JSON_DEPTH: null). */
void sd_value_tree_write(buf *b, const cJSON *node);
/* Appends one value as JSON. */
void sd_value_json(buf *b, const sd_value *v);
/* Appends one value as text: strings raw, null/true/false as words, numbers
 * as sd_value_number_write, arrays and objects as compact JSON. */
void sd_value_text(buf *b, const sd_value *v);

#endif
