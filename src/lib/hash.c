#include "hash.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


static void to_hex(XXH128_hash_t h, char out[DP_HASH_HEX])
{
	snprintf(out, DP_HASH_HEX, "%016llx%016llx",
		 (unsigned long long)h.high64, (unsigned long long)h.low64);
}

void dp_hash_hex(const void *data, size_t len, char out[DP_HASH_HEX])
{
	to_hex(XXH3_128bits(data, len), out);
}

unsigned long long dp_hash64(const void *data, size_t len)
{
	return (unsigned long long)XXH3_64bits(data, len);
}

int dp_hash_fd(int fd, unsigned long long max, char out[DP_HASH_HEX], unsigned long long *size,
	       dp_err *err)
{
	char buf[1 << 16];
	XXH3_state_t state, *st = &state;
	unsigned long long total = 0;

	XXH3_128bits_reset(st);
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			dp_err_set(err, "read: %s", strerror(errno));
			return -1;
		}
		if (n == 0)
			break;
		XXH3_128bits_update(st, buf, (size_t)n);
		total += (unsigned long long)n;
		if (total > max) {
			dp_err_set(err, "file grew past %llu bytes while being read", max);
			return -1;
		}
	}
	to_hex(XXH3_128bits_digest(st), out);
	*size = total;
	return 0;
}

void dp_hasher_init(dp_hasher *h)
{
	XXH3_128bits_reset(&h->state);
}

void dp_hasher_add(dp_hasher *h, const void *data, size_t len)
{
	uint64_t n = len;

	XXH3_128bits_update(&h->state, &n, sizeof n);
	XXH3_128bits_update(&h->state, data, len);
}

void dp_hasher_hex(dp_hasher *h, char out[DP_HASH_HEX])
{
	to_hex(XXH3_128bits_digest(&h->state), out);
}
