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

/* query_snippet on s (marks written \x02 and \x03 as ts_headline's), its
 * highlights as JSON. */
static jv snippet(const char *s, size_t max, char *places, size_t size)
{
	jv h;
	jv r = query_snippet(s, max, &h);
	jv text = jv_dump_string(h, 0);

	snprintf(places, size, "%s", jv_string_value(text));
	jv_free(text);
	return r;
}

static void test_snippet(void)
{
	char places[256];
	jv s = snippet("  a\n\n b\tc  ", 100, places, sizeof places);
	T_EQ_STR(jv_string_value(s), "a b c", "whitespace collapsed");
	T_EQ_STR(places, "[]", "... no highlight");
	jv_free(s);
	s = snippet("h\xc3\xa9llo", 2, places, sizeof places);
	T_EQ_STR(jv_string_value(s), "h...", "cut on a code point boundary");
	jv_free(s);
	/* A long token before the term pushed it past the cut: the snippet
	 * showed no term (helper's fault sweep 6). */
	char text[400];
	memset(text, 'x', 200);
	strcpy(text + 200, " lead \x02term\x03 after");
	s = snippet(text, 60, places, sizeof places);
	T_EQ_STR(jv_string_value(s), "...lead **term** after", "a term past the room: shown, from a space before it");
	T_EQ_STR(places, "[[10,14]]", "... its place in the snippet");
	jv_free(s);
	memset(text, 0, sizeof text);
	for (int i = 0; i < 100; i++)
		memcpy(text + 2 * i, "\xc3\xa9", 2); /* no space: a code point boundary */
	strcpy(text + 200, "\x02term\x03");
	s = snippet(text, 60, places, sizeof places);
	const char *got = jv_string_value(s);
	T_OK(strncmp(got, "...\xc3\xa9", 5) == 0 && strstr(got, "**term**") != NULL,
	     "after a token without spaces: cut on a code point, the term shown");
	jv_free(s);
	s = snippet("near \x02term\x03 then a long tail", 20, places, sizeof places);
	T_EQ_STR(jv_string_value(s), "near **term** then a...", "a term within the room: from the start");
	jv_free(s);
	/* The cut in a term, or in its marks, left a mark open or half
	 * ("... **alpha** *..."; session 61, h61c). */
	for (size_t max = 10; max <= 16; max++) {
		s = snippet("\x02" "alpha\x03 \x02" "alpha\x03 \x02" "alpha\x03", max, places, sizeof places);
		const char *t = jv_string_value(s);
		size_t stars = 0;
		for (const char *c = t; *c != '\0'; c++)
			stars += *c == '*';
		char name[96];
		snprintf(name, sizeof name, "cut at %zu (%s): every mark closed, within the room", max, t);
		T_OK(stars % 4 == 0 && strlen(t) <= max + 3 && strstr(t, "****") == NULL, name);
		jv_free(s);
	}
	s = snippet("\x02" "alpha\x03 \x02" "alpha\x03 \x02" "alpha\x03", 15, places, sizeof places);
	T_EQ_STR(jv_string_value(s), "**alpha** **a**...", "a term cut: closed");
	T_EQ_STR(places, "[[2,7],[12,13]]", "... its places");
	jv_free(s);
	s = snippet("\x02" "alpha\x03 \x02" "alpha\x03", 13, places, sizeof places);
	T_EQ_STR(jv_string_value(s), "**alpha**...", "no room for a term's first byte: left out");
	T_EQ_STR(places, "[[2,7]]", "... and not placed");
	jv_free(s);
	s = snippet("x \x02\xc3\xa9t\xc3\xa9\x03", 7, places, sizeof places);
	T_EQ_STR(jv_string_value(s), "x...", "a term whose first character does not fit: left out, no space");
	T_EQ_STR(places, "[]", "... not placed");
	jv_free(s);
	/* The document's own "**": text, told apart by the places. */
	s = snippet("**bold** and \x02term\x03", 100, places, sizeof places);
	T_EQ_STR(jv_string_value(s), "**bold** and **term**", "the document's own ** kept");
	T_EQ_STR(places, "[[15,19]]", "... only the term placed");
	jv_free(s);
}

int main(void)
{
	test_topk();
	test_cosine_and_rows();
	test_snippet();
	return t_done();
}
