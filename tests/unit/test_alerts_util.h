/* test_alerts_util.h — an alert callback that keeps each alert's rule and
 * message (test_guards.c, test_settled.c: a rule and its twin must fire on
 * the same events, told apart by the message). */
#ifndef SECDET_TEST_ALERTS_UTIL_H
#define SECDET_TEST_ALERTS_UTIL_H

#include <stdlib.h>
#include <string.h>

#include "secdet.h"

#define MAX_ALERTS 4096

typedef struct collected {
    size_t n;
    char *rule[MAX_ALERTS];
    char *message[MAX_ALERTS];
} collected;

/* secdet_set_alert_callback's callback; user is a zeroed collected. */
static void on_alert(void *user, const secdet_alert *a) {
    collected *c = user;
    if (c->n == MAX_ALERTS) fail_msg("too many alerts");
    c->rule[c->n] = strdup(secdet_alert_rule(a));
    c->message[c->n] = strdup(secdet_alert_message(a));
    c->n++;
}

static void collected_free(collected *c) {
    for (size_t i = 0; i < c->n; i++) {
        free(c->rule[i]);
        free(c->message[i]);
    }
    memset(c, 0, sizeof *c);
}

#endif
