/* scan_simd.c — the scanner's index of quotes and string-ending bytes (see
 * scan_simd.h), in plain C, SSE2 and AVX2.
 *
 * Each way makes 64 bits for each 64 bytes; the last, partial block is copied
 * into a block of spaces first, so no way reads past the text and the bits
 * past its end are 0. The AVX2 code is compiled for AVX2 alone (a target
 * attribute) and only called when __builtin_cpu_supports says the CPU has
 * it, so the library keeps running on any x86-64.
 */
#include "event/scan_simd.h"

#include <string.h>

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__) && defined(__SSE2__)
#define SCAN_HAVE_X86 1
#include <immintrin.h>
#else
#define SCAN_HAVE_X86 0
#endif

static uint64_t block_scalar(const unsigned char *b) {
    uint64_t m = 0;
    for (unsigned k = 0; k < 64; k++) {
        unsigned char c = b[k];
        m |= (uint64_t)(c == '"' || c == '\\' || c < 0x20) << k;
    }
    return m;
}

#if SCAN_HAVE_X86
static inline uint64_t block_sse2(const unsigned char *b) {
    const __m128i quote = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\'), ctl = _mm_set1_epi8(0x1F);
    uint64_t m = 0;
    for (unsigned k = 0; k < 64; k += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(b + k));
        /* max(x, 0x1F) == 0x1F exactly when x <= 0x1F, unsigned */
        __m128i y = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bs)),
                                 _mm_cmpeq_epi8(_mm_max_epu8(x, ctl), ctl));
        m |= (uint64_t)(uint32_t)_mm_movemask_epi8(y) << k;
    }
    return m;
}

__attribute__((target("avx2"))) static void index_avx2(const unsigned char *s, size_t full, uint64_t *stop) {
    const __m256i quote = _mm256_set1_epi8('"'), bs = _mm256_set1_epi8('\\'), ctl = _mm256_set1_epi8(0x1F);
    for (size_t w = 0; w < full; w++) {
        const unsigned char *b = s + w * 64;
        __m256i lo = _mm256_loadu_si256((const __m256i *)(const void *)b);
        __m256i hi = _mm256_loadu_si256((const __m256i *)(const void *)(b + 32));
        lo = _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(lo, quote), _mm256_cmpeq_epi8(lo, bs)),
                             _mm256_cmpeq_epi8(_mm256_max_epu8(lo, ctl), ctl));
        hi = _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(hi, quote), _mm256_cmpeq_epi8(hi, bs)),
                             _mm256_cmpeq_epi8(_mm256_max_epu8(hi, ctl), ctl));
        stop[w] = (uint64_t)(uint32_t)_mm256_movemask_epi8(lo) | (uint64_t)(uint32_t)_mm256_movemask_epi8(hi) << 32;
    }
}
#endif

int sd_scan_simd_available(int level) {
    switch (level) {
    case SCAN_SIMD_SCALAR: return 1;
#if SCAN_HAVE_X86
    case SCAN_SIMD_SSE2: return 1;
    case SCAN_SIMD_AVX2: return __builtin_cpu_supports("avx2") ? 1 : 0;
#endif
    default: return 0;
    }
}

int sd_scan_simd_best(void) {
    if (sd_scan_simd_available(SCAN_SIMD_AVX2)) return SCAN_SIMD_AVX2;
    if (sd_scan_simd_available(SCAN_SIMD_SSE2)) return SCAN_SIMD_SSE2;
    return SCAN_SIMD_SCALAR;
}

void sd_scan_index(int level, const unsigned char *s, size_t n, uint64_t *stop) {
    if (!sd_scan_simd_available(level)) level = sd_scan_simd_best();
    size_t full = n / 64;
    size_t w = 0;
    unsigned char tail[64];
    size_t rest = n - full * 64;
    if (rest) {
        memset(tail, ' ', sizeof tail);
        memcpy(tail, s + full * 64, rest);
    }
#if SCAN_HAVE_X86
    if (level == SCAN_SIMD_AVX2) {
        index_avx2(s, full, stop);
        w = full;
    } else if (level == SCAN_SIMD_SSE2) {
        for (; w < full; w++) stop[w] = block_sse2(s + w * 64);
    }
    if (rest && level != SCAN_SIMD_SCALAR) {
        stop[full] = block_sse2(tail);
        return;
    }
#endif
    for (; w < full; w++) stop[w] = block_scalar(s + w * 64);
    if (rest) stop[full] = block_scalar(tail);
}
