/* Unit tests for docpipe-query: top-k heap, cosine, COPY rows, snippets. */
#include <string.h>

#include "../../src/store/pgbin.h"
#include "../../src/query/result.h"
#include "../../src/query/search.h"
#include "t.h"

static void test_topk(void)
{
	query_topk t;
	double scores[] = {0.1, 0.9, 0.5, 0.7, 0.3, 0.8};

	query_topk_init(&t, 3);
	for (int i = 0; i < 6; i++)
		query_topk_push(&t, (query_hit){.score = scores[i], .doc_id = i, .seq = 0});
	query_topk_sort(&t);
	T_EQ_INT(t.n, 3, "keeps k hits");
	T_OK(t.hits[0].doc_id == 1 && t.hits[1].doc_id == 5 && t.hits[2].doc_id == 3, "best three, best first");
	query_topk_free(&t);
}

static void test_cosine_and_rows(void)
{
	float q[2] = {1, 0}, v[2] = {3, 4}, out[2];

	T_OK(query_cosine(q, v, 2) > 0.5999 && query_cosine(q, v, 2) < 0.6001, "cosine with an unnormalized vector");
	/* A row as COPY TO (FORMAT binary) sends it: made with the store's encoder. */
	store_buf b;
	store_buf_init(&b, 1024);
	store_copy_row(&b, 3);
	store_field_i64(&b, 42);
	store_field_i32(&b, 7);
	store_field_float4_array(&b, v, 2);
	query_hit hit;
	dp_err err;
	T_EQ_INT(query_copy_row(b.data, b.len, &hit, out, 2, &err), 1, "row parsed");
	T_OK(hit.doc_id == 42 && hit.seq == 7 && out[0] == 3 && out[1] == 4, "row values");
	T_EQ_INT(query_copy_row(b.data, b.len, &hit, out, 3, &err), -1, "other dimension refused");
	T_OK(hit.doc_id == 42 && hit.seq == 7, "... the chunk named");
	T_EQ_STR(err.msg, "its stored vector has 2 values, the corpus's have 3", "... and its length");
	T_EQ_INT(query_copy_row(b.data, 10, &hit, out, 2, &err), -1, "a cut row refused");
	T_OK(hit.doc_id == -1, "... no chunk named");
	store_buf_free(&b);
}

static void test_snippet(void)
{
	jv s = query_snippet("  a\n\n b\tc  ", 100);
	T_EQ_STR(jv_string_value(s), "a b c", "whitespace collapsed");
	jv_free(s);
	s = query_snippet("h\xc3\xa9llo", 2);
	T_EQ_STR(jv_string_value(s), "h...", "cut on a code point boundary");
	jv_free(s);
	/* A long token before the term pushed it past the cut: the snippet
	 * showed no term (helper's fault sweep 6). */
	char text[400];
	memset(text, 'x', 200);
	strcpy(text + 200, " lead **term** after");
	s = query_snippet(text, 60);
	T_EQ_STR(jv_string_value(s), "...lead **term** after", "a term past the room: shown, from a space before it");
	jv_free(s);
	memset(text, 0, sizeof text);
	for (int i = 0; i < 100; i++)
		memcpy(text + 2 * i, "\xc3\xa9", 2); /* no space: a code point boundary */
	strcpy(text + 200, "**term**");
	s = query_snippet(text, 60);
	const char *got = jv_string_value(s);
	T_OK(strncmp(got, "...\xc3\xa9", 5) == 0 && strstr(got, "**term**") != NULL,
	     "after a token without spaces: cut on a code point, the term shown");
	jv_free(s);
	s = query_snippet("near **term** then a long tail", 20);
	T_EQ_STR(jv_string_value(s), "near **term** then a...", "a term within the room: from the start");
	jv_free(s);
}

int main(void)
{
	test_topk();
	test_cosine_and_rows();
	test_snippet();
	return t_done();
}
