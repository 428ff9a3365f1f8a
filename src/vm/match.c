/* match.c — value tests the VM and the alert stage share: equality, globs, CIDR.
 *
 * Promises (LANGUAGE.md):
 *  - sd_value_equal never coerces: "1" != 1; numbers compare by value (1 == 1.0);
 *    strings bytewise; arrays/objects equal when they are the same JSON.
 *  - sd_glob_match: `*` any run, `?` exactly one UTF-8 code point, everything else
 *    literal and case-sensitive, whole string. Iterative, O(len(pat)*len(s)).
 *  - sd_cidr_parse accepts IPv4 dotted quads and IPv6 text (with :: and embedded
 *    IPv4), an optional /N, and clears host bits; a bare address is /32 or /128.
 *  - sd_cidr_contains: IPv4 values never match IPv6 ranges and vice versa
 *    (::ffff:1.2.3.4 is IPv6).
 * Strings here are (pointer, length) and need not be NUL-terminated; they
 * may hold U+0000, in values as in JSON trees (util/json.h), and every test
 * sees all their bytes.
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <string.h>
#include <sys/socket.h>

#include "util/json.h"
#include "vm/vm.h"

/* Structural equality of two JSON values. cJSON_Compare checks objects in
 * both directions, recursively, which is exponential in the nesting depth —
 * a hostile event could stall the engine. This walks each pair of members
 * once: equal member counts, and every member of a equal to b's member of
 * the same name (first occurrence, as everywhere else). Finding a member is
 * still a scan, so two large objects cost the product of their sizes: every
 * node compared and every member passed over is one step counted in *work,
 * and past `limit` steps the walk stops (the answer is then false, and the
 * caller sees *work > limit). */
static bool json_equal(const cJSON *a, const cJSON *b, int depth, uint64_t *work, uint64_t limit) {
    if (depth > 256 || ++*work > limit) return false;
    if ((a->type & 0xFF) != (b->type & 0xFF)) return false;
    switch (a->type & 0xFF) {
    case cJSON_False:
    case cJSON_True:
    case cJSON_NULL: return true;
    case cJSON_Number: return a->valuedouble == b->valuedouble;
    case cJSON_String: {
        size_t n = sd_json_string_len(a);
        return a->valuestring && b->valuestring && n == sd_json_string_len(b) &&
               memcmp(a->valuestring, b->valuestring, n) == 0;
    }
    case cJSON_Array: {
        const cJSON *x = a->child, *y = b->child;
        for (; x && y; x = x->next, y = y->next)
            if (!json_equal(x, y, depth + 1, work, limit)) return false;
        return !x && !y;
    }
    case cJSON_Object: {
        int na = cJSON_GetArraySize(a), nb = cJSON_GetArraySize(b);
        if (na != nb) return false;
        for (const cJSON *x = a->child; x; x = x->next) {
            const cJSON *y = NULL;
            for (const cJSON *c = x->string ? b->child : NULL; c && !y; c = c->next) {
                if (++*work > limit) return false;
                /* keys holding U+0000 are encoded (util/json.h): equal encodings, equal keys */
                if (c->string && !((c->type ^ x->type) & JSON_KEY_HAS_NUL) && strcmp(c->string, x->string) == 0) y = c;
            }
            if (!y || !json_equal(x, y, depth + 1, work, limit)) return false;
        }
        return true;
    }
    default: return false;
    }
}

bool sd_value_equal(const sd_value *x, const sd_value *y) {
    uint64_t work = 0;
    return sd_value_equal_counted(x, y, &work, UINT64_MAX);
}

bool sd_value_equal_counted(const sd_value *x, const sd_value *y, uint64_t *work, uint64_t limit) {
    ++*work;
    if (x->type != y->type) return false;
    switch (x->type) {
    case SD_NULL: return true;
    case SD_BOOL: return (x->b != 0) == (y->b != 0);
    case SD_NUM: return x->num == y->num;
    case SD_STR: return x->len == y->len && (x->len == 0 || memcmp(x->str, y->str, x->len) == 0);
    case SD_ARR:
    case SD_OBJ:
        /* Containers are only ever seen through their node (constants are scalars). */
        if (!x->node || !y->node || x->len != y->len) return false;
        if (x->node == y->node) return true;
        return json_equal((const cJSON *)x->node, (const cJSON *)y->node, 0, work, limit);
    }
    return false;
}

/* Length of the code point starting at s[i]: its first byte and any
 * continuation bytes after it (so invalid UTF-8 still advances). */
static size_t cp_len(const char *s, size_t n, size_t i) {
    size_t j = i + 1;
    while (j < n && ((unsigned char)s[j] & 0xC0) == 0x80) j++;
    return j - i;
}

bool sd_glob_match(const char *pat, size_t plen, const char *s, size_t slen) {
    size_t p = 0, i = 0;
    /* The position after the last `*` seen and where its run currently ends;
     * on a mismatch the star swallows one more code point and we retry. Only
     * the last star needs remembering: an earlier star can never help once a
     * later one has matched (classic wildcard argument). */
    bool have_star = false;
    size_t star_p = 0, star_i = 0;
    while (i < slen) {
        if (p < plen && pat[p] == '*') {
            have_star = true;
            star_p = ++p;
            star_i = i;
        } else if (p < plen && pat[p] == '?') {
            p++;
            i += cp_len(s, slen, i);
        } else if (p < plen && pat[p] == s[i]) {
            p++;
            i++;
        } else if (have_star) {
            star_i += cp_len(s, slen, star_i);
            i = star_i;
            p = star_p;
        } else {
            return false;
        }
    }
    while (p < plen && pat[p] == '*') p++;
    return p == plen;
}

/* Copies s[0..len) into a NUL-terminated buffer; false if it does not fit or holds a NUL. */
static bool copy_z(char *dst, size_t dstsz, const char *s, size_t len) {
    if (len >= dstsz || (len > 0 && memchr(s, '\0', len))) return false;
    memcpy(dst, s, len);
    dst[len] = '\0';
    return true;
}

/* Parses an address (no prefix); family 4 or 6; 0 on failure. */
static int parse_addr(const char *s, size_t len, uint8_t addr[16]) {
    char tmp[64];
    if (len == 0 || !copy_z(tmp, sizeof tmp, s, len)) return 0;
    memset(addr, 0, 16);
    if (memchr(tmp, ':', len)) return inet_pton(AF_INET6, tmp, addr) == 1 ? 6 : 0;
    return inet_pton(AF_INET, tmp, addr) == 1 ? 4 : 0;
}

int sd_cidr_parse(const char *s, size_t len, cidr_range *out) {
    if (!s || !out) return -1;
    const char *slash = memchr(s, '/', len);
    size_t alen = slash ? (size_t)(slash - s) : len;
    uint8_t addr[16];
    int family = parse_addr(s, alen, addr);
    if (!family) return -1;
    unsigned max = family == 4 ? 32u : 128u;
    unsigned prefix = max;
    if (slash) {
        const char *d = slash + 1;
        size_t dlen = len - alen - 1;
        if (dlen == 0 || dlen > 3) return -1;
        prefix = 0;
        for (size_t i = 0; i < dlen; i++) {
            if (d[i] < '0' || d[i] > '9') return -1;
            prefix = prefix * 10 + (unsigned)(d[i] - '0');
        }
        if (prefix > max) return -1;
    }
    /* "10.1.2.3/8" means 10.0.0.0/8: clear the host bits. */
    unsigned nbytes = max / 8;
    for (unsigned i = 0; i < nbytes; i++) {
        unsigned bit = i * 8;
        if (bit >= prefix)
            addr[i] = 0;
        else if (prefix - bit < 8)
            addr[i] &= (uint8_t)(0xFFu << (8 - (prefix - bit)));
    }
    memset(out, 0, sizeof *out);
    out->family = (uint8_t)family;
    out->prefix = (uint8_t)prefix;
    memcpy(out->addr, addr, nbytes);
    return 0;
}

static bool range_contains(const cidr_range *r, const uint8_t addr[16]) {
    unsigned full = r->prefix / 8, rest = r->prefix % 8;
    if (full > 16 || (full == 16 && rest)) return false;
    if (memcmp(r->addr, addr, full) != 0) return false;
    if (rest == 0) return true;
    uint8_t mask = (uint8_t)(0xFFu << (8 - rest));
    return (addr[full] & mask) == (r->addr[full] & mask);
}

bool sd_cidr_contains(const cidr_set *set, const char *s, size_t len) {
    if (!set || !s) return false;
    uint8_t addr[16];
    int family = parse_addr(s, len, addr);
    if (!family) return false;
    for (uint32_t i = 0; i < set->n; i++) {
        const cidr_range *r = &set->ranges[i];
        if (r->family == family && r->prefix <= (family == 4 ? 32 : 128) && range_contains(r, addr)) return true;
    }
    return false;
}
