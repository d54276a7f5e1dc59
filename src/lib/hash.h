/* Content hashes: XXH3-128, printed as 32 lowercase hex digits.
 *
 * Used to notice changed files and as the key of reused results.  XXH3 is
 * not cryptographic; it is ~30x faster than SHA-256 here and a collision
 * needs a deliberately crafted input, which docs/reuse.md discusses. */
#ifndef DP_HASH_H
#define DP_HASH_H

#include <stddef.h>

#include "err.h"

/* XXH3_state_t is a plain struct only with static linking declarations. */
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#define DP_HASH_HEX 33 /* 32 digits and a NUL */

void dp_hash_hex(const void *data, size_t len, char out[DP_HASH_HEX]);

/* XXH3-64 of data: a table's key (docpipe-watch's known files); equal
 * hashes say nothing, the caller compares the keys. */
unsigned long long dp_hash64(const void *data, size_t len);

/* Hashes a whole file by descriptor from its current offset, reading in
 * fixed blocks, at most max bytes: a file that grows while it is read (a
 * log being written, `yes > notes.txt`) would otherwise be read for as
 * long as it grows.  *size gets the bytes read.  Returns 0, or -1 with err
 * (a read error; "grew past MAX bytes while being read"). */
int dp_hash_fd(int fd, unsigned long long max, char out[DP_HASH_HEX], unsigned long long *size,
	       dp_err *err);

/* Incremental hashing over several parts, for keys made of several fields
 * (a text plus the model and parameters that produced its result).  A
 * plain value (no allocation, nothing can fail): declare one, init it. */
typedef struct dp_hasher {
	XXH3_state_t state;
} dp_hasher;

void dp_hasher_init(dp_hasher *h);
/* Adds a part; parts are length-prefixed so ("ab","c") != ("a","bc"). */
void dp_hasher_add(dp_hasher *h, const void *data, size_t len);
void dp_hasher_hex(dp_hasher *h, char out[DP_HASH_HEX]);

#endif
