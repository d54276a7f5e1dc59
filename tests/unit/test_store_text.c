/* The store's text pass (store_doc_parse_text): a document's vectors
 * decoded from its record's text, the rest parsed without them.  Every
 * record it takes must make the item the record's whole parse makes
 * (store_item_init), field for field (tests/fuzz/store_same.h), vectors
 * bit for bit; every record it declines is left untouched for that parse.
 * The fuzz target tests/fuzz/fuzz_store.c checks the same on any text. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/store/doc.h"
#include "../fuzz/store_same.h"
#include "record.h"
#include "t.h"
#include "vec.h"

/* A chunk's vector: value k of chunk c, or a zero vector (c < 0). */
static char *vec_text(int c, int dim)
{
	float *v = malloc((size_t)dim * sizeof *v);
	for (int k = 0; k < dim; k++)
		v[k] = c < 0 ? 0.0f : (float)(c * 10 + k) / 7.0f;
	jv s = dp_vec_encode(v, (size_t)dim);
	char *out = strdup(jv_string_value(s));
	jv_free(s);
	free(v);
	return out;
}

/* Checks that json is taken (or declined, taken 0) by the text pass and
 * that a taken one makes the item of the whole parse. */
static void same(const char *json, int taken, const char *what)
{
	char *text = strdup(json), name[1024];
	store_vecs vecs;
	dp_err err;

	memset(&vecs, 0, sizeof vecs);
	jv rec = store_doc_parse_text(text, strlen(text), &vecs);
	snprintf(name, sizeof name, "%s: %s", what, taken ? "taken" : "declined");
	T_EQ_INT(jv_is_valid(rec), taken, name);
	if (!jv_is_valid(rec)) {
		snprintf(name, sizeof name, "%s: the declined text untouched", what);
		T_OK(strcmp(text, json) == 0 && vecs.v == NULL, name);
		jv_free(rec);
		free(text);
		return;
	}
	store_item a, b;
	store_item_init_vecs(&a, rec, &vecs);
	store_item_init(&b, dp_record_parse(json, strlen(json), &err));
	int eq = vecs.v == NULL && vecs.has == NULL && store_same_item(&a, &b);
	snprintf(name, sizeof name, "%s: the whole parse's item (%.200s)", what,
		 a.kind == STORE_ITEM_DOCUMENT ? "a document" : a.reason);
	T_OK(eq, name);
	store_item_clear(&a);
	store_item_clear(&b);
	free(text);
}

/* Chunks of a document of dim 4: a text with at most one @V, and the
 * vector that goes there (vec_text's chunk, ZERO: all zeros, SHORT: one
 * of 3 dimensions). */
enum { ZERO = -1, SHORT = -2 };
static const struct {
	const char *fmt;
	int vec;
} chunk_of[] = {
	/* 0 */ {"{\"seq\":0,\"text\":\"zero\",\"vec\":\"@V\",\"start\":0,\"end\":4}", 0},
	/* 1 */ {"{\"seq\":1,\"text\":\"one\",\"heading\":[\"H\"],\"vec\":\"@V\",\"tokens\":2}", 1},
	/* 2 */ {"{\"seq\":2,\"vec\":\"@V\",\"text\":\"z\"}", ZERO},
	/* 3 */ {"{\"seq\":1,\"text\":\"n\",\"vec\":null}", 0},
	/* 4 */ {"{\"seq\":1,\"text\":\"n\"}", 0},
	/* 5 */ {"{\"seq\":1,\"vec\":\"AAAA\",\"text\":\"d\",\"vec\":\"@V\"}", 1},
	/* 6 */ {"{\"seq\":1,\"vec\":\"@V\",\"text\":\"d\",\"vec\":\"AAAA\"}", 1},
	/* 7 */ {"{\"seq\":1,\"text\":\"3\",\"vec\":\"@V\"}", SHORT},
	/* 8 */ {"{\"seq\":1,\"text\":\"b\",\"vec\":\"!!!!!!!!!!!!!!!!!!!!!!!!\"}", 0},
	/* 9: NaN's float32 bits, 0x7fc00000 little-endian, then three zeros */
	{"{\"seq\":1,\"text\":\"b\",\"vec\":\"AADAfwAAAAAAAAAAAAAAAA==\"}", 0},
	/* 10 */ {"{\"seq\":1,\"text\":\"b\",\"vec\":\"\"}", 0},
	/* 11 */ {"{\"seq\":0,\"text\":\"s\",\"vec\":\"@V\"}", 1},
	/* 12 */ {"{\"seq\":1,\"text\":\"\\ud800\",\"vec\":\"@V\"}", 1},
	/* 13 */ {"{\"seq\":1,\"text\":\"n\",\"vec\":5}", 0},
	/* 14 */ {"{\"seq\":1,\"text\":\"n\",\"vec\":\"\\/AAAAAAAAAAAAAAAAAAAAA==\"}", 0},
	/* 15 */ {" { \"seq\" : 1 , \"vec\" : \"@V\" , \"text\" : \"w\" } ", 1},
	/* 16 */ {"{\"seq\":1,\"text\":\"k\",\"v\\u0065c\":\"@V\"}", 1},
	/* 17 */ {"{\"seq\":0,\"text\":\"\\u00e9t\\u00e9 \\\"q\\\"\",\"vec\":\"@V\"}", 0},
	/* 18 */ {"[1]", 0},
};

/* Appends t to out[*at..size) with @V replaced by vec. */
static void put(char *out, size_t size, size_t *at, const char *t, const char *vec)
{
	const char *mark = strstr(t, "@V");
	int head = mark != NULL ? (int)(mark - t) : (int)strlen(t);

	*at += (size_t)snprintf(out + *at, size - *at, "%.*s%s%s", head, t, mark != NULL ? vec : "",
				mark != NULL ? mark + 2 : "");
}

/* A document record with head's members, its chunks chunk_of[c[i]] for
 * i < n (c ends at -1). */
static void doc(char *out, size_t size, const char *head, const int *c)
{
	size_t at = (size_t)snprintf(out, size, "{\"v\":1,\"kind\":\"document\",\"path\":\"/d/a.md\"%s,\"chunks\":[", head);
	for (size_t i = 0; c[i] >= 0; i++) {
		int v = chunk_of[c[i]].vec;
		char *vec = vec_text(v == ZERO ? -1 : v == SHORT ? 1 : v, v == SHORT ? 3 : 4);
		at += (size_t)snprintf(out + at, size - at, "%s", i > 0 ? "," : "");
		put(out, size, &at, chunk_of[c[i]].fmt, vec);
		free(vec);
	}
	snprintf(out + at, size - at, "],\"meta\":{\"m\":\"\\u00e9\"}}");
}

/* A record of 2 MB, 240 chunks at 1,536 dimensions: the pass gives its
 * text's pages back as it goes (a MiB at a time), and still makes the
 * whole parse's item; the last chunk's vector is wrong. */
static void test_big(void)
{
	size_t size = 3u << 20, at, before_last = 0;
	char *json = malloc(size);

	at = (size_t)snprintf(json, size, "{\"kind\":\"document\",\"path\":\"/d/big.md\",\"embedder\":\"e\",\"dim\":1536,\"chunks\":[");
	for (int c = 0; c < 240; c++) {
		char *v = vec_text(c, c < 239 ? 1536 : 1535);
		before_last = at;
		at += (size_t)snprintf(json + at, size - at, "%s{\"seq\":%d,\"text\":\"t%d\",\"vec\":\"%s\"}",
				       c > 0 ? "," : "", c, c, v);
		free(v);
	}
	snprintf(json + at, size - at, "]}");
	same(json, 1, "240 chunks at 1,536 dimensions, the last vector short");
	snprintf(json + before_last, size - before_last, "]}");
	same(json, 1, "239 chunks at 1,536 dimensions");
	free(json);
}

int main(void)
{
	static const char *const emb = ",\"embedder\":\"e\",\"dim\":4";
	static const struct {
		const char *what, *head;
		int chunks[4];
		int taken;
	} docs[] = {
		{"three chunks, one vector zero", NULL, {0, 1, 2, -1}, 1},
		{"escapes in a text, whitespace in a chunk", NULL, {17, 15, -1}, 1},
		{"a key \"vec\" written with an escape", NULL, {0, 16, -1}, 1},
		{"\"vec\" twice, the last right", NULL, {0, 5, -1}, 1},
		{"\"vec\" twice, the last short", NULL, {0, 6, -1}, 1},
		{"a vector null", NULL, {0, 3, -1}, 1},
		{"a vector missing", NULL, {0, 4, -1}, 1},
		{"a vector of 3 dimensions", NULL, {0, 7, -1}, 1},
		{"a vector that is no base64", NULL, {0, 8, -1}, 1},
		{"a vector holding NaN", NULL, {0, 9, -1}, 1},
		{"a vector empty", NULL, {0, 10, -1}, 1},
		{"a vector that is a number", NULL, {0, 13, -1}, 1},
		/* Found by fuzz_store: "null" in its place made the text without
		 * the vectors longer than the text, and its buffer (the text's
		 * size) overflowed: "out of memory" for the real reason. */
		{"the only vector a number, shorter than null", NULL, {13, -1}, 1},
		{"a vector with an escape", NULL, {0, 14, -1}, 1},
		{"a chunk that is no object", NULL, {0, 18, -1}, 1},
		{"a seq wrong before a vector wrong", NULL, {0, 11, 8, -1}, 1},
		{"a vector wrong before a seq wrong", NULL, {0, 8, 11, -1}, 1},
		{"\"dim\" without \"embedder\"", ",\"dim\":4", {0, 1, 2, -1}, 1},
		{"\"dim\" twice, the last not the vectors'", ",\"embedder\":\"e\",\"dim\":4,\"dim\":3", {0, 1, 2, -1}, 1},
		{"a document field wrong", ",\"embedder\":\"e\",\"dim\":4,\"size\":-1", {0, 1, 2, -1}, 1},
		{"no chunks", NULL, {-1}, 1},
		{"no \"dim\"", "", {0, 1, 2, -1}, 0},
		{"\"dim\" written with an escape", ",\"embedder\":\"e\",\"d\\u0069m\":4", {0, 1, 2, -1}, 0},
		{"\"dim\" no whole number", ",\"embedder\":\"e\",\"dim\":4.5", {0, 1, 2, -1}, 0},
		{"\"dim\" a string", ",\"embedder\":\"e\",\"dim\":\"4\"", {0, 1, 2, -1}, 0},
		{"a surrogate's escape", NULL, {0, 12, -1}, 0},
	};
	/* Whole records, chunk_of[0] in place of @V: all declined. */
	static const struct {
		const char *what, *fmt;
	} others[] = {
		{"another protocol version", "{\"v\":2,\"kind\":\"document\",\"dim\":4,\"chunks\":[@V]}"},
		{"a delete record", "{\"kind\":\"delete\",\"path\":\"/a\",\"dim\":4,\"chunks\":[]}"},
		{"text after the record", "{\"kind\":\"document\",\"dim\":4,\"chunks\":[@V]} x"},
		{"not JSON", "{\"kind\":\"document\",\"dim\":4,\"chunks\":[@V],}"},
		{"not UTF-8", "{\"kind\":\"document\",\"dim\":4,\"path\":\"\xff\",\"chunks\":[@V]}"},
		{"chunks no array", "{\"kind\":\"document\",\"dim\":4,\"chunks\":{}}"},
	};
	char json[8192], c0[256];

	for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
		doc(json, sizeof json, docs[i].head != NULL ? docs[i].head : emb, docs[i].chunks);
		same(json, docs[i].taken, docs[i].what);
	}
	char *v0 = vec_text(0, 4);
	size_t at = 0;
	put(c0, sizeof c0, &at, chunk_of[0].fmt, v0);
	free(v0);
	for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
		at = 0;
		put(json, sizeof json, &at, others[i].fmt, c0);
		same(json, 0, others[i].what);
	}
	test_big();
	return t_done();
}
