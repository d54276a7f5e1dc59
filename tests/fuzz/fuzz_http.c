/* libFuzzer target for the values the API client reads from response
 * headers (src/lib/http.c): durations (x-ratelimit-reset-*), Retry-After,
 * and the pacing computed from them (tests/fuzz/run-fuzz.sh http).
 *
 * Any input must not crash; a duration is -1 or within [0, 1 day], and the
 * pacing from any parsed values is a finite number >= 0. */
#include <math.h>

#include "fuzz.h"
#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_copy(data, size);
	double ms;
	long ra;

	ms = dp_http_parse_duration_ms(s);
	CHECK(ms == -1 || (ms >= 0 && ms <= 86400e3));
	ra = dp_http_parse_retry_after(s, size > 0 && (data[0] & 1), 1445412480);
	CHECK(ra >= -1 && ra <= 86400000L);
	dp_http_ratelimit rl = {size > 2 ? (double)(data[1] * 100) - 1 : -1,
				size > 3 ? (double)data[2] - 1 : -1, ms};
	double iv = dp_http_ratelimit_interval_ms(&rl);
	CHECK(isfinite(iv) && iv >= 0);
	free(s);
	return 0;
}
