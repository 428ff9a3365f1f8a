/* format_util.c — what the Slack and syslog formatters share (format.h). */
#include <stdio.h>

#include <cjson/cJSON.h>

#include "sink/format.h"

const char *format_scalar(const cJSON *it, char tmp[static 40]) {
    if (cJSON_IsString(it)) return it->valuestring && it->valuestring[0] ? it->valuestring : NULL;
    if (cJSON_IsBool(it)) return cJSON_IsTrue(it) ? "true" : "false";
    if (cJSON_IsNumber(it)) {
        double v = it->valuedouble;
        if (v > -1e15 && v < 1e15 && v == (double)(long long)v) snprintf(tmp, 40, "%lld", (long long)v);
        else snprintf(tmp, 40, "%.17g", v);
        return tmp;
    }
    return NULL;
}
