/* libFuzzer target for the store's text pass (src/store/doc.c:
 * store_doc_parse_text, which decodes a document's vectors from its
 * record's text before the rest is parsed), against the whole parse it
 * stands for.  Built and run by tests/fuzz/run-fuzz.sh store.
 *
 * The input is one record's text.  Any input must not crash or read
 * outside it; the pass must either decline it, the text untouched and
 * nothing taken, or make of it the store item the whole parse makes
 * (dp_record_parse, then store_item_init): the same outcome and message,
 * record, fields and chunks, vectors bit for bit (store_same.h).  A text
 * the pass takes must be one whose whole parse succeeds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "store_same.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_copy(data, size);
	store_vecs vecs;
	dp_err err;

	memset(&vecs, 0, sizeof vecs);
	jv rec = store_doc_parse_text(text, size, &vecs);
	if (!jv_is_valid(rec)) {
		CHECK(memcmp(text, data, size) == 0);
		CHECK(vecs.v == NULL && vecs.has == NULL);
		jv_free(rec);
		free(text);
		return 0;
	}
	jv whole = dp_record_parse((const char *)data, size, &err);
	CHECK(jv_is_valid(whole));
	store_item a, b;
	store_item_init_vecs(&a, rec, &vecs);
	CHECK(vecs.v == NULL && vecs.has == NULL);
	store_item_init(&b, whole);
	CHECK(store_same_item(&a, &b));
	store_item_clear(&a);
	store_item_clear(&b);
	free(text);
	return 0;
}
