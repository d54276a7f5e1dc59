/* Text in UTF-16 or UTF-32 (Windows Notepad's "Unicode", Windows
 * PowerShell's '>', Excel's "Unicode Text", Java and .NET tools): told
 * from binary data, decoded to UTF-8 for the chunker, and the chunks'
 * byte ranges mapped back onto the file's own bytes (docs:
 * man/docpipe-chunk.1, "Encodings"). */
#ifndef DP_CHUNK_WIDE_H
#define DP_CHUNK_WIDE_H

#include <stddef.h>

#include "err.h"

typedef struct wide_enc {
	const char *name; /* "UTF-16LE", "UTF-16BE", "UTF-32LE", "UTF-32BE" */
	const char *how;  /* "by its byte order mark" or "without a byte order mark" */
	size_t unit;      /* 2 or 4 */
	int be;           /* big-endian */
	size_t bom;       /* bytes of byte order mark the file starts with */
} wide_enc;

/* Whether text[0..len) (a whole file) is UTF-16 or UTF-32 text: by a byte
 * order mark, or without one by its first WIDE_SNIFF bytes, which must
 * hold a zero byte (text in an 8-bit encoding has none, and ASCII read as
 * UTF-16 is CJK) and read in one of the encodings as 4 code units at least
 * (UTF-32; 8 for UTF-16), every one a valid character (surrogates paired)
 * that is no NUL, no control character but tab, LF, FF and CR, nor
 * U+FFFE/U+FFFF, and 9 in 10 of them in the blocks of living scripts,
 * punctuation and symbols; for UTF-16, zero high bytes (Latin characters:
 * newlines, spaces) in 2 + 1/128 of the units at least and zero low bytes
 * in at most 1/64; and not UTF-8 once its zero bytes, fewer than 1 in 4,
 * are taken out, either rare or with no control byte left (a UTF-8 file
 * with stray NULs: ASCII read as UTF-16 is CJK, and such a file was
 * decoded as CJK gibberish).  Random and binary data fail at once: its zero
 * bytes make NULs and controls, its other bytes unpaired surrogates and
 * unassigned blocks.  Text with no zero byte (UTF-16 CJK without a space
 * or newline) is not told: Latin-1 or ASCII read as UTF-16 is CJK too.
 * Of two readings that pass, the one with more ASCII wins, then the
 * little-endian one.  Returns 1 and fills *e, or 0. */
int wide_detect(const char *text, size_t len, wide_enc *e);

/* "UTF-16LE" or "UTF-16BE" when the first WIDE_SNIFF bytes of text (not
 * UTF-8, not told by wide_detect) read in it as 8 characters at least,
 * each valid, no NUL or control but tab and line ends, 9 in 10 CJK or
 * Hangul, and a quarter of the bytes at least are 0x80-0xFF (ASCII letter
 * pairs read as UTF-16 are CJK: Latin-1 text is not hinted so); else NULL.  A hint for the refusal, never a decoding: Shift JIS
 * and EUC-KR text without ASCII reads so too (of 142 such texts of the
 * chardet test files, 50 read as UTF-16BE with 99.5% CJK or Hangul), and
 * CJK in UTF-16 without a Latin character or newline has no zero byte to
 * tell it by (docs/PERFORMANCE.md). */
const char *wide_cjk_hint(const char *text, size_t len);

/* Decodes text[0..len) in e's encoding (after its byte order mark) into a
 * malloc'ed NUL-terminated UTF-8 *out of *out_len bytes.  Returns 0, or -1
 * with err naming the encoding and the byte that cannot be read (a lone
 * surrogate, a NUL character, a truncated last unit, a value past
 * U+10FFFF): nothing is decoded by a guess. */
int wide_decode(const wide_enc *e, const char *text, size_t len, char **out, size_t *out_len,
		dp_err *err);

/* Maps offsets of the decoded text utf8 (on character boundaries, mostly
 * increasing) to offsets in the file. */
typedef struct wide_cursor {
	const wide_enc *e;
	const char *utf8;
	size_t at, file; /* utf8 offset at and the file offset it decodes from */
} wide_cursor;

void wide_cursor_init(wide_cursor *c, const wide_enc *e, const char *utf8);
size_t wide_file_offset(wide_cursor *c, size_t off);

#endif
