/* tuning.c — releasing what tuning left in a compiled rule (tuning.h). */
#include "vm/tuning.h"

#include <stdlib.h>

void sd_rule_tuning_free(rule_tuning *t) {
    if (!t) return;
    for (uint32_t i = 0; t->excepts && i < t->nexcepts; i++) {
        free(t->excepts[i].until);
        free(t->excepts[i].reason);
        free(t->excepts[i].text);
        free(t->excepts[i].file);
    }
    free(t->excepts);
    free(t->cases);
    free(t->disabled_reason);
    free(t->disabled_at);
    free(t);
}
