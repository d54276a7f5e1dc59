/* libFuzzer target for a model API's answer as the client reads it
 * (src/lib/http.c's parse_answer): jq's parse of the body, and when that
 * fails, of a copy with its lone surrogate escapes written \uFFFD
 * (dp_json_lone_surrogates, src/lib/text.c).  Built and run by
 * tests/fuzz/run-fuzz.sh answer.
 *
 * Any input must not crash; the rewrite must keep the length, change
 * nothing but an escape's four hex digits into FFFD, leave nothing to do
 * a second time, and change nothing jq reads in a body it parses. */
#include <jv.h>

#include "fuzz.h"

/* 1 when the bytes of a and b (len each) differ only where b holds an
 * escape \uFFFD that is \u followed by other hex digits in a. */
static int only_escapes(const char *a, const char *b, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (a[i] == b[i])
			continue;
		size_t s = i >= 2 ? i - 2 : 0;
		while (s + 2 > i || (s + 6 <= len && memcmp(b + s, "\\uFFFD", 6) != 0)) {
			if (s == 0 || i - s >= 5)
				return 0;
			s--;
		}
		if (s + 6 > len || a[s] != '\\' || a[s + 1] != 'u')
			return 0;
		i = s + 5;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body = fuzz_copy(data, size), *copy = fuzz_copy(data, size);
	size_t n = dp_json_lone_surrogates(copy, size);

	CHECK((n == 0) == (memcmp(body, copy, size) == 0));
	CHECK(only_escapes(body, copy, size));
	CHECK(dp_json_lone_surrogates(copy, size) == 0);
	jv v = jv_parse_sized(body, (int)size);
	if (jv_is_valid(v)) {
		/* Their dumps compared, not jv_equal: jq parses "nan" and "NAN"
		 * as NaN, which equals nothing, itself included. */
		jv w = jv_parse_sized(copy, (int)size);
		CHECK(jv_is_valid(w));
		jv a = jv_dump_string(jv_copy(v), 0), b = jv_dump_string(w, 0);
		CHECK(strcmp(jv_string_value(a), jv_string_value(b)) == 0);
		jv_free(a);
		jv_free(b);
	}
	jv_free(v);
	free(copy);
	free(body);
	return 0;
}
