/* libFuzzer target for the Jupyter notebook converter
 * (src/chunk/convert_ipynb.c: nbformat 4 JSON read with jv, front matter
 * in the first cell, code cells as fenced blocks, outputs), through
 * chunking and provenance as the chunk stage runs them.  Built and run by
 * tests/fuzz/run-fuzz.sh ipynb.
 *
 * The first input byte picks the options (cap, overlap, outputs kept);
 * the rest is the notebook, JSON that jscan.c takes whole (jq 1.6's parser
 * leaks on some malformed text: tests/fuzz/run-fuzz.sh; JSON only, this
 * target can check the converter's leaks).  Any input must not crash or
 * leak; the derived text must be valid UTF-8 without NUL bytes, marks in
 * order inside it, and every chunk must keep the chunker's promises. */
#define DOCPIPE_FUZZ_CONVERTER
#include "../../src/chunk/chunk_stage.h"
#include "fuzz.h"
#include "jscan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	chunk_opts opts = {.max_tokens = CHUNK_MIN_TOKENS + (data[0] & 0x3f)};
	opts.overlap = (data[0] >> 6 & 1) * opts.max_tokens / 4;
	conv_opts copts;
	conv_opts_default(&copts, 1 << 20);
	copts.notebook_outputs = data[0] >> 7;
	size_t len = size - 1;
	char *buf = fuzz_copy(data + 1, len);
	size_t end = 0;
	if (dp_jscan_value(buf, len, &end) < 0 || strspn(buf + end, " \t\r\n") != len - end) {
		free(buf);
		return 0;
	}

	conv_out o;
	dp_err err;
	chunk_doc doc;
	conv_out_init(&o);
	chunk_doc_init(&doc);
	if (conv_file(&o, CONV_IPYNB, NULL, "/f.ipynb", buf, len, &copts, &err) == 0) {
		const char *text = fuzz_check_text(&o);
		for (size_t i = 0; i < o.n_marks; i++) {
			CHECK(o.marks[i].off <= o.text.len && o.marks[i].loc < o.locs.len);
			CHECK(i == 0 || o.marks[i].off > o.marks[i - 1].off);
		}
		if (chunk_split(&doc, text, o.text.len, CHUNK_MARKDOWN, &opts, NULL, 0, &err) == 0) {
			for (size_t i = 0; i < doc.n_chunks; i++)
				CHECK(doc.chunks[i].tokens <= opts.max_tokens &&
				      doc.chunks[i].off + doc.chunks[i].len <= o.text.len);
			jv rec = chunk_document_derived(jv_object(), &doc, text, jv_copy(o.meta),
							"ipynb", "fuzz");
			rec = conv_provenance(rec, &doc, &o);
			CHECK(jv_get_kind(rec) == JV_KIND_OBJECT);
			jv_free(rec);
		}
	}
	chunk_doc_free(&doc);
	conv_out_free(&o);
	free(buf);
	return 0;
}
