/* fuzz_json.c — libFuzzer target: util/json.c's parser against cJSON's.
 *
 * sd_json_parse replaces cJSON_Parse* in the library (cJSON's parse functions
 * write a process-global error pointer: a data race once several threads
 * parse). Its contract is cJSON 1.7.15's behaviour (Debian's, equal in
 * parsing to upstream's current one) with two departures (util/json.h), so
 * cJSON is the oracle, with json_oracle.h for the departures. For every
 * input (the whole of it is the JSON text):
 *  - where a raw control character (U+0000-U+001F) sits inside a closed
 *    string that starts before cJSON's end or error offset, sd_json_parse_prefix
 *    refuses, with that character and its offset; nowhere else does its
 *    acceptance differ: it accepts iff cJSON_ParseWithLengthOpts(.., &end,
 *    0) does, and the end offset (past the value, or where parsing failed)
 *    is the same; sd_json_parse agrees, its err_offset too;
 *  - when both accept, the trees are the same node for node (type, key,
 *    valuestring, valueint, valuedouble bits, prev/next links) — except
 *    that a string or key holding U+0000 is whole in ours (marked, with its
 *    length), checked byte for byte against cJSON's parses of the text with
 *    each escape that decodes to U+0000 rewritten to \u0001 and to \u0002 —
 *    and trees without such strings print byte for byte the same with
 *    cJSON_PrintUnformatted;
 *  - with a depth limit: max_depth = the tree's depth accepts the same tree,
 *    max_depth = depth - 1 refuses it (at the offset of the opener that is
 *    too deep, which is not checked); whatever cJSON refuses, sd_json_parse
 *    refuses under a limit too;
 *  - sd_json_duplicate of the tree is the same tree again.
 */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json_oracle.h"
#include "util/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t depth_of(const cJSON *n) {
    size_t d = 0;
    for (const cJSON *c = n->child; c; c = c->next) {
        size_t k = depth_of(c);
        if (k > d) d = k;
    }
    return cJSON_IsArray(n) || cJSON_IsObject(n) ? d + 1 : d;
}

static void same_tree(const cJSON *got, const cJSON *want, const char *s, size_t size) {
    if (!oracle_same_tree_of_text(got, want, s, size)) __builtin_trap();
}

/* Two of our trees alike, marks, encoded keys and whole strings included. */
static bool identical(const cJSON *a, const cJSON *b) {
    for (; a && b; a = a->next, b = b->next) {
        size_t n = sd_json_string_len(a);
        if (a->type != b->type || a->valueint != b->valueint || (a->string == NULL) != (b->string == NULL) ||
            (a->string && strcmp(a->string, b->string) != 0) || (a->valuestring == NULL) != (b->valuestring == NULL) ||
            n != sd_json_string_len(b) || (n && memcmp(a->valuestring, b->valuestring, n) != 0) ||
            memcmp(&a->valuedouble, &b->valuedouble, sizeof a->valuedouble) != 0 || !identical(a->child, b->child))
            return false;
    }
    return a == NULL && b == NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *s = (const char *)data;
    const char *cend = NULL;
    cJSON *want = cJSON_ParseWithLengthOpts(s, size, &cend, 0);
    size_t want_end = cend ? (size_t)(cend - s) : 0;
    size_t ctl = oracle_first_control(s, size, want_end);

    size_t end = (size_t)-1, err = (size_t)-1;
    int control = -2;
    cJSON *got = sd_json_parse_prefix_control(s, size, 0, &end, &control);
    if (ctl != SIZE_MAX) {
        if (got || end != ctl || control != (unsigned char)s[ctl]) __builtin_trap();
    } else if ((got == NULL) != (want == NULL) || end != want_end || control != -1) {
        __builtin_trap();
    }
    bool accepted = got != NULL;
    size_t got_end = end;
    cJSON *got2 = sd_json_parse(s, size, 0, &err);
    if ((got2 == NULL) != !accepted || (!got2 && err != got_end) || (got2 && err != (size_t)-1)) __builtin_trap();
    cJSON_Delete(got2);

    if (accepted) {
        same_tree(got, want, s, size);
        if (!oracle_has_marks(got)) {
            char *x = cJSON_PrintUnformatted(got), *y = cJSON_PrintUnformatted(want);
            if ((x == NULL) != (y == NULL) || (x && strcmp(x, y) != 0)) __builtin_trap();
            free(x);
            free(y);
        }
        cJSON *dup = sd_json_duplicate(got);
        if (dup && !identical(dup, got)) __builtin_trap();
        cJSON_Delete(dup);

        size_t depth = depth_of(want);
        if (depth > 0) {
            cJSON *lim = sd_json_parse_prefix(s, size, depth, &end);
            if (!lim || end != want_end) __builtin_trap();
            same_tree(lim, want, s, size);
            cJSON_Delete(lim);
        }
        if (depth > 1) {
            cJSON *lim = sd_json_parse(s, size, depth - 1, NULL);
            if (lim) __builtin_trap();
        }
    } else {
        cJSON *lim = sd_json_parse(s, size, 1 + size % 3, NULL);
        if (lim) __builtin_trap();
    }
    cJSON_Delete(got);
    cJSON_Delete(want);
    return 0;
}
