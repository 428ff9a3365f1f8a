/*
 * pack.c — rule pack manifests: the pack.json beside a pack's rule files.
 *
 * A pack is one directory of rule files with a manifest that says what a
 * user installs, pins and updates: its name, its version, the log types its
 * rules read and the oldest engine that can run it (docs/rules.md, "Pack
 * manifest"). `secdet check` reads every manifest under its RULES arguments
 * and holds it to the rules it describes: a manifest that cannot be read, a
 * pack that needs a newer engine, a log type the engine does not know, or a
 * rule of the pack reading a log type the manifest does not list is an
 * error — a manifest that lies is worse than none. `secdet test --coverage`
 * names each pack by its manifest.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/json.h"

#define MANIFEST_NAME "pack.json"
#define MANIFEST_MAX  (1u << 20) /* a manifest is a few lines; anything bigger is not one */

void cli_pack_free(cli_pack *pack) {
    free(pack->dir);
    free(pack->name);
    free(pack->version);
    cli_strings_free(&pack->log_types);
    memset(pack, 0, sizeof *pack);
}

/* "MAJOR.MINOR.PATCH", each a number below 65536; -1 when not that. */
static long parse_version(const char *s) {
    long parts[3];
    for (int i = 0; i < 3; i++) {
        if (*s < '0' || *s > '9') {
            return -1;
        }
        char *end;
        errno = 0;
        parts[i] = strtol(s, &end, 10);
        if (errno != 0 || parts[i] > 65535 || (i < 2 && *end != '.') || (i == 2 && *end != '\0')) {
            return -1;
        }
        s = end + (i < 2);
    }
    return (parts[0] << 32 | parts[1] << 16 | parts[2]);
}

static int valid_name(const char *s) {
    if (*s == '\0' || *s == '-' || *s == '_') {
        return 0;
    }
    for (; *s != '\0'; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_')) {
            return 0;
        }
    }
    return 1;
}

static char *read_small_file(const char *path, size_t *len, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "%s", strerror(errno));
        return NULL;
    }
    char *text = malloc(MANIFEST_MAX + 1);
    size_t n = text ? fread(text, 1, MANIFEST_MAX + 1, f) : 0;
    int bad = text == NULL || ferror(f) || n > MANIFEST_MAX;
    fclose(f);
    if (bad) {
        snprintf(err, errlen, "%s",
                 text == NULL       ? "out of memory"
                 : n > MANIFEST_MAX ? "larger than 1 MiB"
                                    : "read error");
        free(text);
        return NULL;
    }
    text[n] = '\0';
    *len = n;
    return text;
}

static const char *take_string(const cJSON *root, const char *key, char **out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (v == NULL) {
        return "is missing";
    }
    if (!cJSON_IsString(v) || v->valuestring[0] == '\0') {
        return "must be a non-empty string";
    }
    *out = strdup(v->valuestring);
    return *out ? NULL : "out of memory";
}

/* Fills pack from the parsed manifest; NULL, or what is wrong (with *key the member). */
static const char *read_members(const cJSON *root, cli_pack *pack, const char **key, long *min_engine) {
    static const char *const known[] = {"name",    "version",    "description", "log_types", "min_engine_version",
                                        "license", "references", NULL};
    const char *why;
    char *min = NULL;
    if ((why = take_string(root, *key = "name", &pack->name)) != NULL) return why;
    if (!valid_name(pack->name)) return "must be lower-case letters, digits, '-' and '_'";
    if ((why = take_string(root, *key = "version", &pack->version)) != NULL) return why;
    if (parse_version(pack->version) < 0) return "must be MAJOR.MINOR.PATCH (\"1.0.0\")";
    if ((why = take_string(root, *key = "min_engine_version", &min)) != NULL) return why;
    *min_engine = parse_version(min);
    free(min);
    if (*min_engine < 0) return "must be MAJOR.MINOR.PATCH (\"0.1.0\")";
    const cJSON *types = cJSON_GetObjectItemCaseSensitive(root, *key = "log_types");
    if (!cJSON_IsArray(types) || cJSON_GetArraySize(types) == 0) return "must be a non-empty array of log type names";
    const cJSON *t;
    cJSON_ArrayForEach(t, types) {
        if (!cJSON_IsString(t) || t->valuestring[0] == '\0') return "must be a non-empty array of log type names";
        if (cli_strings_push(&pack->log_types, t->valuestring) != 0) return "out of memory";
    }
    const cJSON *member;
    cJSON_ArrayForEach(member, root) {
        int found = 0;
        for (size_t i = 0; known[i] != NULL && !found; i++) {
            found = strcmp(member->string, known[i]) == 0;
        }
        if (!found) {
            *key = member->string;
            return "is not a manifest member (name, version, description, log_types, min_engine_version, "
                   "license, references)";
        }
    }
    return NULL;
}

int cli_pack_read(const char *dir, cli_pack *pack, long *min_engine, char *err, size_t errlen) {
    memset(pack, 0, sizeof *pack);
    size_t plen = strlen(dir) + sizeof "/" MANIFEST_NAME;
    char *path = malloc(plen);
    if (path == NULL || (pack->dir = strdup(dir)) == NULL) {
        free(path);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(path, plen, "%s/%s", dir, MANIFEST_NAME);
    size_t len = 0;
    char *text = read_small_file(path, &len, err, errlen);
    free(path);
    if (text == NULL) {
        cli_pack_free(pack);
        return -1;
    }
    size_t at = 0;
    cJSON *root = sd_json_parse(text, len, 32, &at);
    free(text);
    const char *key = NULL;
    const char *why = root == NULL ? NULL : !cJSON_IsObject(root) ? "the manifest must be a JSON object" : NULL;
    if (root == NULL) {
        snprintf(err, errlen, "not valid JSON (at byte %zu)", at);
    } else if (why == NULL && (why = read_members(root, pack, &key, min_engine)) != NULL) {
        snprintf(err, errlen, "\"%s\" %s", key, why);
    } else if (why != NULL) {
        snprintf(err, errlen, "%s", why);
    }
    cJSON_Delete(root);
    if (root == NULL || why != NULL) {
        cli_pack_free(pack);
        return -1;
    }
    return 0;
}

char *cli_pack_dir_of(const char *file) {
    const char *slash = strrchr(file, '/');
    size_t dlen = slash ? (size_t)(slash - file) : 1;
    char *dir = malloc(dlen + sizeof "/" MANIFEST_NAME);
    if (dir == NULL) {
        return NULL;
    }
    memcpy(dir, slash ? file : ".", dlen);
    snprintf(dir + dlen, sizeof "/" MANIFEST_NAME, "/%s", MANIFEST_NAME);
    FILE *f = fopen(dir, "rb");
    dir[dlen] = '\0';
    if (f == NULL) {
        free(dir);
        return NULL;
    }
    fclose(f);
    return dir;
}

static int engine_knows_type(const secdet_engine *engine, const char *name) {
    size_t n = secdet_log_type_count(engine);
    for (size_t i = 0; i < n; i++) {
        const char *t = secdet_log_type_name(engine, i);
        if (t != NULL && strcmp(t, name) == 0) {
            return 1;
        }
    }
    return 0;
}

/* The pack's rules: each `on` name must be one of the manifest's log types. */
static size_t check_rules(const secdet_engine *engine, const cli_pack *pack, size_t *rules) {
    size_t errors = 0;
    size_t dlen = strlen(pack->dir);
    size_t n = secdet_rule_count(engine);
    for (size_t i = 0; i < n; i++) {
        secdet_rule_info info;
        if (secdet_rule_get(engine, i, &info) != SECDET_OK || info.file == NULL) continue;
        if (strncmp(info.file, pack->dir, dlen) != 0 || info.file[dlen] != '/') continue;
        if (strchr(info.file + dlen + 1, '/') != NULL) continue; /* a pack is one directory */
        (*rules)++;
        const char *on;
        for (size_t k = 0; (on = secdet_rule_source(engine, i, k)) != NULL; k++) {
            int listed = 0;
            for (size_t t = 0; t < pack->log_types.count && !listed; t++) {
                listed = strcmp(pack->log_types.items[t], on) == 0;
            }
            if (!listed) {
                fprintf(stderr, "%s:%u: rule %s reads '%s', which %s/%s does not list in log_types\n", info.file,
                        info.line, info.name, on, pack->dir, MANIFEST_NAME);
                errors++;
            }
        }
    }
    return errors;
}

static size_t check_one(const secdet_engine *engine, const char *manifest) {
    size_t dlen = strlen(manifest) - (sizeof MANIFEST_NAME - 1);
    char *dir = strndup(manifest, dlen > 0 ? dlen - 1 : 0);
    if (dir == NULL) {
        fprintf(stderr, "secdet: out of memory\n");
        return 1;
    }
    cli_pack pack;
    long min_engine = 0;
    char err[256];
    int rc = cli_pack_read(dir[0] ? dir : ".", &pack, &min_engine, err, sizeof err);
    free(dir);
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", manifest, err);
        return 1;
    }
    size_t errors = 0;
    long have = parse_version(secdet_version());
    if (have >= 0 && min_engine > have) {
        fprintf(stderr, "%s: pack %s %s needs secdet %ld.%ld.%ld or newer; this is %s\n", manifest, pack.name,
                pack.version, min_engine >> 32, (min_engine >> 16) & 0xffff, min_engine & 0xffff, secdet_version());
        errors++;
    }
    for (size_t t = 0; t < pack.log_types.count; t++) {
        if (!engine_knows_type(engine, pack.log_types.items[t])) {
            fprintf(stderr, "%s: log type '%s' is not one this engine knows\n", manifest, pack.log_types.items[t]);
            errors++;
        }
    }
    size_t rules = 0;
    errors += check_rules(engine, &pack, &rules);
    if (rules == 0) {
        fprintf(stderr, "%s: pack %s has no rules beside its manifest\n", manifest, pack.name);
        errors++;
    }
    if (errors == 0) {
        fprintf(stderr, "pack %s %s (%s): %zu %s\n", pack.name, pack.version, pack.dir, rules,
                cli_plural(rules, "rule", "rules"));
    }
    cli_pack_free(&pack);
    return errors;
}

size_t cli_packs_check(const secdet_engine *engine, char *const *paths, size_t count) {
    static const char *const suffixes[] = {MANIFEST_NAME, NULL};
    static const cli_walk how = {.suffixes = suffixes, .hidden = 0, .follow_links = 1};
    size_t errors = 0;
    for (size_t i = 0; i < count; i++) {
        cli_strings found = {0};
        if (cli_collect_files(paths[i], &how, &found) != 0) {
            continue; /* cli_load_rules has said why the argument cannot be read */
        }
        for (size_t j = 0; j < found.count; j++) {
            const char *f = found.items[j];
            size_t len = strlen(f);
            size_t mlen = sizeof MANIFEST_NAME - 1;
            /* A file argument is itself; only manifests found in a directory count. */
            if (len > mlen && strcmp(f + len - mlen, MANIFEST_NAME) == 0 && f[len - mlen - 1] == '/' &&
                strcmp(f, paths[i]) != 0) {
                errors += check_one(engine, f);
            }
        }
        cli_strings_free(&found);
    }
    return errors;
}
