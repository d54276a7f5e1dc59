#include "join.h"

#include <string.h>

#include "record.h"

/* 1 when field key of a and b (borrowed) is the same value or absent in
 * both. */
static int same_field(jv a, jv b, const char *key)
{
	return jv_equal(jv_object_get(jv_copy(a), jv_string(key)),
			jv_object_get(jv_copy(b), jv_string(key)));
}

/* dst (consumed) plus the keys of src (borrowed) that dst lacks. */
static jv add_missing(jv dst, jv src)
{
	jv_object_foreach(src, key, val)
	{
		if (!jv_object_has(jv_copy(dst), jv_copy(key)))
			dst = jv_object_set(dst, key, val);
		else
			jv_free(key), jv_free(val);
	}
	return dst;
}

/* Chunk i of base (consumed) plus what chunk i of other (borrowed) adds. */
static jv merge_chunks(jv base, jv other, dp_err *err)
{
	jv bc = jv_object_get(jv_copy(base), jv_string("chunks"));
	jv oc = jv_object_get(jv_copy(other), jv_string("chunks"));
	int n = jv_get_kind(bc) == JV_KIND_ARRAY ? jv_array_length(jv_copy(bc)) : -1;

	if (n < 0 || jv_get_kind(oc) != JV_KIND_ARRAY || jv_array_length(jv_copy(oc)) != n) {
		dp_err_set(err, "summarize and embed disagree on the document's chunks");
		jv_free(bc), jv_free(oc), jv_free(base);
		return jv_invalid();
	}
	/* The array held once: setting its elements does not copy it. */
	base = jv_object_delete(base, jv_string("chunks"));
	for (int i = 0; i < n; i++) {
		jv b = jv_array_get(jv_copy(bc), i), o = jv_array_get(jv_copy(oc), i);
		if (jv_get_kind(b) != JV_KIND_OBJECT || jv_get_kind(o) != JV_KIND_OBJECT ||
		    !same_field(b, o, "seq")) {
			dp_err_set(err, "summarize and embed disagree on chunk %d", i);
			jv_free(b), jv_free(o), jv_free(bc), jv_free(oc), jv_free(base);
			return jv_invalid();
		}
		int adds = 0;
		jv_object_keys_foreach(o, key) adds |= !jv_object_has(jv_copy(b), key);
		if (adds)
			bc = jv_array_set(bc, i, add_missing(b, o));
		else
			jv_free(b);
		jv_free(o);
	}
	jv_free(oc);
	return jv_object_set(base, jv_string("chunks"), bc);
}

jv hub_join_merge(jv base, jv other, dp_err *err)
{
	if (!same_field(base, other, "hash") || !same_field(base, other, "chunker")) {
		dp_err_set(err, "summarize and embed outputs are of different versions of the file");
		jv_free(base), jv_free(other);
		return jv_invalid();
	}
	base = merge_chunks(base, other, err);
	if (jv_is_valid(base))
		base = add_missing(base, other);
	jv_free(other);
	return base;
}

/* The held twin's record (owned), its message freed; invalid when it no
 * longer parses (cannot happen: it parsed when it came). */
static jv take_twin(hub_join *j)
{
	dp_err why;
	jv twin = dp_record_parse(zmq_msg_data(&j->twin), zmq_msg_size(&j->twin), &why);

	hub_join_clear(j);
	return twin;
}

jv hub_join_take(hub_join *j, int from, jv rec, zmq_msg_t *msg)
{
	const char *kind = dp_record_kind(rec);

	if (j->done || kind == NULL || strcmp(kind, DP_KIND_DOCUMENT) != 0) {
		zmq_msg_close(msg);
		if (j->done) {
			jv_free(rec);
			return jv_invalid();
		}
		hub_join_clear(j);
		j->done = 1;
		return rec;
	}
	if (!j->holding || j->twin_from == from) {
		jv_free(rec); /* before the message is kept: the parse is the larger */
		hub_join_clear(j);
		zmq_msg_init(&j->twin);
		zmq_msg_move(&j->twin, msg); /* cannot fail on valid messages */
		zmq_msg_close(msg);
		j->holding = 1;
		j->twin_from = from;
		return jv_invalid();
	}
	zmq_msg_close(msg);
	jv twin = take_twin(j);
	dp_err err;

	j->done = 1;
	if (!jv_is_valid(twin)) {
		jv_free(twin);
		return dp_record_error(rec, "hub", "the held output of the other branch does not parse");
	}
	/* Made before the merge, so rec is not shared while it is changed (a
	 * shared record would be copied). */
	jv failed = dp_record_error(jv_copy(rec), "hub", "");
	jv merged = from == HUB_BRANCH_SUMMARIZE ? hub_join_merge(rec, twin, &err)
						 : hub_join_merge(twin, rec, &err);
	if (jv_is_valid(merged)) {
		jv_free(failed);
		return merged;
	}
	jv_free(merged);
	return jv_object_set(failed, jv_string("error"), jv_string(err.msg));
}

/* Appends ",", unless first, then the JSON string key (borrowed) and ":". */
static int write_key(dp_json_buf *b, int first, jv key, dp_err *err)
{
	if ((!first && dp_buf_append(b, ",", 1) < 0) || dp_json_append(b, key, err) < 0 ||
	    dp_buf_append(b, ":", 1) < 0)
		return -1;
	return 0;
}

/* The elements of array a (consumed), each freed once written. */
static int write_freeing(jv a, dp_json_buf *b, dp_err *err)
{
	int n = jv_array_length(jv_copy(a)), rc = dp_buf_append(b, "[", 1);

	for (int i = 0; i < n && rc == 0; i++) {
		jv c = jv_array_get(jv_copy(a), i);
		a = jv_array_set(a, i, jv_null()); /* c holds the chunk alone now */
		rc = (i > 0 && dp_buf_append(b, ",", 1) < 0) || dp_json_append(b, c, err) < 0 ? -1 : 0;
		jv_free(c);
	}
	jv_free(a);
	return rc == 0 ? dp_buf_append(b, "]", 1) : -1;
}

int hub_join_write(jv rec, dp_json_buf *b, dp_err *err)
{
	jv chunks = jv_object_get(jv_copy(rec), jv_string("chunks"));
	int first = 1, rc;

	err->msg[0] = '\0';
	rec = jv_object_delete(rec, jv_string("chunks")); /* chunks is held once now */
	rc = dp_buf_append(b, "{", 1);
	jv_object_foreach(rec, key, val)
	{
		if (rc == 0 && (write_key(b, first, key, err) < 0 || dp_json_append(b, val, err) < 0))
			rc = -1;
		first = 0;
		jv_free(key), jv_free(val);
	}
	jv_free(rec);
	if (jv_is_valid(chunks)) {
		jv name = jv_string("chunks");
		if (rc == 0)
			rc = write_key(b, first, name, err);
		jv_free(name);
		if (rc == 0)
			rc = write_freeing(chunks, b, err);
		else
			jv_free(chunks);
	} else {
		jv_free(chunks);
	}
	if (rc == 0)
		rc = dp_buf_append(b, "}", 1);
	if (rc < 0 && err->msg[0] == '\0')
		dp_err_set(err, "JSON text over %zu bytes", b->max);
	return rc;
}

void hub_join_resent(hub_join *j)
{
	j->done = 0;
}

void hub_join_clear(hub_join *j)
{
	if (j->holding)
		zmq_msg_close(&j->twin);
	*j = (hub_join){0};
}
