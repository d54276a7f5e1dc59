/* UTF-8 at the level of one character: its length, its code point, its
 * encoding, and how a terminal is shown it.  The lowest module of the
 * library (it includes none): err's diagnostics and text's checks both
 * stand on it. */
#ifndef DP_UTF8_H
#define DP_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length of the valid UTF-8 sequence starting at s[0] (1..4), or 0.
 * Inline: the JSON escaper and the UTF-8 check call it for every
 * character that is not ASCII. */
static inline size_t dp_utf8_seq_len(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return avail >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF) {
		if (avail < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
			return 0;
		if (c == 0xE0 && s[1] < 0xA0)
			return 0; /* overlong */
		if (c == 0xED && s[1] >= 0xA0)
			return 0; /* surrogate */
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		if (avail < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 ||
		    (s[3] & 0xC0) != 0x80)
			return 0;
		if (c == 0xF0 && s[1] < 0x90)
			return 0; /* overlong */
		if (c == 0xF4 && s[1] >= 0x90)
			return 0; /* above U+10FFFF */
		return 4;
	}
	return 0;
}

/* Reads the valid UTF-8 sequence at s[0] (avail > 0 bytes): its code
 * point into *c.  Returns its length (1..4), or 0 (then *c is untouched). */
size_t dp_utf8_get(const char *s, size_t avail, uint32_t *c);

/* Writes code point c (at most 0x10FFFF, no surrogate: the caller's
 * check) as UTF-8 at out, which has room for 4 bytes.  Returns the bytes
 * written, 1-4. */
size_t dp_utf8_put(char *out, uint32_t c);

/* 1 when c is an invisible format character that can make a shown text
 * read as another ("Trojan Source", CVE-2021-42574): the bidi embeddings,
 * overrides and isolates (U+202A-202E, U+2066-2069), the marks LRM, RLM
 * and ALM, zero-width space, word joiner and invisible operators (U+2060-
 * 2064), deprecated format controls (U+206A-206F), soft hyphen, Mongolian
 * vowel separator, U+FEFF, interlinear annotation controls and the tag
 * characters (U+E0001, U+E0020-E007F: text hidden from the reader).  Not
 * ZWJ or ZWNJ (U+200C/D), which emoji and scripts such as Persian and the
 * Indic ones need and which reorder nothing. */
int dp_invisible_format(uint32_t c);

/* The most bytes dp_shown_char writes for one character, its NUL included
 * ("\U000e0001"). */
#define DP_SHOWN_MAX 12

/* What a terminal is shown for the character at s (avail bytes), so
 * that none acts on the terminal or makes the text read as another: a
 * control character (C0, DEL: ESC ] 0 ; ... BEL sets its title, ESC [ 2 J
 * clears it) and a byte that begins no valid UTF-8 sequence as "\xNN"; C1
 * (U+0080-009F) and the dp_invisible_format characters (a bidi override
 * makes a file name read backwards) as "\uNNNN", or "\UNNNNNNNN" above
 * U+FFFF; any other character as itself (a NUL is C0: "\\x00").  Fills
 * rep (NUL-terminated) and returns the bytes of s it stands for (1-4; 0
 * when avail is 0). */
size_t dp_shown_char(const char *s, size_t avail, char rep[DP_SHOWN_MAX]);

#endif
