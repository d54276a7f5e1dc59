/* What the libFuzzer targets share (tests/fuzz/run-fuzz.sh builds them):
 * the check that traps, the input as a private NUL-terminated copy, and,
 * for the converter targets (fuzz_html, fuzz_zip), the one-time libxml2
 * set-up and the promises every converter's derived text keeps. */
#ifndef DOCPIPE_FUZZ_H
#define DOCPIPE_FUZZ_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

/* A broken promise is a crash libFuzzer reports with its input. */
#define CHECK(cond)                                                                \
	do {                                                                       \
		if (!(cond))                                                       \
			__builtin_trap();                                          \
	} while (0)

/* The len bytes at data as a malloc'ed copy with a NUL after them (a
 * private copy: the code under test may read only inside its input).
 * The caller frees it. */
static inline char *fuzz_copy(const uint8_t *data, size_t len)
{
	char *s = malloc(len + 1);

	CHECK(s != NULL);
	memcpy(s, data, len);
	s[len] = '\0';
	return s;
}

#ifdef DOCPIPE_FUZZ_CONVERTER
#include "../../src/chunk/convert.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	conv_global_init();
	return 0;
}

/* A converted document's derived text (o->text): valid UTF-8 without NUL
 * bytes.  Returns it ("" when nothing was written). */
static inline const char *fuzz_check_text(conv_out *o)
{
	const char *text = dp_buf_cstr(&o->text);

	CHECK(dp_utf8_invalid_at(text, o->text.len) == o->text.len);
	CHECK(memchr(text, '\0', o->text.len) == NULL);
	return text;
}
#endif

#endif
