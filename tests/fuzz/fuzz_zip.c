/* libFuzzer target for the ZIP-based converters: the bounded ZIP reader
 * (src/chunk/convert_zip.c), DOCX and ODT (convert_office.c) and EPUB
 * (convert_zip.c, through the HTML converter).  Built and run by
 * tests/fuzz/run-fuzz.sh zip.
 *
 * The first input byte picks the format; the rest is the container.  Any
 * input must not crash or leak, and a converted document's derived text
 * must be valid UTF-8 without NUL bytes. */
#define DOCPIPE_FUZZ_CONVERTER
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum conv_kind kinds[] = {CONV_DOCX, CONV_ODT, CONV_EPUB};
	if (size == 0)
		return 0;
	conv_opts copts;
	conv_opts_default(&copts, 1 << 20);
	size_t len = size - 1;
	char *buf = fuzz_copy(data + 1, len);

	conv_out o;
	dp_err err;
	conv_out_init(&o);
	if (conv_file(&o, kinds[data[0] % 3], NULL, "/f", buf, len, &copts, &err) == 0)
		fuzz_check_text(&o);
	conv_out_free(&o);
	free(buf);
	return 0;
}
