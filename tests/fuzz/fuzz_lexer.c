/* libFuzzer target for docpipe's full-text lexer (src/lib/lexer.c), whose
 * output the store sends to PostgreSQL as a binary tsvector
 * (tests/fuzz/run-fuzz.sh lexer).
 *
 * The first input byte picks the configuration (bit 0: english or simple)
 * and where the rest is cut into the three parts (heading A, summary B,
 * text D).  Any input must not crash, and the tsvector must be one that
 * tsvectorrecv accepts and to_tsvector could make: lexemes non-empty, at
 * most 2047 bytes, valid UTF-8 without NUL, strictly ascending in byte
 * order; 1..256 positions each, strictly ascending, within 1..16383, each
 * weighted by a part that was added. */
#include "fuzz.h"
#include "lexer.h"

static int valid_utf8(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t k = p[i] < 0x80 ? 1 : p[i] >= 0xc2 && p[i] < 0xe0 ? 2 : p[i] >= 0xe0 && p[i] < 0xf0 ? 3
			   : p[i] >= 0xf0 && p[i] < 0xf5 ? 4 : 0;
		if (k == 0 || k > n - i || p[i] == 0)
			return 0;
		for (size_t j = 1; j < k; j++)
			if ((p[i + j] & 0xc0) != 0x80)
				return 0;
		i += k;
	}
	return 1;
}

static void check(const dp_lexer *lx, size_t n, int weights)
{
	const char *prev = NULL;
	size_t prev_len = 0;

	for (size_t i = 0; i < n; i++) {
		size_t len, np;
		const char *w = dp_lexer_lexeme(lx, i, &len);
		const uint16_t *pos = dp_lexer_positions(lx, i, &np);
		CHECK(len > 0 && len <= DP_LEXER_MAXLEN && valid_utf8((const unsigned char *)w, len));
		if (prev != NULL) {
			int c = memcmp(prev, w, prev_len < len ? prev_len : len);
			CHECK(c < 0 || (c == 0 && prev_len < len));
		}
		prev = w;
		prev_len = len;
		CHECK(np >= 1 && np <= 256);
		for (size_t k = 0; k < np; k++) {
			unsigned p = pos[k] & 0x3fff;
			CHECK(p >= 1 && p <= DP_LEXER_MAXPOS);
			CHECK(k == 0 || p > (pos[k - 1] & 0x3fffu));
			CHECK(weights & (1 << (pos[k] >> 14)));
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static dp_lexer *lexers[2];
	dp_err err;

	if (size == 0)
		return 0;
	for (int i = 0; i < 2; i++)
		if (lexers[i] == NULL)
			CHECK((lexers[i] = dp_lexer_new(i ? "simple" : "english", &err)) != NULL);
	dp_lexer *lx = lexers[data[0] & 1];
	char *text = fuzz_copy(data + 1, size - 1);
	size_t n = size - 1, cut1 = n * ((data[0] >> 1) & 7) / 16, cut2 = cut1 + (n - cut1) * (data[0] >> 4) / 16;
	dp_lexer_reset(lx);
	dp_lexer_part(lx, 'A');
	CHECK(dp_lexer_text(lx, text, cut1, &err) == 0);
	dp_lexer_part(lx, 'B');
	CHECK(dp_lexer_text(lx, text + cut1, cut2 - cut1, &err) == 0);
	dp_lexer_part(lx, 'D');
	CHECK(dp_lexer_text(lx, text + cut2, n - cut2, &err) == 0);
	size_t count = dp_lexer_finish(lx);
	CHECK(count == dp_lexer_count(lx));
	check(lx, count, 1 << 3 | 1 << 2 | 1 << 0);
	free(text);
	return 0;
}
