/* Unit tests for docpipe-embed with the local backend. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/embed/embed.h"
#include "record.h"
#include "t.h"
#include "vec.h"

static void test_local(void)
{
	dp_embedder_opts o = {.backend = "local", .dim = 16};
	dp_err err;
	embed_ctx ctx = {.embedder = dp_embedder_new(&o, &err)};
	jv rec = jv_parse("{\"kind\":\"document\",\"path\":\"/a\",\"chunks\":["
			  "{\"text\":\"hello world\",\"summary\":\"s\"},{\"text\":\"\"}]}");
	jv out = embed_process(&ctx, rec);
	float want[16], got[16];
	double dim;

	T_EQ_STR(dp_record_str(out, "embedder"), "local/fh-v1", "embedder identity");
	T_OK(dp_record_num(out, "dim", &dim) == 0 && dim == 16, "dim recorded");
	jv chunks = jv_object_get(jv_copy(out), jv_string("chunks"));
	jv v0 = jv_object_get(jv_array_get(jv_copy(chunks), 0), jv_string("vec"));
	T_EQ_INT(dp_vec_decode(v0, got, 16, &err), 0, "vec decodes");
	dp_embed_local("hello world", 11, want, 16);
	T_OK(memcmp(want, got, sizeof want) == 0, "vec is the text's local embedding (text only)");
	jv v1 = jv_object_get(jv_array_get(chunks, 1), jv_string("vec"));
	T_OK(dp_vec_decode(v1, got, 16, &err) == 0, "empty text has a vector too");
	jv_free(v0);
	jv_free(v1);
	jv_free(out);

	out = embed_process(&ctx, jv_parse("{\"kind\":\"document\",\"path\":\"/b\",\"chunks\":{}}"));
	T_EQ_STR(dp_record_str(out, "error"), "\"chunks\" is not an array", "bad chunks named");
	T_EQ_STR(dp_record_str(out, "stage"), "embed", "error from embed");
	jv_free(out);
	out = embed_process(&ctx, jv_parse("{\"kind\":\"document\",\"path\":\"/b\",\"chunks\":[7]}"));
	T_EQ_STR(dp_record_str(out, "error"), "chunks[0] is not an object", "bad chunk named");
	jv_free(out);
	dp_embedder_free(&ctx.embedder);
}

/* embed_doc_held_bytes: a document's texts (as JSON), DP_CHUNK_HELD_BYTES a
 * chunk and the vectors to come, counted from its admission, so the hold
 * (batch.h) is bounded with wide vectors too. */
static void held_bytes(int dim, size_t *bytes, size_t *text)
{
	dp_embedder_opts o = {.backend = "local", .dim = dim};
	dp_err err;
	embed_ctx ctx = {.embedder = dp_embedder_new(&o, &err)};
	embed_doc d;

	T_EQ_INT(embed_doc_prepare(&ctx, jv_parse("{\"kind\":\"document\",\"path\":\"/a\",\"chunks\":["
						  "{\"text\":\"hello \\\"you\\\"\"},{\"text\":\"abc\"}]}"),
				     &d, &err), 0, "document prepared");
	*bytes = embed_doc_held_bytes(&ctx, &d);
	*text = d.text_bytes;
	embed_doc_free(&d);
	dp_embedder_free(&ctx.embedder);
}

static void test_held_bytes(void)
{
	size_t narrow, wide, text;

	held_bytes(16, &narrow, &text);
	T_EQ_INT((int)text, 16, "texts counted as JSON (a quote escaped: 2 bytes)");
	T_EQ_INT((int)narrow, 16 + 2 * (DP_CHUNK_HELD_BYTES + 64), "16 dimensions: texts, overhead, 2 vectors of 16 float32s");
	held_bytes(3072, &wide, &text);
	T_EQ_INT((int)(wide - narrow), 2 * (12288 - 64), "3,072 dimensions: 2 vectors of 12,288 bytes (float32) counted");
}

/* json prepared (chunk `cut`, when >= 0, taken as cut to 2 bytes) with
 * its vectors, as docpipe-embed holds it before it writes it. */
static void prepared(embed_ctx *ctx, const char *json, int cut, embed_doc *d)
{
	dp_err err;

	T_EQ_INT(embed_doc_prepare(ctx, jv_parse(json), d, &err), 0, "document prepared");
	T_EQ_INT(embed_vectors_new(ctx, d->vecs, (size_t)d->n), 0, "room for its vectors");
	T_EQ_INT(dp_embedder_embed_each(ctx->embedder, d->texts, d->lens, (size_t)d->n, d->vecs, &err), 0,
		 "embedded where kept");
	if (cut >= 0)
		d->lens[cut] = 2;
}

/* The text embed_doc_put writes for json (prepared) through a stdout sink
 * of --max-record max (owned; *rc its return, *failed the records counted
 * failed). */
static char *put_text(embed_ctx *ctx, const char *json, int cut, size_t max, int *rc, unsigned long *failed)
{
	dp_io_opts o = {.max_record = max};
	dp_stage_counts counts = {0};
	dp_stage_io io;
	dp_err err;
	embed_doc d;
	FILE *tmp = tmpfile();
	int saved = dup(STDOUT_FILENO);

	prepared(ctx, json, cut, &d);
	fflush(stdout);
	if (tmp == NULL || saved < 0 || dup2(fileno(tmp), STDOUT_FILENO) < 0)
		abort();
	dp_sink *sink = dp_sink_open(NULL, &o, &err);
	dp_stage_io_init(&io, sink, &counts, "document");
	*rc = embed_doc_put(ctx, &d, NULL, &io);
	*failed = atomic_load(&counts.failed);
	dp_stage_io_destroy(&io);
	dp_sink_close(&sink, &err);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	long n = ftell(tmp);
	char *text = calloc(1, (size_t)(n > 0 ? n : 0) + 1);
	rewind(tmp);
	if (text == NULL || (n > 0 && fread(text, 1, (size_t)n, tmp) != (size_t)n))
		abort();
	fclose(tmp);
	return text;
}

/* The text of embed_doc_finish's record for json (prepared), as the sink
 * writes a record (owned). */
static char *finish_text(embed_ctx *ctx, const char *json, int cut)
{
	dp_json_buf b = {.max = 1u << 20};
	embed_doc d;
	dp_err err;

	prepared(ctx, json, cut, &d);
	jv rec = embed_doc_finish(ctx, &d, NULL);
	T_EQ_INT(dp_json_append(&b, rec, &err), 0, "finished record serialized");
	jv_free(rec);
	dp_json_put(&b, "\n", 1, &err);
	char *text = strdup(dp_buf_cstr(&b));
	dp_json_buf_free(&b);
	return text;
}

/* embed_doc_put writes, in pieces, the text embed_doc_finish's record had:
 * the same key order ("chunks" after the keys before it, "dim" replaced in
 * its place, "embedder" added last), vec_truncated where a text was cut,
 * a "vec" already there replaced in its place, base64 with padding (5
 * dimensions: 20 bytes); a document without chunks; a record over
 * --max-record goes out as its error record, counted failed. */
static void test_doc_put(void)
{
	dp_embedder_opts o = {.backend = "local", .dim = 5};
	dp_err err;
	embed_ctx ctx = {.embedder = dp_embedder_new(&o, &err)};
	const char *json = "{\"v\":1,\"kind\":\"document\",\"path\":\"/a\",\"chunks\":["
			   "{\"seq\":0,\"text\":\"hello \\\"world\\\"\",\"vec\":\"old\",\"x\":1},"
			   "{\"seq\":1,\"text\":\"second \\u00e9 text\"}],"
			   "\"meta\":{\"k\":\"v\"},\"dim\":3}";
	unsigned long failed;
	int rc;
	char *put = put_text(&ctx, json, 1, 0, &rc, &failed), *want = finish_text(&ctx, json, 1);

	T_EQ_INT(rc, 0, "written");
	T_EQ_STR(put, want, "the same text as the record built whole");
	const char *head = "{\"v\":1,\"kind\":\"document\",\"path\":\"/a\",\"meta\":{\"k\":\"v\"},\"dim\":5,"
			   "\"chunks\":[{\"seq\":0,\"text\":\"hello \\\"world\\\"\",\"vec\":\"";
	T_OK(strncmp(put, head, strlen(head)) == 0,
	     "keys in the record's order, chunks moved after the others, vec in its place");
	T_OK(strstr(put, "\"vec_truncated\":2,\"vec\":\"") != NULL, "vec_truncated where cut");
	T_OK(strstr(put, "=\",\"x\":1},{") != NULL, "a vector's base64 padded, the chunk's keys after it kept");
	size_t n = strlen(put);
	T_OK(n > 28 && strcmp(put + n - 28, "],\"embedder\":\"local/fh-v1\"}\n") == 0, "embedder last");
	free(put);
	free(want);

	json = "{\"v\":1,\"kind\":\"document\",\"path\":\"/e\",\"chunks\":[],\"meta\":{}}";
	put = put_text(&ctx, json, -1, 0, &rc, &failed);
	want = finish_text(&ctx, json, -1);
	T_EQ_STR(put, want, "no chunks: the same text");
	free(put);
	free(want);

	/* 2 x 300 bytes of text and 2 x 28 of vectors: 686 bytes as JSON; its
	 * error record fits in 600. */
	char big[800];
	snprintf(big, sizeof big, "{\"v\":1,\"kind\":\"document\",\"path\":\"/b\",\"chunks\":"
		 "[{\"text\":\"%1$300s\"},{\"text\":\"%1$300s\"}]}", "a");
	put = put_text(&ctx, big, -1, 600, &rc, &failed);
	T_EQ_INT(rc, 0, "over --max-record: written");
	T_OK(strstr(put, "\"kind\":\"error\"") != NULL && strstr(put, "\"path\":\"/b\"") != NULL &&
		     strstr(put, "JSON text over 600 bytes (--max-record 600") != NULL,
	     "as its error record, with the sink's words");
	T_EQ_INT((int)failed, 1, "counted failed");
	free(put);
	dp_embedder_free(&ctx.embedder);
}

int main(void)
{
	test_local();
	test_held_bytes();
	test_doc_put();
	return t_done();
}
