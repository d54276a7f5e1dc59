#include "text.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t dp_utf8_invalid_at(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	/* ASCII sixteen bytes at a time; each other sequence checked. */
	while (i < len) {
		size_t k = dp_v16_first((dp_v16s)dp_v16_load(u, i, len, 0) < 0);
		if (k == 16) {
			i += 16;
			continue;
		}
		i += k;
		size_t n = dp_utf8_seq_len(u + i, len - i);
		if (n == 0)
			return i;
		i += n;
	}
	return len;
}

size_t dp_utf8_floor(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = len;

	/* Step back over continuation bytes to the lead byte of the last
	 * sequence; keep it only if it is complete. */
	while (n > 0 && len - n < 4 && (u[n - 1] & 0xC0) == 0x80)
		n--;
	if (n == 0)
		return 0;
	size_t lead = n - 1;
	size_t want = u[lead] < 0x80 ? 1 : u[lead] >= 0xF0 ? 4 : u[lead] >= 0xE0 ? 3 : 2;
	return lead + want <= len ? lead + want : lead;
}

size_t dp_utf8_drop_invisible(char *s, size_t len)
{
	size_t o = 0, i = 0;

	while (i < len) {
		uint32_t c = 0;
		size_t n = (unsigned char)s[i] < 0x80 ? 1 : dp_utf8_get(s + i, len - i, &c);
		if (n == 0)
			n = 1; /* not UTF-8: kept as it is */
		else if (n > 1 && dp_invisible_format(c)) {
			i += n;
			continue;
		}
		if (o != i)
			memmove(s + o, s + i, n);
		o += n;
		i += n;
	}
	return o;
}

/* The sum of the eight byte lanes of w. */
static size_t lane_sum(uint64_t w)
{
	w = (w & 0x00FF00FF00FF00FFull) + ((w >> 8) & 0x00FF00FF00FF00FFull);
	return (size_t)((w * 0x0001000100010001ull) >> 48);
}

/* The sum of the sixteen byte lanes of v. */
static size_t lanes16_sum(dp_v16 v)
{
	dp_v16w w = (dp_v16w)v;

	return lane_sum(w[0]) + lane_sum(w[1]);
}

dp_tokens_counts dp_tokens_count(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t high = 0, cont = 0, i = 0;

	/* Sixteen bytes at a time: as a signed byte, one that is not ASCII is
	 * negative, a continuation byte (0x80-0xBF) below -0x40; every other
	 * non-ASCII byte starts a code point.  Counts add up in byte lanes (at
	 * most 255 blocks before they are summed); the padding 0 is ASCII and
	 * is not counted (ASCII is what is not high). */
	while (i < len) {
		dp_v16 high_lanes = {0}, cont_lanes = {0};
		for (int k = 0; k < 255 && i < len; k++, i += 16) {
			dp_v16s w = (dp_v16s)dp_v16_load(u, i, len, 0);
			high_lanes -= (dp_v16)(w < 0);
			cont_lanes -= (dp_v16)(w < -0x40);
		}
		high += lanes16_sum(high_lanes);
		cont += lanes16_sum(cont_lanes);
	}
	return (dp_tokens_counts){.ascii = len - high, .other = high - cont};
}

size_t dp_tokens_estimate(const char *s, size_t len)
{
	return dp_tokens_of(dp_tokens_count(s, len));
}

/* The value of the four hex digits at p, or -1. */
static int hex4(const char *p)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		int c = (unsigned char)p[i], d = c >= '0' && c <= '9' ? c - '0'
					       : c >= 'a' && c <= 'f' ? c - 'a' + 10
					       : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

size_t dp_json_lone_surrogates(char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i + 1 < len; i++) {
		if (s[i] != '\\')
			continue;
		if (s[i + 1] != 'u' || i + 6 > len) {
			i++; /* a two-byte escape: its second byte is no escape's start */
			continue;
		}
		int u = hex4(s + i + 2);
		if (u >= 0xD800 && u <= 0xDBFF && i + 12 <= len && s[i + 6] == '\\' && s[i + 7] == 'u') {
			int low = hex4(s + i + 8);
			if (low >= 0xDC00 && low <= 0xDFFF) {
				i += 11; /* a whole pair */
				continue;
			}
		}
		if (u >= 0xD800 && u <= 0xDFFF) {
			memcpy(s + i + 2, "FFFD", 4);
			n++;
		}
		i += 5;
	}
	return n;
}

/* strcmp's order between w (len bytes) and the NUL-terminated word. */
static int word_cmp(const unsigned char *w, size_t len, const unsigned char *word)
{
	for (size_t i = 0; i < len; i++) {
		if (word[i] == '\0')
			return 1;
		if (w[i] != word[i])
			return w[i] < word[i] ? -1 : 1;
	}
	return word[len] == '\0' ? 0 : -1;
}

/* A binary search of its own: bsearch would need w copied and terminated,
 * and calls strcmp through a pointer for each probe (the summarizer looks
 * up every word of every text: its largest cost). */
int dp_word_in_sorted(const char *w, size_t len, const char *const *words, size_t n)
{
	size_t lo = 0, hi = n;

	if (len >= 16)
		return 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = word_cmp((const unsigned char *)w, len, (const unsigned char *)words[mid]);
		if (c == 0)
			return 1;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

void dp_utf8_shown(const char *s, size_t len, char *out, size_t size)
{
	size_t o = 0, i = 0;
	char rep[DP_SHOWN_MAX];

	/* Room is kept for "...": a text cut by out's size (escapes are up to
	 * 4 bytes shown for 1) is said to be cut, as one cut at 120 bytes. */
	while (i < len && i < 120 && o + DP_SHOWN_MAX + 3 < size) {
		i += dp_shown_char(s + i, len - i, rep);
		o += (size_t)snprintf(out + o, size - o, "%s", rep);
	}
	if (i < len && o + 3 < size)
		o += (size_t)snprintf(out + o, size - o, "...");
	out[o < size ? o : size - 1] = '\0';
}

int dp_utf8_check(const char *what, const char *s, dp_err *err)
{
	size_t len = strlen(s), at = dp_utf8_invalid_at(s, len);

	if (at == len)
		return 0;
	/* Up to 40 bytes before the bad one (from a character's start), and
	 * what follows. */
	size_t from = at > 40 ? at - 40 : 0;
	while (from > 0 && ((unsigned char)s[from] & 0xC0) == 0x80)
		from++;
	char ctx[200];
	dp_utf8_shown(s + from, len - from, ctx, sizeof ctx);
	dp_err_set(err, "%s is not valid UTF-8: the byte at offset %zu (0x%02x) begins no valid"
		   " character: '%s%s'", what, at, (unsigned char)s[at], from > 0 ? "..." : "", ctx);
	return -1;
}

