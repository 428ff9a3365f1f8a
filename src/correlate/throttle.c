/* throttle.c — `throttle DUR by K`: after an alert at event time t for a
 * key, later-arriving alerts of that rule and key whose event time is no
 * later than t + DUR (inclusive; earlier times too: late events) are
 * suppressed and counted, and the next alert that goes out carries the count.
 *
 * A throttle is a group of kind GK_THROTTLE keyed by (rule, throttle key
 * bytes), so it shares the table, the LRU and the cap with the windows. It
 * expires once the watermark is past t + DUR, unless it holds a count that
 * must still reach the next alert. (After it expires, a late event's alert
 * inside the old t + DUR goes out: only events within the lateness are
 * throttled exactly.)
 */
#include "correlate/corr_int.h"

void sd_corr_set_throttle_counts(corr *c, uint64_t *by_rule, uint32_t n) {
    c->throttled = by_rule;
    c->n_throttled = by_rule ? n : 0;
}

bool sd_corr_throttle(corr *c, uint32_t rule, const char *key, uint32_t key_len, int64_t t, int64_t dur_ns,
                      uint64_t *suppressed) {
    *suppressed = 0;
    uint64_t h = sd_corr_hash(rule, GK_THROTTLE, key, key_len);
    corr_group *g = sd_group_find(c, rule, GK_THROTTLE, key, key_len, h);
    if (g && t <= t_add(g->u.t.last, dur_ns)) {
        g->u.t.suppressed++;
        if (rule < c->n_throttled) c->throttled[rule]++;
        sd_group_touch(c, g);
        return false;
    }
    if (!g) {
        g = sd_group_new(c, rule, GK_THROTTLE, key, key_len, h);
        if (!g) return true; /* no memory to remember it: the alert goes out */
    } else {
        *suppressed = g->u.t.suppressed;
        sd_group_touch(c, g);
    }
    g->u.t.suppressed = 0;
    g->u.t.last = t;
    sd_group_set_expiry(c, g, t_add(t, dur_ns));
    sd_corr_enforce_cap(c);
    return true;
}
