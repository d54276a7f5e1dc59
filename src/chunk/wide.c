/* UTF-16 and UTF-32 text (wide.h). */
#include "wide.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

/* Bytes looked at to tell UTF-16/32 without a byte order mark. */
#define WIDE_SNIFF 4096

static uint32_t unit_at(const unsigned char *b, size_t unit, int be)
{
	if (unit == 2)
		return be ? (uint32_t)b[0] << 8 | b[1] : (uint32_t)b[1] << 8 | b[0];
	return be ? (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]
		  : (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0];
}

/* Whether c may stand in text at all: no NUL, no control but tab, LF, FF
 * and CR, no C1 control, no U+FFFE/U+FFFF. */
static int text_char(uint32_t c)
{
	if (c < 0x20)
		return c == '\t' || c == '\n' || c == '\f' || c == '\r';
	return c != 0x7F && !(c >= 0x80 && c < 0xA0) && c != 0xFFFE && c != 0xFFFF;
}

/* Whether c lies in the blocks of living scripts, punctuation and symbols
 * text is made of (supplementary characters: CJK extensions, emoji). */
static int script_char(uint32_t c)
{
	static const uint32_t blocks[][2] = {
		{0x0009, 0x000D}, {0x0020, 0x007E}, {0x00A0, 0x058F}, /* Latin, Greek, Cyrillic, Armenian */
		{0x0590, 0x06FF}, /* Hebrew, Arabic */
		{0x0900, 0x0EFF}, /* Indic, Thai, Lao */
		{0x10A0, 0x10FF}, {0x1100, 0x11FF}, /* Georgian, Hangul Jamo */
		{0x1E00, 0x1FFF}, {0x2000, 0x27BF}, /* Latin and Greek extended, punctuation, symbols */
		{0x3000, 0x31FF}, {0x3400, 0x4DBF}, {0x4E00, 0x9FFF}, /* CJK */
		{0xAC00, 0xD7AF}, /* Hangul */
		{0xF900, 0xFAFF}, {0xFE30, 0xFE4F}, {0xFEFF, 0xFEFF}, {0xFF00, 0xFFEF},
		{0x10000, 0x10FFFF},
	};
	for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++)
		if (c >= blocks[i][0] && c <= blocks[i][1])
			return 1;
	return 0;
}

/* Reads the character at b[0..n) (n >= unit): its code point into *c and
 * its length in bytes, or 0 when it is not one (a lone surrogate, past
 * U+10FFFF); a high surrogate cut by n gives U+10000. */
static size_t char_at(const unsigned char *b, size_t n, size_t unit, int be, uint32_t *c)
{
	uint32_t u = unit_at(b, unit, be);
	if (u > 0x10FFFF || (u >= 0xDC00 && u < 0xE000))
		return 0;
	if (u < 0xD800 || u >= 0xE000) {
		*c = u;
		return unit;
	}
	if (unit == 4)
		return 0;
	if (n < 4) {
		*c = 0x10000;
		return n;
	}
	uint32_t lo = unit_at(b + 2, 2, be);
	if (lo < 0xDC00 || lo >= 0xE000)
		return 0;
	*c = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
	return 4;
}

/* The count of ASCII characters of b[0..n) read as unit/be, or -1 when the
 * sample does not pass as text (wide.h). */
static long sample_score(const unsigned char *b, size_t n, size_t unit, int be)
{
	size_t units = 0, script = 0, ascii = 0, zero_high = 0, zero_low = 0;
	for (size_t i = 0; i + unit <= n;) {
		uint32_t c;
		size_t k = char_at(b + i, n - i, unit, be, &c);
		if (k == 0 || !text_char(c))
			return -1;
		units++;
		script += script_char(c);
		ascii += c < 0x80;
		zero_high += unit == 2 && k == 2 && c < 0x100;
		zero_low += unit == 2 && k == 2 && (c & 0xFF) == 0;
		i += k;
	}
	if (units < (unit == 4 ? 4u : 8u) || script * 10 < units * 9)
		return -1;
	/* UTF-16's zero bytes are the high bytes of Latin characters (a
	 * newline, a space) and now and then the low byte of U+4E00, U+AC00
	 * ...; 8-bit text with stray NULs read as UTF-16 has a few, anywhere. */
	if (unit == 2 && (zero_high < 2 + units / 128 || zero_low > units / 64))
		return -1;
	return (long)ascii;
}

/* Whether b[0..n), its zero bytes taken out, is valid UTF-8 (its last 3
 * bytes may be a character the sample cuts) while they are fewer than 1
 * byte in 4, and either fewer than 1 in 64 or the rest holds no control
 * byte but tab, LF, FF and CR: UTF-8 text with stray NULs (ASCII read as
 * UTF-16 is CJK), not UTF-16 (of ASCII: half its bytes are zero; of
 * Cyrillic, Greek, Arabic: bytes 0x03-0x06 beside its zeros) nor UTF-32. */
static int utf8_with_nuls(const unsigned char *b, size_t n)
{
	char s[WIDE_SNIFF];
	size_t m = 0;
	int controls = 0;
	for (size_t i = 0; i < n; i++)
		if (b[i] != 0) {
			s[m++] = (char)b[i];
			controls |= b[i] < 0x20 && !text_char(b[i]);
		}
	return (n - m) * 4 < n && ((n - m) * 64 < n || !controls) &&
	       dp_utf8_invalid_at(s, m) + 3 >= m;
}

/* Whether c is a CJK or Hangul character or CJK punctuation. */
static int cjk_char(uint32_t c)
{
	return (c >= 0x3000 && c <= 0x30FF) || (c >= 0x3400 && c <= 0x4DBF) ||
	       (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xAC00 && c <= 0xD7AF) ||
	       (c >= 0xFF00 && c <= 0xFFEF) || (c >= 0x20000 && c <= 0x3FFFF);
}

const char *wide_cjk_hint(const char *text, size_t len)
{
	const unsigned char *b = (const unsigned char *)text;
	size_t n = (len < WIDE_SNIFF ? len : WIDE_SNIFF) & ~(size_t)1, high = 0;

	/* ASCII letter pairs read as UTF-16 are CJK: mostly ASCII is not. */
	for (size_t i = 0; i < n; i++)
		high += b[i] >= 0x80;
	if (high * 4 < n)
		return NULL;
	for (int be = 0; be <= 1; be++) {
		size_t units = 0, cjk = 0, i = 0;
		while (i < n) {
			uint32_t c;
			size_t k = char_at(b + i, n - i, 2, be, &c);
			if (k == 0 || !text_char(c))
				break;
			units++;
			cjk += cjk_char(c);
			i += k;
		}
		if (i >= n && units >= 8 && cjk * 10 >= units * 9)
			return be ? "UTF-16BE" : "UTF-16LE";
	}
	return NULL;
}

static void set_enc(wide_enc *e, size_t unit, int be, size_t bom)
{
	static const char *const names[2][2] = {{"UTF-16LE", "UTF-16BE"}, {"UTF-32LE", "UTF-32BE"}};
	e->name = names[unit == 4][be];
	e->how = bom > 0 ? "by its byte order mark" : "without a byte order mark";
	e->unit = unit;
	e->be = be;
	e->bom = bom;
}

int wide_detect(const char *text, size_t len, wide_enc *e)
{
	const unsigned char *b = (const unsigned char *)text;
	if (len >= 4 && memcmp(b, "\xFF\xFE\0\0", 4) == 0)
		set_enc(e, 4, 0, 4);
	else if (len >= 4 && memcmp(b, "\0\0\xFE\xFF", 4) == 0)
		set_enc(e, 4, 1, 4);
	else if (len >= 2 && memcmp(b, "\xFF\xFE", 2) == 0)
		set_enc(e, 2, 0, 2);
	else if (len >= 2 && memcmp(b, "\xFE\xFF", 2) == 0)
		set_enc(e, 2, 1, 2);
	else {
		size_t n = len < WIDE_SNIFF ? len : WIDE_SNIFF;
		if (memchr(b, '\0', n) == NULL || utf8_with_nuls(b, n))
			return 0;
		for (size_t unit = 4; unit >= 2; unit -= 2) {
			size_t m = n - n % unit;
			long le = sample_score(b, m, unit, 0), be = sample_score(b, m, unit, 1);
			if (le < 0 && be < 0)
				continue;
			set_enc(e, unit, be > le, 0);
			return 1;
		}
		return 0;
	}
	return 1;
}

int wide_decode(const wide_enc *e, const char *text, size_t len, char **out, size_t *out_len,
		dp_err *err)
{
	const unsigned char *b = (const unsigned char *)text;
	/* A UTF-16 unit gives at most 3 bytes, a pair 4; a UTF-32 unit 4. */
	char *o = malloc(len / 2 * 3 + 1);
	size_t n = 0, i = e->bom;

	if (o == NULL) {
		dp_err_set(err, "out of memory decoding %zu bytes of %s", len, e->name);
		return -1;
	}
	while (i < len) {
		uint32_t c = 0;
		size_t k = len - i >= e->unit ? char_at(b + i, len - i, e->unit, e->be, &c) : 0;
		if (k == 0 || (e->unit == 2 && k < 4 && c >= 0x10000) || c == 0) {
			dp_err_set(err, "%s text (%s): %s at byte %zu; docpipe decodes no guess", e->name,
				   e->how,
				   k == 0 && len - i < e->unit ? "it ends inside a character"
				   : c == 0 && k > 0      ? "a NUL character"
							  : "not a valid character",
				   i);
			free(o);
			return -1;
		}
		n += dp_utf8_put(o + n, c);
		i += k;
	}
	o[n] = '\0';
	*out = o;
	*out_len = n;
	return 0;
}

void wide_cursor_init(wide_cursor *c, const wide_enc *e, const char *utf8)
{
	*c = (wide_cursor){.e = e, .utf8 = utf8, .at = 0, .file = e->bom};
}

size_t wide_file_offset(wide_cursor *c, size_t off)
{
	if (off < c->at)
		wide_cursor_init(c, c->e, c->utf8);
	while (c->at < off) {
		unsigned char lead = (unsigned char)c->utf8[c->at];
		size_t k = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
		c->at += k;
		c->file += c->e->unit == 4 || k == 4 ? 4 : 2;
	}
	return c->file;
}
