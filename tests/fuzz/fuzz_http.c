/* libFuzzer target for the values the API client reads from response
 * headers (src/lib/http.c): durations (x-ratelimit-reset-*), Retry-After,
 * and the pacing computed from them.  Built by hand:
 *   clang -g -O1 -std=c11 -D_GNU_SOURCE -Isrc/lib -fsanitize=fuzzer,address,undefined \
 *     tests/fuzz/fuzz_http.c src/lib/http.c src/lib/limiter.c src/lib/buf.c src/lib/clock.c \
 *     src/lib/stats.c src/lib/err.c ... -lcurl -ljq -lm
 * (not yet in tests/fuzz/run-fuzz.sh).
 *
 * Any input must not crash; a duration is -1 or within [0, 1 day], and the
 * pacing from any parsed values is a finite number >= 0. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "transport.h"

/* The stats thread's stop request (transport.c): never called here. */
void dp_request_stop(void) {}

#define CHECK(cond)                                                                \
	do {                                                                       \
		if (!(cond))                                                       \
			__builtin_trap();                                          \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	double ms;
	long ra;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	ms = dp_http_parse_duration_ms(s);
	CHECK(ms == -1 || (ms >= 0 && ms <= 86400e3));
	ra = dp_http_parse_retry_after(s, size > 0 && (data[0] & 1));
	CHECK(ra >= -1 && ra <= 86400000L);
	dp_http_ratelimit rl = {size > 2 ? (double)(data[1] * 100) - 1 : -1,
				size > 3 ? (double)data[2] - 1 : -1, ms};
	double iv = dp_http_ratelimit_interval_ms(&rl);
	CHECK(isfinite(iv) && iv >= 0);
	free(s);
	return 0;
}
