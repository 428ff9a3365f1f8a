/* severity.c — the severity table (severity.h). */
#include "util/severity.h"

#include <string.h>
#include <strings.h>

static const severity_info table[SEVERITY_COUNT] = {
    {SECDET_SEVERITY_INFO, "info", 6, "#A0A0A0"},         {SECDET_SEVERITY_LOW, "low", 5, "#36C5F0"},
    {SECDET_SEVERITY_MEDIUM, "medium", 4, "#ECB22E"},     {SECDET_SEVERITY_HIGH, "high", 3, "#E01E5A"},
    {SECDET_SEVERITY_CRITICAL, "critical", 2, "#8B0000"},
};

const severity_info *sd_severity_get(secdet_severity level) {
    return (unsigned)level < SEVERITY_COUNT ? &table[level] : NULL;
}

const char *sd_severity_name(secdet_severity level) {
    const severity_info *s = sd_severity_get(level);
    return s ? s->name : "unknown";
}

bool sd_severity_parse(const char *name, bool any_case, secdet_severity *out) {
    for (size_t i = 0; name && i < SEVERITY_COUNT; i++) {
        if (any_case ? strcasecmp(name, table[i].name) == 0 : strcmp(name, table[i].name) == 0) {
            *out = table[i].level;
            return true;
        }
    }
    return false;
}

const char *secdet_severity_name(secdet_severity level) { return sd_severity_name(level); }
