/* format_names.c — the names of the built-in formats (include/secdet.h:
 * secdet_format_name, secdet_format_parse), one table for both ways. */
#include <string.h>

#include "secdet.h"

const char *secdet_format_name(secdet_format f) {
    switch (f) {
    case SECDET_FMT_AUTO: return "auto";
    case SECDET_FMT_JSONL: return "jsonl";
    case SECDET_FMT_CLOUDTRAIL: return "cloudtrail";
    case SECDET_FMT_CLOUDWATCH_LOGS: return "cloudwatch-logs";
    case SECDET_FMT_EVENTBRIDGE: return "eventbridge";
    }
    return NULL;
}

secdet_status secdet_format_parse(const char *name, secdet_format *out) {
    if (!name || !out) return SECDET_ERR_INVALID_ARG;
    static const secdet_format all[] = {SECDET_FMT_AUTO, SECDET_FMT_JSONL, SECDET_FMT_CLOUDTRAIL,
                                        SECDET_FMT_CLOUDWATCH_LOGS, SECDET_FMT_EVENTBRIDGE};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(name, secdet_format_name(all[i])) == 0) {
            *out = all[i];
            return SECDET_OK;
        }
    }
    return SECDET_ERR_INVALID_ARG;
}
