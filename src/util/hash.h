/* hash.h — FNV-1a, for in-memory hash tables (not for ids: those use SHA-256). */
#ifndef SECDET_UTIL_HASH_H
#define SECDET_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t hash_bytes(const void *p, size_t n) {
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

#endif
