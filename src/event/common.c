/* common.c — the names of the common fields (common.h). */
#include "event/common.h"

#include <stdlib.h>
#include <string.h>

#include "util/suggest.h"

const char *const sd_common_names[SD_NCOMMON] = {"time", "id", "ip", "user", "account", "action", "outcome", "type"};

int sd_common_lookup(const char *name, size_t len) {
    for (int i = 0; i < SD_NCOMMON; i++)
        if (strlen(sd_common_names[i]) == len && memcmp(sd_common_names[i], name, len) == 0) return i;
    return -1;
}

const char *sd_common_suggest(const char *name, size_t len) {
    char word[32];
    if (len >= sizeof word) return NULL;
    memcpy(word, name, len);
    word[len] = 0;
    suggest s;
    sd_suggest_init(&s, word);
    sd_suggest_offer_all(&s, sd_common_names, SD_NCOMMON);
    return sd_suggest_best(&s);
}

size_t sd_path_parse_common(const char *s, size_t len, sd_path *out, const char **err) {
    memset(out, 0, sizeof *out);
    size_t i = 1;
    while (i < len && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_')) i++;
    int f = sd_common_lookup(s + 1, i - 1);
    if (f < 0) {
        *err =
            "unknown common field (the common fields are @time, @id, @ip, @user, @account, @action, @outcome, @type)";
        return 0;
    }
    out->common = (uint8_t)(f + 1);
    out->text = sd_path_to_text(out);
    if (!out->text) {
        *err = "out of memory";
        return 0;
    }
    return i;
}
