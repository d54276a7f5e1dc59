/* The store's text pass (store_doc_parse_text): a document's vectors
 * decoded from its record's text, the rest parsed without them.  Every
 * record it takes must make the item the record's whole parse makes
 * (store_item_init), outcome and message, vectors and record, byte for
 * byte; every record it declines is left untouched for that parse. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/store/doc.h"
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
	int eq = a.kind == b.kind && strcmp(a.reason, b.reason) == 0 &&
		 (a.status == NULL) == (b.status == NULL) && vecs.v == NULL && vecs.has == NULL;
	if (eq && a.kind == STORE_ITEM_DOCUMENT) {
		const store_doc *x = &a.doc, *y = &b.doc;
		eq = x->nchunks == y->nchunks && x->dim == y->dim &&
		     jv_equal(jv_copy(a.rec), jv_copy(b.rec));
		for (size_t i = 0; eq && i < x->nchunks; i++)
			eq = (x->chunks[i].vec == NULL) == (y->chunks[i].vec == NULL) &&
			     x->chunks[i].text_len == y->chunks[i].text_len &&
			     memcmp(x->chunks[i].text, y->chunks[i].text, x->chunks[i].text_len) == 0 &&
			     (x->chunks[i].vec == NULL ||
			      memcmp(x->chunks[i].vec, y->chunks[i].vec, (size_t)x->dim * sizeof(float)) == 0);
	}
	snprintf(name, sizeof name, "%s: the whole parse's item (%.200s)", what,
		 a.kind == STORE_ITEM_DOCUMENT ? "a document" : a.reason);
	T_OK(eq, name);
	if (!eq)
		fprintf(stderr, "# text pass: kind %d \"%s\"; whole parse: kind %d \"%s\"\n", a.kind, a.reason,
			b.kind, b.reason);
	store_item_clear(&a);
	store_item_clear(&b);
	free(text);
}

/* A document record of dim 4 whose chunks are chunk[0..n) (texts). */
static void doc(char *out, size_t size, const char *head, const char *const *chunk, size_t n)
{
	size_t at = (size_t)snprintf(out, size, "{\"v\":1,\"kind\":\"document\",\"path\":\"/d/a.md\"%s,\"chunks\":[", head);
	for (size_t i = 0; i < n; i++)
		at += (size_t)snprintf(out + at, size - at, "%s%s", i > 0 ? "," : "", chunk[i]);
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
	char *v0 = vec_text(0, 4), *v1 = vec_text(1, 4), *z = vec_text(-1, 4), *v3 = vec_text(1, 3);
	char c0[256], c1[256], c0b[256], cz[256], cnull[256], cnone[256], cdup[256], cdup2[256], c3[256],
		cbad[256], cnan[256], cempty[256], cseq[256], cesc[256], cnum[256], cslash[256], cws[256],
		ckey[256];
	char json[8192];
	static const char *const emb = ",\"embedder\":\"e\",\"dim\":4";

	snprintf(c0, sizeof c0, "{\"seq\":0,\"text\":\"zero\",\"vec\":\"%s\",\"start\":0,\"end\":4}", v0);
	snprintf(c1, sizeof c1, "{\"seq\":1,\"text\":\"one\",\"heading\":[\"H\"],\"vec\":\"%s\",\"tokens\":2}", v1);
	snprintf(cz, sizeof cz, "{\"seq\":2,\"vec\":\"%s\",\"text\":\"z\"}", z);
	snprintf(cnull, sizeof cnull, "{\"seq\":1,\"text\":\"n\",\"vec\":null}");
	snprintf(cnone, sizeof cnone, "{\"seq\":1,\"text\":\"n\"}");
	snprintf(cdup, sizeof cdup, "{\"seq\":1,\"vec\":\"AAAA\",\"text\":\"d\",\"vec\":\"%s\"}", v1);
	snprintf(cdup2, sizeof cdup2, "{\"seq\":1,\"vec\":\"%s\",\"text\":\"d\",\"vec\":\"AAAA\"}", v1);
	snprintf(c3, sizeof c3, "{\"seq\":1,\"text\":\"3\",\"vec\":\"%s\"}", v3);
	snprintf(cbad, sizeof cbad, "{\"seq\":1,\"text\":\"b\",\"vec\":\"!!!!!!!!!!!!!!!!!!!!!!!!\"}");
	/* NaN's float32 bits, 0x7fc00000 little-endian, then three zeros. */
	snprintf(cnan, sizeof cnan, "{\"seq\":1,\"text\":\"b\",\"vec\":\"AADAfwAAAAAAAAAAAAAAAA==\"}");
	snprintf(cempty, sizeof cempty, "{\"seq\":1,\"text\":\"b\",\"vec\":\"\"}");
	snprintf(cseq, sizeof cseq, "{\"seq\":0,\"text\":\"s\",\"vec\":\"%s\"}", v1);
	snprintf(cesc, sizeof cesc, "{\"seq\":1,\"text\":\"\\ud800\",\"vec\":\"%s\"}", v1);
	snprintf(cnum, sizeof cnum, "{\"seq\":1,\"text\":\"n\",\"vec\":5}");
	snprintf(cslash, sizeof cslash, "{\"seq\":1,\"text\":\"n\",\"vec\":\"\\/AAAAAAAAAAAAAAAAAAAAA==\"}");
	snprintf(cws, sizeof cws, " { \"seq\" : 1 , \"vec\" : \"%s\" , \"text\" : \"w\" } ", v1);
	snprintf(ckey, sizeof ckey, "{\"seq\":1,\"text\":\"k\",\"v\\u0065c\":\"%s\"}", v1);
	snprintf(c0b, sizeof c0b, "{\"seq\":0,\"text\":\"\\u00e9t\\u00e9 \\\"q\\\"\",\"vec\":\"%s\"}", v0);

	const char *ok[] = {c0, c1, cz};
	doc(json, sizeof json, emb, ok, 3);
	same(json, 1, "three chunks, one vector zero");
	doc(json, sizeof json, emb, (const char *[]){c0b, cws}, 2);
	same(json, 1, "escapes in a text, whitespace in a chunk");
	doc(json, sizeof json, emb, (const char *[]){c0, ckey}, 2);
	same(json, 1, "a key \"vec\" written with an escape");
	doc(json, sizeof json, emb, (const char *[]){c0, cdup}, 2);
	same(json, 1, "\"vec\" twice, the last right");
	doc(json, sizeof json, emb, (const char *[]){c0, cdup2}, 2);
	same(json, 1, "\"vec\" twice, the last short");
	doc(json, sizeof json, emb, (const char *[]){c0, cnull}, 2);
	same(json, 1, "a vector null");
	doc(json, sizeof json, emb, (const char *[]){c0, cnone}, 2);
	same(json, 1, "a vector missing");
	doc(json, sizeof json, emb, (const char *[]){c0, c3}, 2);
	same(json, 1, "a vector of 3 dimensions");
	doc(json, sizeof json, emb, (const char *[]){c0, cbad}, 2);
	same(json, 1, "a vector that is no base64");
	doc(json, sizeof json, emb, (const char *[]){c0, cnan}, 2);
	same(json, 1, "a vector holding NaN");
	doc(json, sizeof json, emb, (const char *[]){c0, cempty}, 2);
	same(json, 1, "a vector empty");
	doc(json, sizeof json, emb, (const char *[]){c0, cseq, cbad}, 3);
	same(json, 1, "a seq wrong before a vector wrong");
	doc(json, sizeof json, emb, (const char *[]){c0, cbad, cseq}, 3);
	same(json, 1, "a vector wrong before a seq wrong");
	doc(json, sizeof json, ",\"dim\":4", ok, 3);
	same(json, 1, "\"dim\" without \"embedder\"");
	doc(json, sizeof json, ",\"embedder\":\"e\",\"dim\":4,\"dim\":3", ok, 3);
	same(json, 1, "\"dim\" twice, the last not the vectors'");
	doc(json, sizeof json, ",\"embedder\":\"e\",\"dim\":4,\"size\":-1", ok, 3);
	same(json, 1, "a document field wrong");
	doc(json, sizeof json, emb, (const char *[]){NULL}, 0);
	same(json, 1, "no chunks");

	doc(json, sizeof json, "", ok, 3);
	same(json, 0, "no \"dim\"");
	doc(json, sizeof json, ",\"embedder\":\"e\",\"d\\u0069m\":4", ok, 3);
	same(json, 0, "\"dim\" written with an escape");
	doc(json, sizeof json, ",\"embedder\":\"e\",\"dim\":4.5", ok, 3);
	same(json, 0, "\"dim\" no whole number");
	doc(json, sizeof json, ",\"embedder\":\"e\",\"dim\":\"4\"", ok, 3);
	same(json, 0, "\"dim\" a string");
	doc(json, sizeof json, emb, (const char *[]){c0, cnum}, 2);
	same(json, 1, "a vector that is a number");
	doc(json, sizeof json, emb, (const char *[]){c0, cslash}, 2);
	same(json, 1, "a vector with an escape");
	doc(json, sizeof json, emb, (const char *[]){c0, cesc}, 2);
	same(json, 0, "a surrogate's escape");
	doc(json, sizeof json, emb, (const char *[]){c0, "[1]"}, 2);
	same(json, 1, "a chunk that is no object");
	snprintf(json, sizeof json, "{\"v\":2,\"kind\":\"document\",\"dim\":4,\"chunks\":[%s]}", c0);
	same(json, 0, "another protocol version");
	snprintf(json, sizeof json, "{\"kind\":\"delete\",\"path\":\"/a\",\"dim\":4,\"chunks\":[]}");
	same(json, 0, "a delete record");
	snprintf(json, sizeof json, "{\"kind\":\"document\",\"dim\":4,\"chunks\":[%s]} x", c0);
	same(json, 0, "text after the record");
	snprintf(json, sizeof json, "{\"kind\":\"document\",\"dim\":4,\"chunks\":[%s],}", c0);
	same(json, 0, "not JSON");
	snprintf(json, sizeof json, "{\"kind\":\"document\",\"dim\":4,\"path\":\"\xff\",\"chunks\":[%s]}", c0);
	same(json, 0, "not UTF-8");
	snprintf(json, sizeof json, "{\"kind\":\"document\",\"dim\":4,\"chunks\":{}}");
	same(json, 0, "chunks no array");

	free(v0), free(v1), free(z), free(v3);
	test_big();
	return t_done();
}
