/* The hub's join of summarize and embed (src/hub/join.c): the merge of two
 * branch outputs, and the state of one document between them. */
#include <stdlib.h>
#include <string.h>

#include "../../src/hub/hub.h"
#include "record.h"
#include "t.h"

static jv rec_of(const char *json)
{
	dp_err err;
	return dp_record_parse(json, strlen(json), &err);
}

/* The compact JSON of rec (consumed), keys sorted, in a static buffer. */
static const char *text_of(jv rec)
{
	static char buf[2048];
	jv s = jv_dump_string(rec, JV_PRINT_SORTED);

	snprintf(buf, sizeof buf, "%s", jv_string_value(s));
	jv_free(s);
	return buf;
}

/* hub_join_take of json as it comes from a branch (its message and head),
 * under a --max-record of max: the record to send the store, parsed
 * (invalid when none), and the message's bytes in sent (when one). */
static char sent[2048];
static jv take_max(hub_join *j, int from, const char *json, size_t max)
{
	zmq_msg_t msg, out;
	dp_err err;

	zmq_msg_init_size(&msg, strlen(json));
	memcpy(zmq_msg_data(&msg), json, strlen(json));
	if (hub_join_take(j, from, dp_record_head(json, strlen(json), &err), &msg, max, &out, &err) <= 0)
		return jv_invalid();
	snprintf(sent, sizeof sent, "%.*s", (int)zmq_msg_size(&out), (const char *)zmq_msg_data(&out));
	jv rec = dp_record_parse(zmq_msg_data(&out), zmq_msg_size(&out), &err);
	zmq_msg_close(&out);
	return rec;
}

static jv take(hub_join *j, int from, const char *json)
{
	return take_max(j, from, json, 1 << 20);
}

/* hub_join_merge of two texts: the merged text, or the error. */
static const char *merged(const char *base, const char *other, size_t max, int *rc)
{
	static char buf[8192];
	char *text;
	size_t len;
	dp_err err;

	*rc = hub_join_merge(dp_jspan_of(base), dp_jspan_of(other), 0, max, &text, &len, &err);
	if (*rc != 0) {
		snprintf(buf, sizeof buf, "%s", err.msg);
		return buf;
	}
	snprintf(buf, sizeof buf, "%.*s", (int)len, text);
	free(text);
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

/* The bytes the store gets: summarize's members as they came, then what
 * embed adds, chunks last, each chunk likewise. */
#define MERGED_TEXT                                                                                \
	"{\"kind\":\"document\",\"run\":\"R\",\"seq\":3,\"path\":\"/a.md\",\"hash\":\"h1\","       \
	"\"chunker\":\"c\",\"summary\":\"S\",\"summarizer\":\"api\",\"meta\":{\"t\":1},"           \
	"\"embedder\":\"e\",\"dim\":2,\"chunks\":[{\"seq\":0,\"text\":\"x\",\"summary\":\"s0\","   \
	"\"vec\":\"v0\"},{\"seq\":1,\"text\":\"y\",\"summary\":\"s1\",\"vec\":\"v1\"}]}"

static void test_merge(void)
{
	int rc;

	T_EQ_STR(merged(SUM, EMB, 1 << 20, &rc), MERGED_TEXT,
		 "merge: summaries and vectors, per chunk and top level; a key both have keeps "
		 "the summarize branch's");
	T_EQ_STR(text_of(rec_of(MERGED_TEXT)), MERGED, "the same record as the jv merge made");
	T_EQ_STR(merged(SUM, "{\"kind\":\"document\",\"hash\":\"h2\",\"chunker\":\"c\","
			     "\"chunks\":[{\"seq\":0},{\"seq\":1}]}", 1 << 20, &rc),
		 "summarize and embed outputs are of different versions of the file", "another hash: no merge");
	T_EQ_INT(rc, HUB_JOIN_DISAGREE, "a disagreement");
	T_EQ_STR(merged(SUM, "{\"kind\":\"document\",\"hash\":\"h1\",\"chunker\":\"c\","
			     "\"chunks\":[{\"seq\":0}]}", 1 << 20, &rc),
		 "summarize and embed disagree on the document's chunks", "another chunk count: no merge");
	T_EQ_STR(merged(SUM, "{\"kind\":\"document\",\"hash\":\"h1\",\"chunker\":\"c\","
			     "\"chunks\":[{\"seq\":0},{\"seq\":7}]}", 1 << 20, &rc),
		 "summarize and embed disagree on chunk 1", "a chunk's seq differs: no merge");
	T_EQ_STR(merged(SUM, "{\"kind\":\"document\",\"hash\":\"h1\",\"chunker\":\"c\","
			     "\"chunks\":[{\"seq\":0},{\"seq\":1.0,\"vec\":\"v\"}]}", 1 << 20, &rc),
		 "{\"kind\":\"document\",\"run\":\"R\",\"seq\":3,\"path\":\"/a.md\",\"hash\":\"h1\","
		 "\"chunker\":\"c\",\"summary\":\"S\",\"summarizer\":\"api\",\"meta\":{\"t\":1},"
		 "\"chunks\":[{\"seq\":0,\"text\":\"x\",\"summary\":\"s0\"},{\"seq\":1,\"text\":\"y\","
		 "\"summary\":\"s1\",\"vec\":\"v\"}]}", "values compared as values (1 and 1.0)");
	T_EQ_STR(merged("{\"kind\":\"document\",\"hash\":\"h\",\"chunks\":[]}",
			"{\"kind\":\"document\",\"hash\":\"h\",\"chunks\":[],\"dim\":2}", 1 << 20, &rc),
		 "{\"kind\":\"document\",\"hash\":\"h\",\"dim\":2,\"chunks\":[]}", "a document without chunks");
	T_EQ_STR(merged("{\"chunks\":[{\"seq\":0}]}", "{\"chunks\":[{\"seq\":0,\"vec\":1}],\"dim\":2}",
			1 << 20, &rc),
		 "{\"dim\":2,\"chunks\":[{\"seq\":0,\"vec\":1}]}", "only chunks in base");
	T_EQ_STR(merged("{\"chunks\":[{\"seq\":0}]}", "{\"chunks\":{}}", 1 << 20, &rc),
		 "summarize and embed disagree on the document's chunks", "chunks that are no array");
	T_EQ_STR(merged("{\"chunks\":[{\"seq\":0}]}", "{\"chunks\":[3]}", 1 << 20, &rc),
		 "summarize and embed disagree on chunk 0", "a chunk that is no object");
	T_EQ_STR(merged("{\"k\\u0069nd\":\"a\",\"chunks\":[]}", "{\"kind\":\"b\",\"chunks\":[]}", 1 << 20, &rc),
		 "{\"k\\u0069nd\":\"a\",\"chunks\":[]}", "keys compared decoded");
	size_t n = strlen(MERGED_TEXT);
	T_EQ_STR(merged(SUM, EMB, n, &rc), MERGED_TEXT, "exactly at the maximum");
	char want[128];
	snprintf(want, sizeof want, "the joined record: JSON text over %zu bytes", n - 1);
	T_EQ_STR(merged(SUM, EMB, n - 1, &rc), want, "over it: says so");

	/* More members than hub_join_merge keeps keys of. */
	char many[4096] = "{\"kind\":\"document\",\"chunks\":[{\"seq\":0",
	     other[4096] = "{\"chunks\":[{\"seq\":0";
	for (int i = 0; i < 40; i++) {
		snprintf(many + strlen(many), sizeof many - strlen(many), ",\"k%d\":%d", i, i);
		snprintf(other + strlen(other), sizeof other - strlen(other), ",\"k%d\":-%d", i + 35, i);
	}
	strcat(many, "}]}");
	strcat(other, "}]}");
	jv m = rec_of(merged(many, other, 1 << 20, &rc));
	jv c = jv_array_get(jv_object_get(m, jv_string("chunks")), 0);
	T_EQ_INT(jv_object_length(jv_copy(c)), 1 + 75, "a chunk of many keys: each once");
	jv v = jv_object_get(c, jv_string("k39"));
	T_EQ_INT((long)jv_number_value(v), 39, "base's value kept past the keys kept");
	jv_free(v);
}

/* Texts of many pages, owned: the pages read are given back as the
 * merge writes (join.c release_read), and what it writes is the same. */
static void test_merge_owned(void)
{
	enum { CHUNKS = 3000 };
	size_t cap = CHUNKS * 1200 + 100, blen = 0, olen = 0;
	char *base = malloc(cap), *other = malloc(cap), *want, *got;
	char pad[1001];
	size_t wlen, glen;
	dp_err err;

	memset(pad, 'x', 1000);
	pad[1000] = '\0';
	blen += (size_t)sprintf(base, "{\"kind\":\"document\",\"chunks\":[");
	olen += (size_t)sprintf(other, "{\"kind\":\"document\",\"chunks\":[");
	for (int i = 0; i < CHUNKS; i++) {
		blen += (size_t)sprintf(base + blen, "%s{\"seq\":%d,\"text\":\"%s\",\"summary\":\"s\"}",
					i ? "," : "", i, pad);
		olen += (size_t)sprintf(other + olen, "%s{\"seq\":%d,\"text\":\"%s\",\"vec\":\"v%d\"}",
					i ? "," : "", i, pad, i);
	}
	blen += (size_t)sprintf(base + blen, "]}");
	olen += (size_t)sprintf(other + olen, "],\"dim\":1}");
	T_OK(hub_join_merge((dp_jspan){base, blen}, (dp_jspan){other, olen}, 0, 1u << 30, &want, &wlen, &err) == 0,
	     "big texts merge");
	T_OK(hub_join_merge((dp_jspan){base, blen}, (dp_jspan){other, olen}, 1, 1u << 30, &got, &glen, &err) == 0,
	     "and so, owned, giving back what it read");
	T_OK(wlen == glen && memcmp(want, got, wlen) == 0, "the same text either way");
	const char *end = "\"summary\":\"s\",\"vec\":\"v2999\"}]}";
	T_OK(glen > strlen(end) && memcmp(got + glen - strlen(end), end, strlen(end)) == 0 &&
		     strstr(want, "\"dim\":1,\"chunks\"") != NULL,
	     "with every chunk's vector and the top level's additions");
	free(want), free(got), free(base), free(other);
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
	T_EQ_STR(sent, MERGED_TEXT, "its text as hub_join_merge writes it");
	T_OK(!j.holding && j.done, "nothing held after the join");
	out = take(&j, HUB_BRANCH_SUMMARIZE, (SUM));
	T_OK(!jv_is_valid(out), "a late copy of a joined document is dropped");

	hub_join_resent(&j);
	out = take(&j, HUB_BRANCH_SUMMARIZE, (SUM));
	T_OK(!jv_is_valid(out), "after a re-send, outputs join again");
#define ERR "{\"kind\":\"error\",\"run\":\"R\",\"seq\":3,\"path\":\"/a.md\",\"stage\":\"embed\",\"error\":\"E\"}"
	out = take(&j, HUB_BRANCH_EMBED, ERR);
	T_EQ_STR(dp_record_str(out, "error"), "E", "an error record goes on at once");
	T_EQ_STR(sent, ERR, "as it came");
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
	out = take_max(&j, HUB_BRANCH_EMBED, ERR, 20);
	T_EQ_STR(dp_record_str(out, "error"), "the joined record: JSON text over 20 bytes",
		 "a record over --max-record: an error record instead");
	T_EQ_STR(dp_record_str(out, "path"), "/a.md", "naming the document");
	jv_free(out);

	hub_join_clear(&j);
	take(&j, HUB_BRANCH_SUMMARIZE, (SUM));
	out = take(&j, HUB_BRANCH_EMBED, ("{\"kind\":\"document\",\"run\":\"R\",\"seq\":3,\"path\":\"/a.md\","
				   "\"hash\":\"h2\",\"chunks\":[]}"));
	T_EQ_STR(dp_record_kind(out), "error", "outputs of two versions of the file: an error record");
	T_EQ_STR(dp_record_str(out, "path"), "/a.md", "naming the document");
	T_EQ_STR(dp_record_str(out, "stage"), "hub", "from the hub");
	T_EQ_STR(dp_record_str(out, "error"), "summarize and embed outputs are of different versions of the file",
		 "saying why");
	double seq = -1;
	dp_record_num(out, "seq", &seq);
	T_EQ_INT((long)seq, 3, "with its seq, for its receipt");
	jv_free(out);

	hub_join_clear(&j);
	take(&j, HUB_BRANCH_SUMMARIZE, (SUM));
	out = take_max(&j, HUB_BRANCH_EMBED, EMB, 100);
	T_EQ_STR(dp_record_str(out, "error"), "the joined record: JSON text over 100 bytes",
		 "a joined record over --max-record: an error record");
	jv_free(out);
	hub_join_clear(&j);
}

/* A held twin is freed with its slot (run under ASan: no leak). */
static void test_window_frees_twin(void)
{
	hub_window w;

	hub_window_init(&w, 2, 0, 0);
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
	test_merge_owned();
	test_take();
	test_window_frees_twin();
	return t_done();
}
