/*
 * request_record.h - checked builds (HA_CHECKED) of tlsf, buddy, slab and the
 * fits: the request size kept in the block, so a write past the end of the
 * request is found at free and usable size is the request.
 *
 * Blocks of these backends are rounded up and carry no request size. A
 * checked build asks its backend for RECORD_PAD more bytes, keeps the request
 * size (xor a key) in the last word of the block and fills the bytes between
 * the request and that word with a canary; every free and realloc verifies
 * both. The usable size reported (and counted in the statistics) is then the
 * request itself, as in mi's checked build, so a caller writing up to
 * ha_usable_size never touches the canary. A release build asks for the
 * request, reports the block's usable size and touches nothing.
 */
#ifndef HA_REQUEST_RECORD_H
#define HA_REQUEST_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

#ifdef HA_CHECKED
#define RECORD_PAD 16u          /* the record word and at least 8 canary bytes */
#define RECORD_CANARY_MAX 64u   /* canary bytes written and checked, at most   */
#define RECORD_CANARY 0xcbu
#define RECORD_KEY ((size_t)0x5eed5eed5eed5eedull)

/* Bytes to ask the backend for a request of n. */
static inline size_t record_request(size_t n) { return n + RECORD_PAD; }

/* The request size of the live block at ptr whose usable size is usable. */
static inline size_t record_size(const void *ptr, size_t usable, const char *backend)
{
    size_t n;
    __builtin_memcpy(&n, (const uint8_t *)ptr + usable - sizeof n, sizeof n);
    n ^= RECORD_KEY;
    if (usable < RECORD_PAD || n > usable - RECORD_PAD)
        ha_fault(ptr, "%s: the block's size record is corrupted (written past the end?)", backend);
    return n;
}

static inline size_t record_canary_len(size_t n, size_t usable)
{
    size_t len = usable - sizeof(size_t) - n;
    return len < RECORD_CANARY_MAX ? len : RECORD_CANARY_MAX;
}

/* Whether ptr holds a plausible record (for validators walking blocks that
 * may be free): the request size in *n. */
static inline bool record_peek(const void *ptr, size_t usable, size_t *n)
{
    __builtin_memcpy(n, (const uint8_t *)ptr + usable - sizeof *n, sizeof *n);
    *n ^= RECORD_KEY;
    return usable >= RECORD_PAD && *n <= usable - RECORD_PAD;
}

/* Write the record and the canary of a block just handed out for n bytes. */
static inline void record_set(void *ptr, size_t n, size_t usable)
{
    size_t x = n ^ RECORD_KEY;
    __builtin_memcpy((uint8_t *)ptr + usable - sizeof x, &x, sizeof x);
    __builtin_memset((uint8_t *)ptr + n, RECORD_CANARY, record_canary_len(n, usable));
}

/* Verify the record and the canary of a block being freed or resized. */
static inline void record_verify(const void *ptr, size_t usable, const char *backend)
{
    size_t n = record_size(ptr, usable, backend);
    const uint8_t *canary = (const uint8_t *)ptr + n;
    for (size_t i = 0, len = record_canary_len(n, usable); i < len; i++)
        if (canary[i] != RECORD_CANARY)
            ha_fault(ptr, "%s: write past the end of the block (%zu bytes requested; byte %zu after them overwritten)",
                     backend, n, i);
}
#else
#define RECORD_PAD 0u
static inline size_t record_request(size_t n) { return n; }
static inline size_t record_size(const void *ptr, size_t usable, const char *backend) { return usable; }
static inline void record_set(void *ptr, size_t n, size_t usable) {}
static inline void record_verify(const void *ptr, size_t usable, const char *backend) {}
#endif

#endif /* HA_REQUEST_RECORD_H */
