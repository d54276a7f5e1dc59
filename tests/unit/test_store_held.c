/* store_item_held_bytes against what a store item really holds: the heap
 * bytes in use (glibc's mallinfo2) once the item is made and the record's
 * text freed, on both parses (the text pass, the whole parse).  The
 * feed's queue is bounded by the count (feed.h, STORE_QUEUE_BYTES), so it
 * must not be less than what is held, nor much more (it counted each
 * vector's base64 text beside its floats, gone once the item is made: a
 * queue of 1,536-dimension documents held half what it counted).  A
 * refused document counts nothing, and must hold next to nothing (it held
 * its record's chunks).  Release only: ASan's and TSan's allocators are
 * not glibc's. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/store/doc.h"
#include "record.h"
#include "t.h"
#include "vec.h"

#define DIM 1536
#define CHUNKS 40

/* The heap's bytes in use: in the arenas and mapped whole. */
static size_t in_use(void)
{
	struct mallinfo2 m = mallinfo2();

	return m.uordblks + m.hblkhd;
}

/* A document record of CHUNKS chunks as embed writes them (a 5 MB
 * Markdown file's: 1.2 KB of text, a heading of two titles, tokens, byte
 * and line ranges) with a vector of DIM dimensions each (first_seq: chunk
 * 0's seq, -1 to be refused), of kind kind. */
static char *record(int first_seq, const char *kind)
{
	jv chunks = jv_array();
	float v[DIM];
	char text[1200], title[72];

	for (int c = 0; c < CHUNKS; c++) {
		for (int k = 0; k < DIM; k++)
			v[k] = (float)((c * 31 + k) % 97 - 48) / 64.0f;
		for (size_t at = 0; at + 8 < sizeof text;)
			at += (size_t)snprintf(text + at, sizeof text - at, "w%d.%zu ", c, at);
		memset(title, 't', sizeof title - 1);
		title[sizeof title - 1] = '\0';
		jv chunk = jv_object_set(jv_object(), jv_string("seq"), jv_number(c > 0 ? c : first_seq));
		chunk = jv_object_set(chunk, jv_string("text"), jv_string(text));
		chunk = jv_object_set(chunk, jv_string("heading"),
				      jv_array_append(jv_array_append(jv_array(), jv_string(title)), jv_string(title)));
		chunk = jv_object_set(chunk, jv_string("tokens"), jv_number(300));
		chunk = jv_object_set(chunk, jv_string("start"), jv_number(c * 1200));
		chunk = jv_object_set(chunk, jv_string("end"), jv_number(c * 1200 + 1199));
		chunk = jv_object_set(chunk, jv_string("line_start"), jv_number(c * 30 + 1));
		chunk = jv_object_set(chunk, jv_string("line_end"), jv_number(c * 30 + 29));
		chunks = jv_array_append(chunks, jv_object_set(chunk, jv_string("vec"), dp_vec_encode(v, DIM)));
	}
	jv r = jv_object_set(jv_object(), jv_string("v"), jv_number(1));
	r = jv_object_set(r, jv_string("kind"), jv_string(kind));
	r = jv_object_set(r, jv_string("path"), jv_string("/held/a.md"));
	r = jv_object_set(r, jv_string("embedder"), jv_string("test/held"));
	r = jv_object_set(r, jv_string("dim"), jv_number(DIM));
	jv s = jv_dump_string(jv_object_set(r, jv_string("chunks"), chunks), 0);
	char *out = strdup(jv_string_value(s));
	jv_free(s);
	return out;
}

/* The item of json (text pass: through store_doc_parse_text) into item;
 * returns the heap bytes it holds once the text is freed. */
static size_t make_item(const char *json, int text_pass, store_item *item)
{
	size_t before = in_use();
	char *text = strdup(json);
	store_vecs vecs;
	dp_err err;

	memset(&vecs, 0, sizeof vecs);
	if (text_pass) {
		jv rec = store_doc_parse_text(text, strlen(text), &vecs);
		T_OK(jv_is_valid(rec), "the text pass takes the record");
		store_item_init_vecs(item, rec, &vecs);
	} else {
		store_item_init(item, dp_record_parse(text, strlen(text), &err));
	}
	free(text);
	return in_use() - before;
}

static void check(int text_pass)
{
	const char *how = text_pass ? "the text pass" : "the whole parse";
	char *json = record(0, "document"), name[256];
	store_item item;
	size_t held = make_item(json, text_pass, &item), counted = store_item_held_bytes(&item);

	snprintf(name, sizeof name, "%s: %d chunks at %d dimensions, counted %zu bytes, held %zu",
		 how, CHUNKS, DIM, counted, held);
	T_OK(item.kind == STORE_ITEM_DOCUMENT && counted >= held, name);
	snprintf(name, sizeof name, "%s: counted at most 1.25 times what is held (%.2f)", how,
		 (double)counted / (double)held);
	T_OK(counted * 4 <= held * 5, name);
	store_item_clear(&item);
	free(json);

	json = record(-1, "document");
	held = make_item(json, text_pass, &item);
	snprintf(name, sizeof name, "%s: a refused document counts nothing and holds its head only (%zu bytes)",
		 how, held);
	T_OK(item.kind == STORE_ITEM_FAILED && store_item_held_bytes(&item) == 0 && held < 4096, name);
	T_OK(strstr(item.reason, "\"seq\"") != NULL, "refused for its chunk's seq");
	store_item_clear(&item);
	free(json);
}

/* A record of a kind the store does not know, with the same chunks: a
 * failed item, which holds its record's head only. */
static void check_unknown_kind(void)
{
	char *json = record(0, "bogus"), name[256];
	store_item item;
	size_t held = make_item(json, 0, &item);

	snprintf(name, sizeof name, "a record of an unknown kind with chunks: failed, holds %zu bytes", held);
	T_OK(item.kind == STORE_ITEM_FAILED && store_item_held_bytes(&item) == 0 && held < 4096, name);
	store_item_clear(&item);
	free(json);
}

int main(void)
{
	dp_set_stage("test");
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	printf("ok 1 # SKIP the sanitizer's allocator is not glibc's: mallinfo2 does not see it\n1..1\n");
	return 0;
#endif
	check(1);
	check(0);
	check_unknown_kind();
	return t_done();
}
