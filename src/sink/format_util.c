/* format_util.c — what the Slack and syslog formatters share (format.h). */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "sink/format.h"
#include "util/json.h"

const char *sd_format_scalar(const cJSON *it, char tmp[static 40], size_t *len) {
    const char *s = NULL;
    if (cJSON_IsString(it)) {
        *len = sd_json_string_len(it);
        return it->valuestring && *len ? it->valuestring : NULL;
    }
    if (cJSON_IsBool(it)) s = cJSON_IsTrue(it) ? "true" : "false";
    if (cJSON_IsNumber(it)) {
        double v = it->valuedouble;
        if (v > -1e15 && v < 1e15 && v == (double)(long long)v)
            snprintf(tmp, 40, "%lld", (long long)v);
        else
            snprintf(tmp, 40, "%.17g", v);
        s = tmp;
    }
    *len = s ? strlen(s) : 0;
    return s;
}
