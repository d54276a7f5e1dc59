#include "utf8.h"

#include <stdio.h>
#include <string.h>

size_t dp_utf8_get(const char *s, size_t avail, uint32_t *c)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = dp_utf8_seq_len(u, avail);

	if (n == 0)
		return 0;
	*c = n == 1 ? u[0] : u[0] & (0xFFu >> (n + 1));
	for (size_t k = 1; k < n; k++)
		*c = *c << 6 | (u[k] & 0x3F);
	return n;
}

int dp_invisible_format(uint32_t c)
{
	return c == 0x00AD || c == 0x061C || c == 0x180E || c == 0x200B || c == 0x200E ||
	       c == 0x200F || (c >= 0x202A && c <= 0x202E) || (c >= 0x2060 && c <= 0x2064) ||
	       (c >= 0x2066 && c <= 0x206F) || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFB) ||
	       c == 0xE0001 || (c >= 0xE0020 && c <= 0xE007F);
}

size_t dp_utf8_put(char *out, uint32_t c)
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xc0 | c >> 6);
		out[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (char)(0xe0 | c >> 12);
		out[1] = (char)(0x80 | (c >> 6 & 0x3f));
		out[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | c >> 18);
	out[1] = (char)(0x80 | (c >> 12 & 0x3f));
	out[2] = (char)(0x80 | (c >> 6 & 0x3f));
	out[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

size_t dp_shown_char(const char *s, size_t avail, char rep[DP_SHOWN_MAX])
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t c = 0;

	if (avail == 0) {
		rep[0] = '\0';
		return 0;
	}
	if (u[0] < 0x20 || u[0] == 0x7f) {
		snprintf(rep, DP_SHOWN_MAX, "\\x%02x", u[0]);
		return 1;
	}
	if (u[0] < 0x80) {
		rep[0] = (char)u[0];
		rep[1] = '\0';
		return 1;
	}
	size_t n = dp_utf8_get(s, avail, &c);
	if (n == 0) {
		snprintf(rep, DP_SHOWN_MAX, "\\x%02x", u[0]);
		return 1;
	}
	if (c <= 0x9f || dp_invisible_format(c))
		snprintf(rep, DP_SHOWN_MAX, c > 0xffff ? "\\U%08x" : "\\u%04x", (unsigned)c);
	else {
		memcpy(rep, s, n);
		rep[n] = '\0';
	}
	return n;
}
