/* fingerprint.c — a rule's fingerprint: SHA-256 (first 16 bytes) over
 * everything that decides what its correlation state means: name,
 * aggregation, threshold, window, sources, keys, steps, throttle, and every
 * instruction of its programs with the operands spelled out (path texts,
 * constants, sets, CIDRs, globs, regexes, and the rules it names, followed
 * into their own code; what each operand is comes from the opcode table, so
 * a new opcode that indexes a pool is hashed by content without a line
 * here). Program-wide indices (constant 7, path 3) are never hashed as numbers, so adding an unrelated rule changes no fingerprint;
 * title, meta and output are left out, so editing a message keeps state.
 * What Part 2 of the language added (sum, unordered, steps' `not`, counts
 * and keys) is hashed only where a rule has it: older rules keep theirs.
 * Tuning: a tune's throttle is the rule's throttle, hashed as such; its
 * exceptions, severity and output are left out (an exception added on a
 * reload filters what comes next and keeps the windows of an attack in
 * progress); a disabled rule hashes differently, so its state is dropped.
 */
#include <openssl/evp.h>
#include <stdbool.h>
#include <string.h>

#include "correlate/correlate.h"
#include "util/limits.h"
#include "vm/tuning.h"

static void put(EVP_MD_CTX *md, const void *p, size_t n) { EVP_DigestUpdate(md, p, n); }
static void put_u64(EVP_MD_CTX *md, uint64_t v) {
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
    put(md, b, 8);
}
static void put_str(EVP_MD_CTX *md, const char *s, size_t n) {
    put_u64(md, s ? n : UINT64_MAX);
    if (s) put(md, s, n);
}
static void put_cstr(EVP_MD_CTX *md, const char *s) { put_str(md, s, s ? strlen(s) : 0); }

static void put_value(EVP_MD_CTX *md, const sd_value *v) {
    put_u64(md, (uint64_t)v->type);
    switch (v->type) {
    case SD_BOOL: put_u64(md, (uint64_t)(v->b != 0)); break;
    case SD_NUM: {
        double d = v->num;
        uint64_t bits;
        memcpy(&bits, &d, sizeof bits);
        put_u64(md, bits);
        break;
    }
    case SD_STR: put_str(md, v->str, v->len); break;
    default: break;
    }
}

static void put_code(EVP_MD_CTX *md, const program *p, code_span span, int depth);

static void put_rule_ref(EVP_MD_CTX *md, const program *p, uint32_t r, int depth) {
    if (r >= p->nrules) {
        put_u64(md, UINT64_MAX);
        return;
    }
    const vm_rule *rule = &p->rules[r];
    put_cstr(md, rule->name);
    put_u64(md, rule->nsources);
    for (uint32_t i = 0; i < rule->nsources; i++)
        put_cstr(md, rule->sources[i] < p->nsources ? p->source_names[rule->sources[i]] : "");
    if (depth < LIMIT_FINGERPRINT_RULE_DEPTH) put_code(md, p, rule->where, depth + 1);
}

/* Operand c, by what sd_vm_op_info_table says it is: a pool entry by its
 * content (nothing when out of range), a jump relative to the span, a rule
 * followed into its code, anything else as its number. */
static void put_operand_c(EVP_MD_CTX *md, const program *p, const vm_insn *in, code_span span, int depth) {
    uint32_t c = in->c;
    vm_operand k = in->op < OP__COUNT ? sd_vm_op_info_table[in->op].c : VM_OPND_NUM;
    bool have = c < sd_program_pool_size(p, k);
    switch (k) {
    case VM_OPND_PATH: put_cstr(md, have ? p->paths[c].text : NULL); break;
    case VM_OPND_CONST:
        if (have) put_value(md, &p->consts[c]);
        break;
    case VM_OPND_SET:
        if (have) {
            put_u64(md, p->sets[c].nmembers);
            for (uint32_t i = 0; i < p->sets[c].nmembers; i++) put_value(md, &p->sets[c].members[i]);
        }
        break;
    case VM_OPND_CIDR:
        if (have) {
            put_u64(md, p->cidrs[c].n);
            put(md, p->cidrs[c].ranges, p->cidrs[c].n * sizeof *p->cidrs[c].ranges);
        }
        break;
    case VM_OPND_GLOB:
        if (have) put_str(md, p->globs[c], p->glob_lens[c]);
        break;
    case VM_OPND_REGEX:
        if (have) {
            put_cstr(md, p->regexes[c].pattern);
            put_cstr(md, p->regexes[c].flags);
        }
        break;
    case VM_OPND_RULE: put_rule_ref(md, p, c, depth); break;
    case VM_OPND_EPATH: put_cstr(md, have ? p->epaths[c].text : NULL); break;
    case VM_OPND_STRS:
        if (have) {
            put_u64(md, p->strs[c].n);
            for (uint32_t i = 0; i < p->strs[c].n; i++) put_str(md, p->strs[c].s[i], p->strs[c].len[i]);
        }
        break;
    case VM_OPND_JUMP: put_u64(md, (uint64_t)c - span.start); break;
    case VM_OPND_NONE:
    case VM_OPND_REG:
    case VM_OPND_NUM:
    case VM_OPND_NREGS: put_u64(md, c); break;
    }
}

static void put_code(EVP_MD_CTX *md, const program *p, code_span span, int depth) {
    put_u64(md, span.len);
    if ((uint64_t)span.start + span.len > p->ncode) return;
    for (uint32_t i = 0; i < span.len; i++) {
        const vm_insn *in = &p->code[span.start + i];
        unsigned char head[4] = {in->op, in->a, (unsigned char)in->b, (unsigned char)(in->b >> 8)};
        put(md, head, sizeof head);
        put_operand_c(md, p, in, span, depth);
    }
}

static void put_keys(EVP_MD_CTX *md, const program *p, const rule_key *keys, uint32_t n) {
    put_u64(md, n);
    for (uint32_t i = 0; i < n; i++) {
        put_cstr(md, keys[i].text);
        put_code(md, p, keys[i].code, 0);
    }
}

/* What Part 2 of the language added, hashed only where a rule has it, so
 * the rules written before it keep their fingerprints (and state). */
static void put_part2(EVP_MD_CTX *md, const program *p, const vm_rule *rule) {
    if (rule->agg == RAGG_SUM) {
        uint64_t bits;
        memcpy(&bits, &rule->sum_min, sizeof bits);
        put_cstr(md, "sum");
        put_u64(md, bits);
        put_u64(md, rule->sum_strict);
    }
    if (rule->unordered) put_cstr(md, "unordered");
    for (uint32_t i = 0; i < rule->nsteps; i++) {
        const rule_step *s = &rule->steps[i];
        if (!s->negated && !s->count && !s->nby && !s->nsub) continue;
        put_cstr(md, "step");
        put_u64(md, i);
        put_u64(md, s->negated);
        put_u64(md, s->count);
        put_u64(md, (uint64_t)s->count_ms);
        put_keys(md, p, s->by, s->nby);
        put_keys(md, p, s->sub, s->nsub);
    }
}

void sd_corr_fingerprint(const program *p, uint32_t r, corr_fp *out) {
    memset(out, 0, sizeof *out);
    if (r >= p->nrules) return;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md) return;
    if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(md);
        return;
    }
    const vm_rule *rule = &p->rules[r];
    put_cstr(md, "secdet-rule-fp-1");
    put_cstr(md, rule->name);
    put_u64(md, (uint64_t)rule->agg);
    put_u64(md, rule->threshold);
    put_u64(md, (uint64_t)rule->within_ms);
    put_u64(md, rule->nsources);
    for (uint32_t i = 0; i < rule->nsources; i++)
        put_cstr(md, rule->sources[i] < p->nsources ? p->source_names[rule->sources[i]] : "");
    put_code(md, p, rule->where, 0);
    put_code(md, p, rule->distinct, 0);
    put_u64(md, rule->nby);
    for (uint32_t i = 0; i < rule->nby; i++) {
        put_cstr(md, rule->by[i].text);
        put_code(md, p, rule->by[i].code, 0);
    }
    put_u64(md, rule->nsteps);
    for (uint32_t i = 0; i < rule->nsteps; i++) {
        put_cstr(md, rule->steps[i].name);
        put_code(md, p, rule->steps[i].code, 0);
    }
    put_part2(md, p, rule);
    put_u64(md, rule->has_throttle);
    put_u64(md, (uint64_t)rule->throttle_ms);
    put_u64(md, rule->nthrottle_by);
    for (uint32_t i = 0; i < rule->nthrottle_by; i++) {
        put_cstr(md, rule->throttle_by[i].text);
        put_code(md, p, rule->throttle_by[i].code, 0);
    }
    /* A disabled rule's state would never be used again: it is dropped. */
    if (rule->tuning && rule->tuning->disabled) put_cstr(md, "disabled");
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    if (EVP_DigestFinal_ex(md, digest, &dlen) == 1 && dlen >= CORR_FP_BYTES) memcpy(out->b, digest, CORR_FP_BYTES);
    EVP_MD_CTX_free(md);
}
