/* eval_agg.c — records of the aggregations Part 2 of the language added.
 *
 * A sequence whose steps have keys of their own follows one thing across
 * sources whose fields differ (`a: okta_failed by .client.ipAddress; b:
 * aws_login by .sourceIPAddress`): one event may satisfy steps whose keys
 * give different groups, so it makes one record per group, each with the
 * steps of that group in its mask. A count rule named as a step counts
 * apart per value of its own keys: each record carries those keys' bytes
 * for each such step it satisfies (in the values blob, in step order). A
 * sum rule's record carries the sum of the numbers P holds.
 *
 * Stage 1 of a scale-out forwards one match per group; stage 2, told the
 * group (eval_only.key), keeps that group's record only, so each group's
 * state lives in the one partition its key goes to.
 */
#include <string.h>

#include "engine/eval_int.h"
#include "util/limits.h"

bool sd_eval_sequence_apart(const vm_rule *rule) {
    if (rule->step_keys) return true;
    for (uint32_t i = 0; i < rule->nsteps; i++)
        if (rule->steps[i].nsub) return true;
    return false;
}

static const rule_key *step_keys(const vm_rule *rule, uint32_t i, uint32_t *n) {
    if (rule->step_keys && rule->steps[i].nby) {
        *n = rule->steps[i].nby;
        return rule->steps[i].by;
    }
    *n = rule->nby;
    return rule->by;
}

/* Step i's key bytes into b; false when the budget ran out. */
static bool key_of(secdet_engine *e, const vm_rule *rule, uint32_t i, sd_values *vals, buf *b) {
    uint32_t n;
    const rule_key *keys = step_keys(rule, i, &n);
    if (!sd_eval_run_keys(&e->rs->vm, &e->rs->ev, keys, n, vals)) return false;
    if (!sd_eval_key_bytes(b, vals, n)) sd_buf_reset(b);
    return true;
}

static bool same_bytes(const buf *a, const buf *b) {
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/* The count-rule steps' own keys of the steps in `group`, into e->valbuf. */
static bool sub_keys(secdet_engine *e, const vm_rule *rule, uint64_t group, uint32_t *nvals) {
    sd_buf_reset(&e->valbuf);
    *nvals = 0;
    for (uint32_t i = 0; i < rule->nsteps; i++) {
        const rule_step *s = &rule->steps[i];
        if (!s->nsub || !(group & ((uint64_t)1 << i))) continue;
        if (!sd_eval_run_keys(&e->rs->vm, &e->rs->ev, s->sub, s->nsub, e->rs->tkey_vals)) return false;
        if (!sd_eval_key_bytes(&e->tkeybuf, e->rs->tkey_vals, s->nsub)) sd_buf_reset(&e->tkeybuf);
        sd_corr_vals_put(&e->valbuf, e->tkeybuf.data ? e->tkeybuf.data : "", (uint32_t)e->tkeybuf.len);
        (*nvals)++;
    }
    return true;
}

bool sd_eval_sequence(eval_ctx *x, uint32_t r) {
    secdet_engine *e = x->e;
    engine_ruleset *rs = e->rs;
    const vm_rule *rule = &rs->prog->rules[r];
    sd_event *ev = &rs->ev;
    if (x->late || rule->nsteps == 0 || rule->nsteps > CORR_MAX_STEPS) return true;
    if (!sd_eval_source_ok(rule, ev)) return true;
    uint64_t left = 0;
    for (uint32_t i = 0; i < rule->nsteps; i++) {
        bool ok = false;
        vm_status st = sd_vm_run_cond(&rs->vm, ev, rule->steps[i].code, &ok);
        if (st == VM_BUDGET) return false;
        if (st == VM_OK && ok) left |= (uint64_t)1 << i;
    }
    while (left) {
        uint32_t i = (uint32_t)__builtin_ctzll(left);
        /* The steps whose keys give step i's group. */
        if (!key_of(e, rule, i, rs->key_vals, &e->scratch)) return false;
        uint64_t group = (uint64_t)1 << i;
        for (uint64_t rest = left & ~group; rest && rule->step_keys; rest &= rest - 1) {
            uint32_t j = (uint32_t)__builtin_ctzll(rest);
            if (!key_of(e, rule, j, rs->tkey_vals, &e->keybuf)) return false;
            if (same_bytes(&e->keybuf, &e->scratch)) group |= (uint64_t)1 << j;
        }
        if (!rule->step_keys) group = left;
        left &= ~group;
        uint32_t nkeys;
        (void)step_keys(rule, i, &nkeys);
        if (!key_of(e, rule, i, rs->key_vals, &e->keybuf)) return false; /* its values, for the aux */
        if (x->only && x->only->key &&
            (x->only->key_len != e->keybuf.len || memcmp(x->only->key, e->keybuf.data, e->keybuf.len) != 0))
            continue; /* another partition's group */
        if (sd_eval_forwards_matches(e)) {
            sd_eval_forward(x, r);
            continue;
        }
        uint32_t nvals;
        if (!sub_keys(e, rule, group, &nvals)) return false;
        if (!sd_eval_add_record(x, r, rs->key_vals, nkeys, nvals, group)) return false;
    }
    return true;
}

int64_t sd_eval_sum_value(secdet_engine *e, const vm_rule *rule) {
    sd_values vals = {0, NULL};
    vm_status st = sd_vm_run_value(&e->rs->vm, &e->rs->ev, rule->distinct, &vals);
    if (st == VM_BUDGET) return -1;
    if (st != VM_OK) return 0;
    double total = 0;
    uint32_t numbers = 0;
    for (uint32_t i = 0; i < vals.n; i++)
        if (vals.v[i].type == SD_NUM) {
            total += vals.v[i].num;
            numbers++;
        }
    if (!numbers) return 0;
    sd_buf_reset(&e->valbuf);
    sd_corr_sum_put(&e->valbuf, total);
    return e->valbuf.oom ? 0 : 1;
}

const rule_key *sd_eval_record_keys(secdet_engine *e, const vm_rule *rule, const char *key, uint32_t key_len) {
    if (rule->agg != RAGG_SEQUENCE || !rule->step_keys) return rule->by;
    engine_ruleset *rs = e->rs;
    for (uint32_t i = 0; i < rule->nsteps && i < CORR_MAX_STEPS; i++) {
        bool ok = false;
        if (sd_vm_run_cond(&rs->vm, &rs->ev, rule->steps[i].code, &ok) != VM_OK || !ok) continue;
        if (!key_of(e, rule, i, rs->key_vals, &e->keybuf)) break;
        if (e->keybuf.len == key_len && (key_len == 0 || memcmp(e->keybuf.data, key, key_len) == 0))
            return rule->steps[i].by;
    }
    return rule->by;
}
