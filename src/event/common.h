/* common.h — the common fields: @time @id @ip @user @account @action
 * @outcome @type (LANGUAGE.md Part 2, "Common fields").
 *
 * A common field names the same idea in every log type — where the event
 * came from, who did it, what was done — and each log type maps it onto its
 * own fields (logtype.h). In the rule language it is a path of its own kind
 * (sd_path.common, path.h): it stands wherever a field path may, and the
 * event resolves it through the event's log type (event.c). Only the names
 * live here.
 */
#ifndef SECDET_EVENT_COMMON_H
#define SECDET_EVENT_COMMON_H

#include <stddef.h>

#include "event/path.h"

typedef enum {
    SD_COMMON_TIME,
    SD_COMMON_ID,
    SD_COMMON_IP,
    SD_COMMON_USER,
    SD_COMMON_ACCOUNT,
    SD_COMMON_ACTION,
    SD_COMMON_OUTCOME,
    SD_COMMON_TYPE,
    SD_NCOMMON
} sd_common;

/* "time", "id", ... (without the '@'), in sd_common order. */
extern const char *const sd_common_names[SD_NCOMMON];
/* The field named name[0..len) (without '@'); -1 when there is none. */
int sd_common_lookup(const char *name, size_t len);
/* The nearest name to name[0..len) for a "did you mean" (NULL when none is near). */
const char *sd_common_suggest(const char *name, size_t len);

/* Parses "@name" at s[0..len) (s[0] == '@') into a common-field path, as
 * sd_path_parse does for other paths: the bytes consumed, or 0 with *err
 * set ("unknown common field ..."). */
size_t sd_path_parse_common(const char *s, size_t len, sd_path *out, const char **err);

#endif
