/* Unit tests for docpipe-summarize's local backend. */
#include <stdlib.h>

#include "../../src/summarize/extractive.h"
#include "record.h"
#include "../../src/summarize/summarize.h"
#include "t.h"

static void test_stopwords(void)
{
	T_OK(extractive_is_stopword("the", 3), "'the' is a stopword");
	T_OK(extractive_is_stopword("your", 4), "'your' is a stopword");
	T_OK(!extractive_is_stopword("pipeline", 8), "'pipeline' is not");
	T_OK(!extractive_is_stopword("averyveryverylongword", 21), "long words are not");
}

static void test_summary(void)
{
	const char doc[] =
		"# Title\n\nThe pipeline stores documents in PostgreSQL. Cats sleep.\n\n"
		"```\nthe pipeline pipeline pipeline documents documents in code.\n```\n\n"
		"| pipeline | documents |\n|---|---|\n\n"
		"Later the pipeline embeds documents and stores vectors. A cat or a dog rarely runs.\n";
	extractive *x = extractive_new();
	char out[EXTRACTIVE_SUMMARY_MAX + 1];
	char cs[EXTRACTIVE_CHUNK_MAX + 1];
	const char *heading[] = {"Title", "Part"};

	T_EQ_INT(extractive_add(x, 0, doc, sizeof doc - 1), 0, "add chunk");
	extractive_summary(x, out);
	T_OK(strstr(out, "The pipeline stores documents in PostgreSQL.") != NULL,
	     "summary has the key sentence");
	T_OK(strstr(out, "code") == NULL, "code fences are skipped");
	T_OK(strstr(out, "|") == NULL && strstr(out, "#") == NULL, "markup is dropped");
	T_OK(strstr(out, "Cats sleep") == NULL, "short fragments are not candidates");
	T_OK(strlen(out) <= EXTRACTIVE_SUMMARY_MAX, "summary within its maximum");
	T_OK(strstr(out, "The pipeline stores") < strstr(out, "Later the pipeline"),
	     "sentences in document order");
	extractive_chunk_summary(x, 0, heading, 2, cs);
	T_OK(strncmp(cs, "Title > Part: ", 14) == 0, "chunk summary starts with its heading path");
	extractive_free(&x);

	x = extractive_new();
	extractive_add(x, 0, "```\nonly code here and nothing else at all\n```\n", 47);
	extractive_summary(x, out);
	T_EQ_STR(out, "", "no prose, empty summary");
	extractive_free(&x);
}

static void test_long_document(void)
{
	size_t n = 200000;
	char *big = malloc(n + 1);
	extractive *x = extractive_new();
	char out[EXTRACTIVE_SUMMARY_MAX + 1];

	for (size_t i = 0; i < n; i++)
		big[i] = "alpha beta gamma delta. "[i % 24];
	big[n] = '\0';
	extractive_add(x, 0, big, n);
	extractive_summary(x, out);
	T_OK(strlen(out) > 0 && strlen(out) <= EXTRACTIVE_SUMMARY_MAX, "long document summarized in bounds");
	extractive_free(&x);
	free(big);
}

static void test_process(void)
{
	summarize_ctx ctx = {.chunk_summaries = 1};
	jv rec = jv_parse("{\"v\":1,\"kind\":\"document\",\"path\":\"/a\",\"x\":7,\"chunks\":["
			  "{\"text\":\"Vectors are stored as float arrays in the table.\",\"heading\":[\"A\"]},"
			  "{\"text\":\"Queries rank chunks by cosine similarity of vectors.\",\"heading\":[]}]}");
	jv out = summarize_process(&ctx, rec);

	T_EQ_STR(dp_record_str(out, "summarizer"), "local/extractive-v1", "summarizer identity");
	T_OK(dp_record_str(out, "summary") != NULL, "summary set");
	double x;
	T_OK(dp_record_num(out, "x", &x) == 0 && x == 7, "other fields kept");
	jv c0 = jv_array_get(jv_object_get(jv_copy(out), jv_string("chunks")), 0);
	T_EQ_STR(dp_record_str(c0, "summary"), "A: Vectors are stored as float arrays in the table.",
		 "chunk summary");
	jv_free(c0);
	jv_free(out);

	out = summarize_process(&ctx, jv_parse("{\"kind\":\"document\",\"path\":\"/b\"}"));
	T_EQ_STR(dp_record_kind(out), "error", "missing chunks is an error record");
	T_EQ_STR(dp_record_str(out, "error"), "record has no \"chunks\" array", "error names the field");
	T_EQ_STR(dp_record_str(out, "path"), "/b", "error keeps the path");
	jv_free(out);
	out = summarize_process(&ctx, jv_parse("{\"kind\":\"document\",\"chunks\":[{\"text\":\"a\"},{\"text\":null}]}"));
	T_EQ_STR(dp_record_str(out, "error"), "chunks[1].text is not a string", "bad text named");
	jv_free(out);
}

int main(void)
{
	test_stopwords();
	test_summary();
	test_long_document();
	test_process();
	return t_done();
}
