/* libFuzzer target for the HTML converter (src/chunk/convert_html.c) and
 * the derived-Markdown writer it shares with every converter (convert.c),
 * through chunking and provenance as the chunk stage runs them.  Built and
 * run by tests/fuzz/run-fuzz.sh html.
 *
 * The first input byte picks the options (cap, overlap, drop list); the
 * rest is the page.  Any input must not crash or leak; the derived text
 * must be valid UTF-8 without NUL bytes, marks must be in order inside it,
 * every chunk must keep the chunker's promises, and a chunk's XPath
 * (xmlpath.c) must be libxml2's xmlGetNodePath. */
#define DOCPIPE_FUZZ_CONVERTER
#include "../../src/chunk/chunk_stage.h"
#include "../../src/chunk/xmlpath.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	chunk_opts opts = {.max_tokens = CHUNK_MIN_TOKENS + (data[0] & 0x3f)};
	opts.overlap = (data[0] >> 6) * opts.max_tokens / 6;
	opts.min_tokens = size % (opts.max_tokens + 1); /* merging of small sections too */
	conv_opts copts;
	conv_opts_default(&copts, 1 << 20);
	if (data[0] & 0x80)
		copts.n_drop = 0;
	size_t len = size - 1;
	char *buf = fuzz_copy(data + 1, len);

	conv_out o;
	dp_err err;
	chunk_doc doc;
	conv_out_init(&o);
	chunk_doc_init(&doc);
	if (conv_file(&o, CONV_HTML, NULL, "/f.html", buf, len, &copts, &err) == 0) {
		const char *text = fuzz_check_text(&o);
		for (size_t i = 0; i < o.n_marks; i++) {
			CHECK(o.marks[i].off <= o.text.len && o.marks[i].loc < o.locs.len);
			CHECK(i == 0 || o.marks[i].off > o.marks[i - 1].off);
			if (o.marks[i].node != NULL) {
				xmlChar *want = xmlGetNodePath((xmlNodePtr)o.marks[i].node);
				xmlChar *got = xml_node_path((xmlNodePtr)o.marks[i].node);
				CHECK(want != NULL && got != NULL && xmlStrcmp(want, got) == 0);
				xmlFree(want);
				xmlFree(got);
			}
		}
		if (chunk_split(&doc, text, o.text.len, CHUNK_MARKDOWN, &opts, NULL, 0, &err) == 0) {
			for (size_t i = 0; i < doc.n_chunks; i++)
				CHECK(doc.chunks[i].tokens <= opts.max_tokens &&
				      doc.chunks[i].off + doc.chunks[i].len <= o.text.len);
			jv rec = chunk_document_derived(jv_object(), &doc, text, jv_copy(o.meta),
							"html", "fuzz");
			rec = conv_provenance(rec, &doc, &o);
			CHECK(jv_get_kind(rec) == JV_KIND_OBJECT);
			/* Derived text: no byte ranges into the file. */
			jv c0 = jv_array_get(jv_object_get(jv_copy(rec), jv_string("chunks")), 0);
			CHECK(!jv_is_valid(c0) || !jv_object_has(c0, jv_string("start")));
			jv_free(rec);
		}
	}
	chunk_doc_free(&doc);
	conv_out_free(&o);
	free(buf);
	return 0;
}
