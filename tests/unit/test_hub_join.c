/* The hub's join of summarize and embed (src/hub/join.c): the merge of two
 * branch outputs, and the state of one document between them. */
#include <string.h>

#include "../../src/hub/hub.h"
#include "record.h"
#include "t.h"

static jv rec_of(const char *json)
{
	dp_err err;
	return dp_record_parse(json, strlen(json), &err);
}

/* hub_join_take of json as it comes from a branch: the message and its
 * parse. */
static jv take(hub_join *j, int from, const char *json)
{
	zmq_msg_t msg;

	zmq_msg_init_size(&msg, strlen(json));
	memcpy(zmq_msg_data(&msg), json, strlen(json));
	return hub_join_take(j, from, rec_of(json), &msg);
}

/* The compact JSON of rec (consumed), in a static buffer. */
static const char *text_of(jv rec)
{
	static char buf[2048];
	jv s = jv_dump_string(rec, JV_PRINT_SORTED);

	snprintf(buf, sizeof buf, "%s", jv_string_value(s));
	jv_free(s);
	return buf;
}

#define SUM                                                                                        \
	"{\"kind\":\"document\",\"run\":\"R\",\"seq\":3,\"path\":\"/a.md\",\"hash\":\"h1\","       \
	"\"chunker\":\"c\",\"summary\":\"S\",\"summarizer\":\"api\",\"meta\":{\"t\":1},"           \
	"\"chunks\":[{\"seq\":0,\"text\":\"x\",\"summary\":\"s0\"},"                             \
	"{\"seq\":1,\"text\":\"y\",\"summary\":\"s1\"}]}"
#define EMB                                                                                        \
	"{\"kind\":\"document\",\"run\":\"R\",\"seq\":3,\"path\":\"/a.md\",\"hash\":\"h1\","       \
	"\"chunker\":\"c\",\"embedder\":\"e\",\"dim\":2,\"meta\":{\"t\":2},"                       \
	"\"chunks\":[{\"seq\":0,\"text\":\"x\",\"vec\":\"v0\"},{\"seq\":1,\"text\":\"y\",\"vec\":\"v1\"}]}"
#define MERGED                                                                                     \
	"{\"chunker\":\"c\",\"chunks\":[{\"seq\":0,\"summary\":\"s0\",\"text\":\"x\",\"vec\":\"v0\"},"  \
	"{\"seq\":1,\"summary\":\"s1\",\"text\":\"y\",\"vec\":\"v1\"}],\"dim\":2,\"embedder\":\"e\","  \
	"\"hash\":\"h1\",\"kind\":\"document\",\"meta\":{\"t\":1},\"path\":\"/a.md\",\"run\":\"R\","   \
	"\"seq\":3,\"summarizer\":\"api\",\"summary\":\"S\"}"

static void test_merge(void)
{
	dp_err err;
	jv m = hub_join_merge(rec_of(SUM), rec_of(EMB), &err);

	T_EQ_STR(text_of(m), MERGED,
		 "merge: summaries and vectors, per chunk and top level; a key both have keeps "
		 "the summarize branch's");
	m = hub_join_merge(rec_of(SUM), rec_of("{\"kind\":\"document\",\"hash\":\"h2\",\"chunker\":\"c\","
					       "\"chunks\":[{\"seq\":0},{\"seq\":1}]}"),
			   &err);
	T_OK(!jv_is_valid(m), "another hash: no merge");
	jv_free(m);
	m = hub_join_merge(rec_of(SUM), rec_of("{\"kind\":\"document\",\"hash\":\"h1\",\"chunker\":\"c\","
					       "\"chunks\":[{\"seq\":0}]}"),
			   &err);
	T_OK(!jv_is_valid(m), "another chunk count: no merge");
	T_EQ_STR(err.msg, "summarize and embed disagree on the document's chunks", "says why");
	jv_free(m);
	m = hub_join_merge(rec_of(SUM), rec_of("{\"kind\":\"document\",\"hash\":\"h1\",\"chunker\":\"c\","
					       "\"chunks\":[{\"seq\":0},{\"seq\":7}]}"),
			   &err);
	T_OK(!jv_is_valid(m), "a chunk's seq differs: no merge");
	jv_free(m);
	m = hub_join_merge(rec_of("{\"kind\":\"document\",\"hash\":\"h\",\"chunks\":[]}"),
			   rec_of("{\"kind\":\"document\",\"hash\":\"h\",\"chunks\":[],\"dim\":2}"), &err);
	T_EQ_STR(text_of(m), "{\"chunks\":[],\"dim\":2,\"hash\":\"h\",\"kind\":\"document\"}",
		 "a document without chunks");
}

static void test_take(void)
{
	hub_join j = {0};
	jv out;

	out = take(&j, HUB_BRANCH_EMBED, (EMB));
	T_OK(!jv_is_valid(out) && j.holding, "the first branch output is held ...");
	T_OK(zmq_msg_size(&j.twin) == strlen(EMB) && memcmp(zmq_msg_data(&j.twin), EMB, strlen(EMB)) == 0,
	     "... as the bytes it came in, not parsed");
	out = take(&j, HUB_BRANCH_EMBED, (EMB));
	T_OK(!jv_is_valid(out), "a second copy from the same branch replaces it");
	out = take(&j, HUB_BRANCH_SUMMARIZE, (SUM));
	T_EQ_STR(text_of(out), MERGED, "the twin makes the merged record, whichever came first");
	T_OK(!j.holding && j.done, "nothing held after the join");
	out = take(&j, HUB_BRANCH_SUMMARIZE, (SUM));
	T_OK(!jv_is_valid(out), "a late copy of a joined document is dropped");

	hub_join_resent(&j);
	out = take(&j, HUB_BRANCH_SUMMARIZE, (SUM));
	T_OK(!jv_is_valid(out), "after a re-send, outputs join again");
	out = take(&j, HUB_BRANCH_EMBED, ("{\"kind\":\"error\",\"run\":\"R\",\"seq\":3,\"path\":\"/a.md\","
				   "\"stage\":\"embed\",\"error\":\"E\"}"));
	T_EQ_STR(dp_record_str(out, "error"), "E", "an error record goes on at once");
	T_OK(!j.holding, "the held twin of an error is freed");
	jv_free(out);
	out = take(&j, HUB_BRANCH_SUMMARIZE, (SUM));
	T_OK(!jv_is_valid(out), "the other branch's document after an error is dropped");
	out = take(&j, HUB_BRANCH_SUMMARIZE, ("{\"kind\":\"error\",\"run\":\"R\",\"seq\":3,\"error\":\"E2\"}"));
	T_OK(!jv_is_valid(out), "so is a second error record: one failed receipt");

	hub_join_clear(&j);
	out = take(&j, HUB_BRANCH_SUMMARIZE, ("{\"kind\":\"skip\",\"run\":\"R\",\"seq\":4,\"path\":\"/p\"}"));
	T_EQ_STR(dp_record_kind(out), "skip", "a record of another kind goes on once ...");
	jv_free(out);
	out = take(&j, HUB_BRANCH_EMBED, ("{\"kind\":\"skip\",\"run\":\"R\",\"seq\":4,\"path\":\"/p\"}"));
	T_OK(!jv_is_valid(out), "... and its copy from the other branch is dropped");

	hub_join_clear(&j);
	take(&j, HUB_BRANCH_SUMMARIZE, (SUM));
	out = take(&j, HUB_BRANCH_EMBED, ("{\"kind\":\"document\",\"run\":\"R\",\"seq\":3,\"path\":\"/a.md\","
				   "\"hash\":\"h2\",\"chunks\":[]}"));
	T_EQ_STR(dp_record_kind(out), "error", "outputs of two versions of the file: an error record");
	T_EQ_STR(dp_record_str(out, "path"), "/a.md", "naming the document");
	T_EQ_STR(dp_record_str(out, "stage"), "hub", "from the hub");
	double seq = -1;
	dp_record_num(out, "seq", &seq);
	T_EQ_INT((long)seq, 3, "with its seq, for its receipt");
	jv_free(out);
	hub_join_clear(&j);
}

/* hub_join_write of json: its text parsed back, in text_of's form. */
static const char *written(const char *json, size_t max, int *rc)
{
	dp_json_buf b;
	dp_err err;

	dp_buf_init(&b, max);
	*rc = hub_join_write(rec_of(json), &b, &err);
	static char out[2048]; /* not text_of's buffer: tests compare the two */
	snprintf(out, sizeof out, "%s", *rc == 0 ? text_of(dp_record_parse(b.data, b.len, &err)) : err.msg);
	dp_json_buf_free(&b);
	return out;
}

static void test_write(void)
{
	int rc;

	char want[2048];
	snprintf(want, sizeof want, "%s", text_of(rec_of(SUM)));
	T_EQ_STR(written(SUM, 1 << 20, &rc), want, "a document's text: the same record");
	T_EQ_STR(written("{\"kind\":\"skip\",\"run\":\"R\"}", 1 << 20, &rc), "{\"kind\":\"skip\",\"run\":\"R\"}",
		 "a record without chunks");
	T_EQ_STR(written("{\"kind\":\"document\",\"chunks\":[]}", 1 << 20, &rc),
		 "{\"chunks\":[],\"kind\":\"document\"}", "no chunks");
	T_OK(rc == 0, "returns 0");
	T_EQ_STR(written(SUM, 40, &rc), "JSON text over 40 bytes", "over the maximum: says so");
	T_OK(rc < 0, "and returns -1");

	/* A chunk held elsewhere too is written and stays whole there. */
	jv rec = rec_of(SUM), kept = jv_object_get(jv_copy(rec), jv_string("chunks"));
	dp_json_buf b;
	dp_err err;
	dp_buf_init(&b, 1 << 20);
	T_OK(hub_join_write(rec, &b, &err) == 0, "a record whose chunks are shared");
	T_EQ_INT(jv_array_length(jv_copy(kept)), 2, "the other holder's chunks are intact");
	jv second = jv_array_get(jv_copy(kept), 1);
	T_EQ_STR(dp_record_str(second, "summary"), "s1", "with their fields");
	jv_free(second);
	jv_free(kept);
	dp_json_buf_free(&b);
}

/* A held twin is freed with its slot (run under ASan: no leak). */
static void test_window_frees_twin(void)
{
	hub_window w;

	hub_window_init(&w, 2, 0);
	hub_window_add(&w, 0, rec_of("{\"kind\":\"file\"}"));
	hub_window_add(&w, 1, rec_of("{\"kind\":\"file\"}"));
	jv out = take(&hub_window_find(&w, 0)->join, HUB_BRANCH_EMBED, EMB);
	T_OK(!jv_is_valid(out), "a twin held in slot 0");
	take(&hub_window_find(&w, 1)->join, HUB_BRANCH_EMBED, EMB);
	hub_window_release(&w, hub_window_find(&w, 0));
	T_OK(hub_window_has_room(&w), "its receipt frees the slot and the twin");
	hub_window_free(&w);
}

int main(void)
{
	test_merge();
	test_take();
	test_write();
	test_window_frees_twin();
	return t_done();
}
