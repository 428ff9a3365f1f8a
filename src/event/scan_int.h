/* scan_int.h — the scan plan's trie, shared by scan_plan.c (building) and
 * scan.c (running). Not a public interface.
 *
 * A node stands for a set of JSON positions at one depth: the root object,
 * then one node per distinct path prefix. Where a [*] and an [N] both leave
 * one array node, element N is reached through a merged node (the union of
 * the two subtrees), so while scanning every value has exactly one node.
 */
#ifndef SECDET_EVENT_SCAN_INT_H
#define SECDET_EVENT_SCAN_INT_H

#include <stdint.h>
#include <string.h>

#include "event/scan.h"

#define SCAN_NONE UINT32_MAX

typedef struct scan_kedge {
    char *key; /* owned copy */
    uint32_t len;
    uint32_t child;
} scan_kedge;

typedef struct scan_iedge {
    uint32_t index;
    uint32_t child;
} scan_iedge;

typedef struct scan_node {
    uint32_t *outs; /* outputs whose value is here */
    uint32_t nouts;
    scan_kedge *keys;
    uint32_t nkeys;
    uint32_t *khash; /* open addressing over keys: slot = key index + 1, 0 empty */
    uint32_t khash_mask;
    scan_iedge *idx;
    uint32_t nidx;
    uint32_t star;      /* child for every element, or SCAN_NONE */
    uint32_t edge_base; /* stamp index of keys[0] */
    uint8_t normalised;
} scan_node;

struct scan_plan {
    scan_node *nodes;
    uint32_t nnodes, cap_nodes;
    uint32_t nedges; /* key edges in all, = stamps needed */
    uint32_t nout;
    uint8_t *multi; /* per output */
};

/* The hash of a key's bytes, shared by building and lookup. Every key of a
 * planned object is hashed while scanning, so this reads at most two
 * overlapping 8-byte words (the first and the last) instead of every byte:
 * keys that share those bytes and their length only cost a probe more. */
static inline uint32_t scan_key_hash(const unsigned char *k, size_t n) {
    uint64_t a = 0, b = 0;
    if (n >= 8) {
        memcpy(&a, k, 8);
        memcpy(&b, k + n - 8, 8);
    } else if (n >= 4) {
        uint32_t x, y;
        memcpy(&x, k, 4);
        memcpy(&y, k + n - 4, 4);
        a = x;
        b = y;
    } else if (n > 0) {
        a = (uint64_t)k[0] | (uint64_t)k[n / 2] << 8 | (uint64_t)k[n - 1] << 16;
    }
    uint64_t h = (a ^ (uint64_t)n) * 0x9E3779B97F4A7C15ull;
    h ^= (b + (h >> 29)) * 0xC2B2AE3D27D4EB4Full;
    return (uint32_t)(h >> 32);
}

#endif
