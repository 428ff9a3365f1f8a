/* alert_api.c — the public accessors of an alert (include/secdet.h). An
 * alert is a value built by alert.c; sinks and callbacks read it through
 * these, never through the engine. */
#include "alert/alert.h"

const char *secdet_alert_json(const secdet_alert *a, size_t *len) {
    if (!a) {
        if (len) *len = 0;
        return NULL;
    }
    if (len) *len = a->json_len;
    return a->json;
}

const char *secdet_alert_rule(const secdet_alert *a) { return a ? a->rule : NULL; }
const char *secdet_alert_title(const secdet_alert *a) { return a ? a->title : NULL; }
const char *secdet_alert_message(const secdet_alert *a) { return a ? a->message : NULL; }
size_t secdet_alert_message_len(const secdet_alert *a) { return a ? a->message_len : 0; }
const char *secdet_alert_id(const secdet_alert *a) { return a ? a->id : NULL; }
const char *secdet_alert_source(const secdet_alert *a) { return a ? a->source : NULL; }
const char *secdet_alert_log_type(const secdet_alert *a) { return a ? a->log_type : NULL; }
secdet_severity secdet_alert_severity(const secdet_alert *a) { return a ? a->severity : SECDET_SEVERITY_MEDIUM; }
int64_t secdet_alert_time_ns(const secdet_alert *a) { return a ? a->time_ns : 0; }
size_t secdet_alert_tag_count(const secdet_alert *a) { return a ? a->ntags : 0; }
const char *secdet_alert_tag(const secdet_alert *a, size_t i) { return a && i < a->ntags ? a->tags[i] : NULL; }
