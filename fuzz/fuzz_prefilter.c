/* fuzz_prefilter.c — libFuzzer target: a regex's literal prefilter never
 * changes its answer.
 *
 * Input: byte 0 the flags (bit 0 i, bit 1 m, bit 2 s), then the pattern up
 * to the first newline, then subjects, one a line. The pattern is compiled
 * twice: as the rules `r0` (`.s matches /PATTERN/FLAGS`) and `r1` (the same
 * on `.t`) of a ruleset, through the whole compiler (its literals read by
 * lang/regex_lits.c, filed in the program's literal tables), and by PCRE2
 * directly with the options the compiler uses. Each subject becomes an event
 * {"s": SUBJECT, "t": the previous subject} and both rules run in the VM.
 * Properties: each rule says what PCRE2 says of its field; the prefilter
 * (sd_vm_prefilter) never refuses a subject PCRE2 matches; the two rules
 * share the VM's memory of the event, so a stale or mixed-up entry shows.
 * Patterns holding `/` (the rule's delimiter) or NUL are skipped.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <cjson/cJSON.h>
#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event/event.h"
#include "lang/compile.h"
#include "vm/prefilter.h"
#include "vm/vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool pcre_says(pcre2_code *re, pcre2_match_data *md, const char *s, size_t n) {
    return pcre2_match(re, (PCRE2_SPTR)s, n, 0, 0, md, NULL) >= 0;
}

static void check(bool ok, const char *what, const char *pat, const char *subj) {
    if (ok) return;
    fprintf(stderr, "fuzz_prefilter: %s: /%s/ on \"%s\"\n", what, pat, subj);
    abort();
}

/* A subject of the event: the field's value as the VM sees it. */
static void run_subjects(program *p, pcre2_code *direct, const char *pat, const char *subjects, size_t n) {
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    sd_event ev;
    vm_ctx vm;
    if (!md || sd_event_init(&ev, p->paths, p->npaths) != 0) {
        pcre2_match_data_free(md);
        return;
    }
    if (sd_vm_init(&vm, p, 0) != 0) {
        sd_event_free(&ev);
        pcre2_match_data_free(md);
        return;
    }
    char prev[1024] = "";
    size_t at = 0;
    while (at <= n) {
        const char *nl = memchr(subjects + at, '\n', n - at);
        size_t len = nl ? (size_t)(nl - (subjects + at)) : n - at;
        char subj[1024];
        if (len >= sizeof subj || memchr(subjects + at, '\0', len)) break;
        memcpy(subj, subjects + at, len);
        subj[len] = '\0';
        cJSON *root = cJSON_CreateObject();
        if (!root || !cJSON_AddStringToObject(root, "s", subj) || !cJSON_AddStringToObject(root, "t", prev)) {
            cJSON_Delete(root);
            break;
        }
        sd_event_begin(&ev, root);
        sd_vm_begin_event(&vm);
        const char *fields[2] = {subj, prev};
        for (uint32_t r = 0; r < 2 && r < p->nrules; r++) {
            bool got = false;
            if (sd_vm_rule_matches(&vm, &ev, r, &got) != VM_OK) continue;
            bool want = pcre_says(direct, md, fields[r], strlen(fields[r]));
            check(got == want, "the rule's answer differs from PCRE2's", pat, fields[r]);
            sd_value x = {.type = SD_STR, .str = fields[r], .len = strlen(fields[r])};
            check(!want || sd_vm_prefilter(&vm, &ev, &p->regexes[r], &x), "the prefilter refused a match", pat,
                  fields[r]);
        }
        cJSON_Delete(root);
        memcpy(prev, subj, len + 1);
        if (!nl) break;
        at += len + 1;
    }
    sd_vm_free(&vm);
    sd_event_free(&ev);
    pcre2_match_data_free(md);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > 4096) return 0;
    char flags[4] = "";
    size_t nf = 0;
    if (data[0] & 1) flags[nf++] = 'i';
    if (data[0] & 2) flags[nf++] = 'm';
    if (data[0] & 4) flags[nf++] = 's';
    const char *text = (const char *)data + 1;
    size_t n = size - 1;
    const char *nl = memchr(text, '\n', n);
    size_t plen = nl ? (size_t)(nl - text) : n;
    if (plen == 0 || plen > 512 || memchr(text, '/', plen) || memchr(text, '\0', plen)) return 0;
    char pat[513];
    memcpy(pat, text, plen);
    pat[plen] = '\0';

    uint32_t opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
    if (data[0] & 1) opts |= PCRE2_CASELESS;
    if (data[0] & 2) opts |= PCRE2_MULTILINE;
    if (data[0] & 4) opts |= PCRE2_DOTALL;
    int err;
    PCRE2_SIZE off;
    pcre2_code *direct = pcre2_compile((PCRE2_SPTR)pat, plen, opts, &err, &off, NULL);
    if (!direct) return 0;
    /* JIT-compiled as the compiler does (lang/compile_pool.c): PCRE2 10.42's
     * interpreter and its JIT disagree on empty matches beside invalid UTF-8
     * under PCRE2_MATCH_INVALID_UTF (/^/ on "\xb4": no match, and a match),
     * and the property here is the prefilter's, not PCRE2's. */
    (void)pcre2_jit_compile(direct, PCRE2_JIT_COMPLETE);

    char src[1300];
    snprintf(src, sizeof src, "rule r0 {\n  where .s matches /%s/%s\n}\nrule r1 {\n  where .t matches /%s/%s\n}\n", pat,
             flags, pat, flags);
    compile_input in = {.name = "f.secdet", .text = src, .len = strlen(src)};
    diag_list d;
    sd_diag_init(&d);
    program *p = sd_compile_sources(&in, 1, NULL, &d);
    sd_diag_free(&d);
    if (p && p->nrules == 2 && p->nregexes == 2)
        run_subjects(p, direct, pat, nl ? nl + 1 : text + n, nl ? n - plen - 1 : 0);
    sd_program_free(p);
    pcre2_code_free(direct);
    return 0;
}
