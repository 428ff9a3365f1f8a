/* fuzz_json.c — libFuzzer target: util/json.c's parser against cJSON's.
 *
 * json_parse replaces cJSON_Parse* in the library (cJSON's parse functions
 * write a process-global error pointer: a data race once several threads
 * parse). Its contract is cJSON 1.7.15's behaviour (Debian's, equal in
 * parsing to upstream's current one), so cJSON is the oracle. For every
 * input (the whole of it is the JSON text):
 *  - json_parse_prefix accepts iff cJSON_ParseWithLengthOpts(.., &end, 0)
 *    does, and the end offset (past the value, or where parsing failed) is
 *    the same; json_parse agrees, its err_offset too;
 *  - when both accept, the trees are the same node for node (type, key,
 *    valuestring, valueint, valuedouble bits, prev/next links) and print
 *    byte for byte the same with cJSON_PrintUnformatted;
 *  - with a depth limit: max_depth = the tree's depth accepts the same tree,
 *    max_depth = depth - 1 refuses it (at the offset of the opener that is
 *    too deep, which is not checked); whatever cJSON refuses, json_parse
 *    refuses under a limit too.
 */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

static int same_str(const char *a, const char *b) { return (!a && !b) || (a && b && strcmp(a, b) == 0); }

static void same_tree(const cJSON *a, const cJSON *b) {
    if (a->type != b->type || !same_str(a->string, b->string) || !same_str(a->valuestring, b->valuestring) ||
        a->valueint != b->valueint || memcmp(&a->valuedouble, &b->valuedouble, sizeof a->valuedouble) != 0)
        __builtin_trap();
    const cJSON *x = a->child, *y = b->child;
    if ((x == NULL) != (y == NULL)) __builtin_trap();
    const cJSON *xl = x ? x->prev : NULL, *yl = y ? y->prev : NULL; /* the last child */
    for (; x && y; x = x->next, y = y->next) {
        if ((x->next == NULL) != (y->next == NULL)) __builtin_trap();
        if (x->next && (x->next->prev != x || y->next->prev != y)) __builtin_trap();
        if (!x->next && (x != xl || y != yl)) __builtin_trap();
        same_tree(x, y);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *s = (const char *)data;
    const char *cend = NULL;
    cJSON *want = cJSON_ParseWithLengthOpts(s, size, &cend, 0);
    size_t want_end = cend ? (size_t)(cend - s) : 0;

    size_t end = (size_t)-1, err = (size_t)-1;
    cJSON *got = json_parse_prefix(s, size, 0, &end);
    if ((got == NULL) != (want == NULL) || end != want_end) __builtin_trap();
    cJSON *got2 = json_parse(s, size, 0, &err);
    if ((got2 == NULL) != (want == NULL) || (!got2 && err != want_end) || (got2 && err != (size_t)-1))
        __builtin_trap();
    cJSON_Delete(got2);

    if (want) {
        same_tree(got, want);
        char *x = cJSON_PrintUnformatted(got), *y = cJSON_PrintUnformatted(want);
        if ((x == NULL) != (y == NULL) || (x && strcmp(x, y) != 0)) __builtin_trap();
        free(x);
        free(y);

        size_t depth = depth_of(want);
        if (depth > 0) {
            cJSON *lim = json_parse_prefix(s, size, depth, &end);
            if (!lim || end != want_end) __builtin_trap();
            same_tree(lim, want);
            cJSON_Delete(lim);
        }
        if (depth > 1) {
            cJSON *lim = json_parse(s, size, depth - 1, NULL);
            if (lim) __builtin_trap();
        }
    } else {
        cJSON *lim = json_parse(s, size, 1 + size % 3, NULL);
        if (lim) __builtin_trap();
    }
    cJSON_Delete(got);
    cJSON_Delete(want);
    return 0;
}
