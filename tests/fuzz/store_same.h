/* Whether two store items are the same, field for field: what the store's
 * text pass (store_doc_parse_text, then store_item_init_vecs) must make of
 * a record it takes, against the record's whole parse (dp_record_parse,
 * then store_item_init).  Shared by tests/unit/test_store_text.c and the
 * fuzz target tests/fuzz/fuzz_store.c. */
#ifndef DOCPIPE_STORE_SAME_H
#define DOCPIPE_STORE_SAME_H

#include <stdio.h>
#include <string.h>

#include <jv.h>

#include "../../src/store/doc.h"

/* 1 when both strings are absent, or present with the same bytes. */
static inline int store_same_str(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

/* 1 when a and b (borrowed) are the same JSON: their sorted dumps equal
 * (not jv_equal, for which a NaN number differs from itself). */
static inline int store_same_json(jv a, jv b)
{
	jv x = jv_dump_string(jv_copy(a), JV_PRINT_SORTED), y = jv_dump_string(jv_copy(b), JV_PRINT_SORTED);
	int same = strcmp(jv_string_value(x), jv_string_value(y)) == 0;

	jv_free(x);
	jv_free(y);
	return same;
}

/* 1 when chunk x of a document of dim dimensions is chunk y: every field,
 * its vector bit for bit. */
static inline int store_same_chunk(const store_chunk *x, const store_chunk *y, int dim)
{
	return x->seq == y->seq && x->text_len == y->text_len && memcmp(x->text, y->text, x->text_len) == 0 &&
	       store_same_json(x->heading, y->heading) && x->tokens == y->tokens &&
	       (x->summary == NULL) == (y->summary == NULL) && x->summary_len == y->summary_len &&
	       (x->summary == NULL || memcmp(x->summary, y->summary, x->summary_len) == 0) &&
	       (x->vec == NULL) == (y->vec == NULL) &&
	       (x->vec == NULL || memcmp(x->vec, y->vec, (size_t)dim * sizeof(float)) == 0) &&
	       x->byte_start == y->byte_start && x->byte_end == y->byte_end &&
	       x->line_start == y->line_start && x->line_end == y->line_end &&
	       x->page_start == y->page_start && x->page_end == y->page_end && x->tsv_len == y->tsv_len;
}

/* 1 when the items a and b are the same: kind, outcome and reason, the
 * record, the bytes held, the receipt, and a document's every field and
 * chunk.  When they differ, says how on stderr. */
static inline int store_same_item(const store_item *a, const store_item *b)
{
	const store_doc *x = &a->doc, *y = &b->doc;
	int same = a->kind == b->kind && store_same_str(a->status, b->status) &&
		   store_same_str(a->fail_stage, b->fail_stage) && strcmp(a->reason, b->reason) == 0 &&
		   a->chunks == b->chunks && store_same_json(a->rec, b->rec) &&
		   store_item_held_bytes(a) == store_item_held_bytes(b);

	if (same) {
		jv ra = store_item_receipt(a), rb = store_item_receipt(b);
		same = store_same_json(ra, rb);
		jv_free(ra);
		jv_free(rb);
	}
	if (same && a->kind == STORE_ITEM_DOCUMENT) {
		same = store_same_str(x->path, y->path) && store_same_str(x->root, y->root) &&
		       store_same_str(x->hash, y->hash) && store_same_str(x->summary, y->summary) &&
		       store_same_str(x->summarizer, y->summarizer) && store_same_str(x->chunker, y->chunker) &&
		       store_same_str(x->embedder, y->embedder) && x->dim == y->dim &&
		       x->has_size == y->has_size && x->has_mtime == y->has_mtime &&
		       (!x->has_size || x->size == y->size) && (!x->has_mtime || x->mtime == y->mtime) &&
		       store_same_json(x->meta, y->meta) && strcmp(x->fingerprint, y->fingerprint) == 0 &&
		       x->nchunks == y->nchunks;
		for (size_t i = 0; same && i < x->nchunks; i++)
			same = store_same_chunk(&x->chunks[i], &y->chunks[i], x->dim);
	}
	if (!same)
		fprintf(stderr, "# text pass: kind %d \"%s\"; whole parse: kind %d \"%s\"\n", a->kind, a->reason,
			b->kind, b->reason);
	return same;
}

#endif
