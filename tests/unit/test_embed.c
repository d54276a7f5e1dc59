/* Unit tests for docpipe-embed with the local backend. */
#include <stdlib.h>

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
	T_EQ_INT((int)narrow, 16 + 2 * (DP_CHUNK_HELD_BYTES + 88), "16 dimensions: texts, overhead, 2 vectors of 88 bytes");
	held_bytes(3072, &wide, &text);
	T_EQ_INT((int)(wide - narrow), 2 * (16384 - 88), "3,072 dimensions: 2 vectors of 16,384 bytes base64 counted");
}

int main(void)
{
	test_local();
	test_held_bytes();
	return t_done();
}
