/* libFuzzer target for the hub's join (src/hub/join.c: hub_join_merge,
 * which splices the summarize and embed branches' outputs of a document
 * as texts read with jscan.c, never parsed).  Built and run by
 * tests/fuzz/run-fuzz.sh join.
 *
 * The input is two records, base and other, split at the first newline;
 * each goes on only when dp_record_head takes it, as in the hub.  Any
 * input must not crash or leak; a merge must give valid JSON that
 * dp_record_head takes, of exactly the length said, and that jq reads; and
 * when both texts
 * are RFC 8259 JSON without a repeated key in the two objects or their
 * chunks, the merge must succeed exactly when hash, chunker, the number
 * of chunks and each chunk's seq agree, and give what jq would: other's
 * members under base's, chunk i likewise. */
#include <jv.h>

#include "../../src/hub/join.h"
#include "record.h"
#include "fuzz.h"

/* The members of object text s (valid: dp_jscan_value took it), counted
 * by the scan, or -1. */
static int members(dp_jspan s)
{
	dp_jscan it;
	dp_jspan k, v;
	int n = 0;

	if (dp_jscan_open(&it, s) < 0 || it.close != '}')
		return -1;
	while (dp_jscan_next(&it, &k, &v) == 1)
		n++;
	return n;
}

/* 1 when object text s parsed as obj (borrowed) repeats no key, nor does
 * any object in its "chunks". */
static int no_repeats(dp_jspan s, jv obj)
{
	if (members(s) != jv_object_length(jv_copy(obj)))
		return 0;
	dp_jspan c;
	dp_jscan it;
	if (dp_jscan_get(s, dp_jspan_of("\"chunks\""), &c) != 1 || dp_jscan_open(&it, c) < 0)
		return 1;
	dp_jspan k, v;
	jv chunks = jv_object_get(jv_copy(obj), jv_string("chunks"));
	int ok = 1;
	for (int i = 0; ok && dp_jscan_next(&it, &k, &v) == 1; i++) {
		jv x = jv_array_get(jv_copy(chunks), i);
		ok = jv_get_kind(x) != JV_KIND_OBJECT || members(v) == jv_object_length(jv_copy(x));
		jv_free(x);
	}
	jv_free(chunks);
	return ok;
}

/* 1 when member key of a and of b (borrowed) are both absent or equal. */
static int same(jv a, jv b, const char *key)
{
	int ha = jv_object_has(jv_copy(a), jv_string(key)), hb = jv_object_has(jv_copy(b), jv_string(key));
	if (!ha || !hb)
		return ha == hb;
	return jv_equal(jv_object_get(jv_copy(a), jv_string(key)), jv_object_get(jv_copy(b), jv_string(key)));
}

/* What the merge of objects b and o (borrowed) must be, or invalid when
 * they must not merge. */
static jv expected(jv b, jv o)
{
	if (!same(b, o, "hash") || !same(b, o, "chunker"))
		return jv_invalid();
	jv bc = jv_object_get(jv_copy(b), jv_string("chunks")), oc = jv_object_get(jv_copy(o), jv_string("chunks"));
	jv out = jv_invalid();
	if (jv_get_kind(bc) != JV_KIND_ARRAY || jv_get_kind(oc) != JV_KIND_ARRAY ||
	    jv_array_length(jv_copy(bc)) != jv_array_length(jv_copy(oc)))
		goto done;
	jv chunks = jv_array();
	jv_array_foreach(bc, i, x)
	{
		jv y = jv_array_get(jv_copy(oc), i);
		if (jv_get_kind(x) != JV_KIND_OBJECT || jv_get_kind(y) != JV_KIND_OBJECT || !same(x, y, "seq")) {
			jv_free(x);
			jv_free(y);
			jv_free(chunks);
			goto done;
		}
		chunks = jv_array_append(chunks, jv_object_merge(y, x));
	}
	out = jv_object_set(jv_object_merge(jv_copy(o), jv_copy(b)), jv_string("chunks"), chunks);
done:
	jv_free(bc);
	jv_free(oc);
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	if (nl == NULL)
		return 0;
	char *text = fuzz_copy(data, size);
	size_t blen = (size_t)(nl - data), olen = size - blen - 1;
	char *b = text, *o = text + blen + 1;
	dp_err err;
	jv bh = dp_record_head(b, blen, &err), oh = jv_is_valid(bh) ? dp_record_head(o, olen, &err) : jv_invalid();

	if (jv_is_valid(bh) && jv_is_valid(oh)) {
		char *m = NULL;
		size_t mlen = 0, end = 0;
		int rc = hub_join_merge((dp_jspan){b, blen}, (dp_jspan){o, olen}, 0, 1 << 20, &m, &mlen, &err);
		CHECK(rc == 0 || rc == HUB_JOIN_DISAGREE);
		jv merged = jv_invalid();
		if (rc == 0) {
			CHECK(dp_jscan_value(m, mlen, &end) == 0 && end == mlen);
			jv head = dp_record_head(m, mlen, &err);
			CHECK(jv_is_valid(head));
			jv_free(head);
			merged = jv_parse_sized(m, (int)mlen);
			CHECK(jv_get_kind(merged) == JV_KIND_OBJECT);
		}
		size_t be = 0, oe = 0;
		if (dp_jscan_value(b, blen, &be) == 0 && dp_jscan_value(o, olen, &oe) == 0) {
			jv bj = jv_parse_sized(b, (int)blen), oj = jv_parse_sized(o, (int)olen);
			if (jv_get_kind(bj) == JV_KIND_OBJECT && jv_get_kind(oj) == JV_KIND_OBJECT &&
			    no_repeats((dp_jspan){b, blen}, bj) && no_repeats((dp_jspan){o, olen}, oj)) {
				jv want = expected(bj, oj);
				CHECK(jv_is_valid(want) == (rc == 0));
				if (rc == 0)
					CHECK(jv_equal(jv_copy(merged), jv_copy(want)));
				jv_free(want);
			}
			jv_free(bj);
			jv_free(oj);
		}
		jv_free(merged);
		free(m);
	}
	jv_free(bh);
	jv_free(oh);
	free(text);
	return 0;
}
