/* fuzz_slack.c — libFuzzer target: an alert's JSON as a Slack message.
 *
 * The input is the alert JSON itself (the seeds are real alerts). Its length
 * picks the code-block budget: even -> the default (max_params 0, 1500
 * bytes), odd -> 1 + length % 200, so both cuts are reached.
 * Properties:
 *  - sd_slack_format fails (-1, nothing written) exactly when sd_json_parse
 *    (cJSON's language, raw control characters in strings refused) cannot
 *    parse the input; otherwise its output is valid UTF-8 and parses as a
 *    JSON object;
 *  - no '<' or '>' anywhere in the message's strings (the formatter makes no
 *    links or mentions, so every one would come from the event), hence no
 *    "<!" anywhere in the output;
 *  - texts fit Slack's limits in UTF-16 units: "text" 3000, header 150,
 *    section 3000, field 2000;
 *  - the blocks are header, message, 8 fields, an optional code block and
 *    a context line; the code block starts and ends with ``` and no two
 *    backticks meet in between (nothing can close it early).
 */
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sink/format.h"
#include "util/json.h"
#include "utf8_oracle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (!(cond)) __builtin_trap();                                                                                 \
    } while (0)

static const char *text_of(const cJSON *obj) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(obj, "text");
    return cJSON_IsString(t) ? t->valuestring : NULL;
}

static void check_len(const char *s, size_t limit) {
    CHECK(s);
    CHECK(oracle_utf16_units((const unsigned char *)s, strlen(s)) <= limit);
}

/* No '<' or '>' in any string (or key) of the tree. */
static void check_no_angles(const cJSON *it) {
    for (; it; it = it->next) {
        if (it->string) CHECK(!strpbrk(it->string, "<>"));
        if (cJSON_IsString(it)) CHECK(!strpbrk(it->valuestring, "<>"));
        check_no_angles(it->child);
    }
}

static void check_code_block(const char *s) {
    size_t n = strlen(s);
    CHECK(n >= 6 && memcmp(s + n - 3, "```", 3) == 0);
    for (size_t i = 3; i + 1 < n - 3; i++) CHECK(!(s[i] == '`' && s[i + 1] == '`'));
    CHECK(s[3] != '`' && s[n - 4] != '`');
}

/* header, message section, fields section, [code block section], context */
static void check_blocks(const cJSON *blocks, bool has_nul) {
    CHECK(cJSON_IsArray(blocks));
    int n = cJSON_GetArraySize(blocks);
    CHECK(n == 4 || n == 5);
    const cJSON *b = blocks->child;
    CHECK(strcmp(cJSON_GetObjectItemCaseSensitive(b, "type")->valuestring, "header") == 0);
    const char *h = text_of(cJSON_GetObjectItemCaseSensitive(b, "text"));
    check_len(h, 150);
    /* Not empty; a title may start with U+0000 (kept, escaped), which
     * cJSON's valuestring stops at. */
    CHECK(h[0] != 0 || has_nul);
    b = b->next;
    CHECK(strcmp(cJSON_GetObjectItemCaseSensitive(b, "type")->valuestring, "section") == 0);
    const char *m = text_of(cJSON_GetObjectItemCaseSensitive(b, "text"));
    check_len(m, 3000);
    CHECK(m[0] != 0 || has_nul); /* as the header */
    b = b->next;
    const cJSON *fields = cJSON_GetObjectItemCaseSensitive(b, "fields"), *f;
    CHECK(cJSON_GetArraySize(fields) == 8);
    cJSON_ArrayForEach(f, fields) check_len(text_of(f), 2000);
    b = b->next;
    if (n == 5) {
        const char *code = text_of(cJSON_GetObjectItemCaseSensitive(b, "text"));
        check_len(code, 3000);
        CHECK(strncmp(code, "```", 3) == 0);
        check_code_block(code);
        b = b->next;
    }
    CHECK(strcmp(cJSON_GetObjectItemCaseSensitive(b, "type")->valuestring, "context") == 0);
    const cJSON *e, *elems = cJSON_GetObjectItemCaseSensitive(b, "elements");
    CHECK(cJSON_GetArraySize(elems) >= 1 && cJSON_GetArraySize(elems) <= 2);
    cJSON_ArrayForEach(e, elems) check_len(text_of(e), 3000);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 65536) return 0;
    slack_fmt_opts o = {
        .max_params = size % 2 ? 1 + size % 200 : 0,
        .username = "secdet",
        .icon_emoji = ":rotating_light:",
    };
    cJSON *in = sd_json_parse((const char *)data, size, 0, NULL);
    buf out;
    sd_buf_init(&out);
    int rc = sd_slack_format(&out, (const char *)data, size, &o);
    CHECK(rc == (in ? 0 : -1));
    cJSON_Delete(in);
    if (rc != 0) {
        CHECK(out.len == 0);
        sd_buf_free(&out);
        return 0;
    }
    CHECK(oracle_utf16_units((const unsigned char *)out.data, out.len) != SIZE_MAX);
    CHECK(strlen(out.data) == out.len); /* no NUL inside: strstr sees it all */
    CHECK(!strstr(out.data, "<!"));
    cJSON *msg = cJSON_ParseWithLength(out.data, out.len);
    CHECK(cJSON_IsObject(msg));
    check_no_angles(msg->child);
    const char *text = text_of(msg);
    check_len(text, 3000);
    CHECK(text[0] == '[');
    const cJSON *att = cJSON_GetObjectItemCaseSensitive(msg, "attachments");
    CHECK(cJSON_GetArraySize(att) == 1);
    const cJSON *color = cJSON_GetObjectItemCaseSensitive(att->child, "color");
    CHECK(cJSON_IsString(color) && color->valuestring[0] == '#' && strlen(color->valuestring) == 7);
    check_blocks(cJSON_GetObjectItemCaseSensitive(att->child, "blocks"), strstr(out.data, "\\u0000") != NULL);
    cJSON_Delete(msg);
    sd_buf_free(&out);
    return 0;
}
