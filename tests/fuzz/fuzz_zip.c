/* libFuzzer target for the ZIP-based converters: the bounded ZIP reader
 * (src/chunk/convert_zip.c), DOCX and ODT (convert_office.c) and EPUB
 * (convert_zip.c, through the HTML converter).  Built and run by
 * tests/fuzz/run-fuzz.sh zip.
 *
 * The first input byte picks the format; the rest is the container.  Any
 * input must not crash or leak, and a converted document's derived text
 * must be valid UTF-8 without NUL bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/chunk/convert.h"
#include "text.h"

#define CHECK(cond)                                                                \
	do {                                                                       \
		if (!(cond))                                                       \
			__builtin_trap();                                          \
	} while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	conv_global_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum conv_kind kinds[] = {CONV_DOCX, CONV_ODT, CONV_EPUB};
	if (size == 0)
		return 0;
	conv_opts copts;
	conv_opts_default(&copts, 1 << 20);
	size_t len = size - 1;
	char *buf = malloc(len + 1);
	memcpy(buf, data + 1, len);
	buf[len] = '\0';

	conv_out o;
	dp_err err;
	conv_out_init(&o);
	if (conv_file(&o, kinds[data[0] % 3], NULL, "/f", buf, len, &copts, &err) == 0 &&
	    o.text.data != NULL) {
		CHECK(dp_utf8_invalid_at(o.text.data, o.text.len) == o.text.len);
		CHECK(memchr(o.text.data, '\0', o.text.len) == NULL);
	}
	conv_out_free(&o);
	free(buf);
	return 0;
}
