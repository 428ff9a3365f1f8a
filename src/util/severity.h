/* severity.h — the five severities, one table: their names (the rule
 * language, alerts, configuration, the command line), the syslog severity
 * each maps to, and the colour of its Slack attachment. Everything that
 * speaks of severities reads it here, so a name or a mapping is written
 * once.
 */
#ifndef SECDET_UTIL_SEVERITY_H
#define SECDET_UTIL_SEVERITY_H

#include <stdbool.h>
#include <stddef.h>

#include "secdet.h"

typedef struct severity_info {
    secdet_severity level;
    const char *name;      /* "info" .. "critical" */
    int syslog;            /* RFC 5424 severity: critical → crit (2) .. info → info (6) */
    const char *slack_rgb; /* the attachment's colour bar */
} severity_info;

#define SEVERITY_COUNT 5
/* For messages: "info, low, medium, high, critical". */
#define SEVERITY_NAMES "info, low, medium, high, critical"

/* The entry of a level; NULL when out of range. */
const severity_info *sd_severity_get(secdet_severity level);
/* The name of a level; "unknown" when out of range. */
const char *sd_severity_name(secdet_severity level);
/* A name as written (exactly, lower case; with `any_case`, in any case) →
 * its level. false when it names none. */
bool sd_severity_parse(const char *name, bool any_case, secdet_severity *out);

#endif
