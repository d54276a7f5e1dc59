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
 * the pass takes must be one whose whole parse succeeds.  One taken input
 * in 64 goes through the pass again with a MiB and two pages of blanks
 * after the "[" of its chunks (the same record): the pass then gives the
 * text's pages back as it reads them (dp_jspan_give_back, a MiB at least,
 * zeros after), which must change nothing either.  Why so few: such an
 * input costs ~5 ms under ASan, 80 times another. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jscan.h"
#include "record.h"
#include "store_same.h"
#include "fuzz.h"

#define PAD ((1u << 20) + 8192)

/* The item of text[0..size) with PAD blanks after the "[" of its chunks
 * (dp_jscan_get's "chunks") through the text pass, compared with want
 * (the whole parse's item of the text). */
static void check_padded(const char *text, size_t size, const store_item *want)
{
	dp_jspan chunks;

	if (dp_jscan_get((dp_jspan){text, size}, dp_jspan_of("\"chunks\""), &chunks) != 1 || chunks.p[0] != '[')
		return;
	size_t head = (size_t)(chunks.p + 1 - text);
	char *big = malloc(size + PAD + 1);
	CHECK(big != NULL);
	memcpy(big, text, head);
	memset(big + head, ' ', PAD);
	memcpy(big + head + PAD, text + head, size - head);
	big[size + PAD] = '\0';
	store_vecs vecs;
	memset(&vecs, 0, sizeof vecs);
	jv rec = store_doc_parse_text(big, size + PAD, &vecs);
	CHECK(jv_is_valid(rec));
	store_item a;
	store_item_init_vecs(&a, rec, &vecs);
	CHECK(store_same_item(&a, want));
	store_item_clear(&a);
	free(big);
}

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
	if (data[size / 2] % 64 == 0)
		check_padded((const char *)data, size, &b);
	store_item_clear(&a);
	store_item_clear(&b);
	free(text);
	return 0;
}
