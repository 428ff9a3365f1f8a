/* value.h — the values rules see.
 *
 * The VM never touches cJSON: it sees sd_value, a borrowed view of one JSON
 * value (strings point into the parsed event or into the per-event scratch
 * arena, never owned). A field path that selects several values ([*]) gives
 * an sd_values list; a missing path gives an empty list.
 */
#ifndef SECDET_EVENT_VALUE_H
#define SECDET_EVENT_VALUE_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    SD_NULL = 0,
    SD_BOOL,
    SD_NUM,
    SD_STR,
    SD_ARR,
    SD_OBJ,
} sd_type;

typedef struct sd_value {
    sd_type type;
    int b;            /* SD_BOOL */
    double num;       /* SD_NUM */
    const char *str;  /* SD_STR: bytes, not necessarily NUL-terminated */
    size_t len;       /* SD_STR: byte length; SD_ARR/SD_OBJ: element/member count */
    const void *node; /* SD_ARR/SD_OBJ (and others when from an event): the cJSON node */
} sd_value;

/* A list of values: n == 0 means missing. `v` points at `one` for the usual
 * single value, or into the event's arena for [*] paths. */
typedef struct sd_values {
    uint32_t n;
    const sd_value *v;
} sd_values;

#endif
