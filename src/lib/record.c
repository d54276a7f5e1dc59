#include "record.h"

#include "buf.h"
#include "jscan.h"
#include "text.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* The checks of a parsed record past its syntax: an object, of a version
 * we read, with a kind.  rec is consumed; returns it or an invalid jv. */
static jv checked(jv rec, dp_err *err)
{
	if (jv_get_kind(rec) != JV_KIND_OBJECT) {
		dp_err_set(err, "record is a JSON %s, not an object",
			   jv_kind_name(jv_get_kind(rec)));
		jv_free(rec);
		return jv_invalid();
	}
	double v;
	if (dp_record_num(rec, "v", &v) == 0 && v != DP_PROTOCOL_VERSION) {
		dp_err_set(err, "record has protocol version %g; this docpipe reads version %d",
			   v, DP_PROTOCOL_VERSION);
		jv_free(rec);
		return jv_invalid();
	}
	if (dp_record_kind(rec) == NULL) {
		dp_err_set(err, "record has no \"kind\" string");
		jv_free(rec);
		return jv_invalid();
	}
	return rec;
}

int dp_record_text_ok(const char *text, size_t len, dp_err *err)
{
	/* A raw NUL is never valid JSON, and jq 1.6 leaks memory on its error
	 * path for such input (found by tests/fuzz/fuzz_record.c). */
	if (memchr(text, '\0', len) != NULL) {
		dp_err_set(err, "malformed JSON: a raw NUL byte");
		return -1;
	}
	/* jq would silently replace invalid UTF-8 with U+FFFD, turning a path
	 * into another path; refuse the record instead. */
	size_t bad = dp_utf8_invalid_at(text, len);
	if (bad < len) {
		dp_err_set(err, "record is not valid UTF-8 (byte %zu)", bad);
		return -1;
	}
	if (len > INT_MAX) {
		dp_err_set(err, "record of %zu bytes is too large", len);
		return -1;
	}
	return 0;
}

jv dp_record_parse(const char *text, size_t len, dp_err *err)
{
	if (dp_record_text_ok(text, len, err) < 0)
		return jv_invalid();
	jv rec = dp_jscan_parse(text, len);

	if (!jv_is_valid(rec)) {
		jv msg = dp_jscan_error(rec);
		dp_err_set(err, "malformed JSON: %s", jv_string_value(msg));
		jv_free(msg);
		return jv_invalid();
	}
	return checked(rec, err);
}

jv dp_record_head(const char *text, size_t len, dp_err *err)
{
	dp_jspan rec = {text, len}, key, val, chunks = dp_jspan_of("\"chunks\"");
	dp_jscan it;
	size_t end = 0;

	if (dp_record_text_ok(text, len, err) < 0)
		return jv_invalid();
	if (dp_jscan_value(text, len, &end) < 0 || dp_jscan_open(&it, rec) < 0 || it.close != '}') {
		/* The scan keeps to RFC 8259; jq reads a little more (a number
		 * such as 06): what jq reads is a record here as everywhere,
		 * parsed whole (no stage writes such text). */
		jv whole = dp_record_parse(text, len, err);
		return jv_is_valid(whole) ? jv_object_delete(whole, jv_string("chunks")) : whole;
	}
	if (!dp_jscan_blank(text, len, end)) {
		dp_err_set(err, "malformed JSON: text after the record");
		return jv_invalid();
	}
	/* The other members' text, copied: at most the record's size. */
	dp_buf head;
	dp_buf_init(&head, len);
	dp_buf_append(&head, "{", 1);
	while (dp_jscan_next(&it, &key, &val) == 1) {
		if (dp_jscan_key_eq(key, chunks))
			continue;
		if (head.len > 1)
			dp_buf_append(&head, ",", 1);
		dp_buf_append(&head, key.p, (size_t)(val.p + val.n - key.p));
	}
	dp_buf_append(&head, "}", 1);
	if (head.overflow) {
		dp_buf_free(&head);
		dp_err_set(err, "out of memory");
		return jv_invalid();
	}
	jv out = dp_jscan_parse(head.data, head.len);
	dp_buf_free(&head);
	if (!jv_is_valid(out)) { /* what the scan let through and jq does not */
		jv msg = jv_invalid_get_msg(out);
		dp_err_set(err, "malformed JSON: %s",
			   jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "unknown error");
		jv_free(msg);
		return jv_invalid();
	}
	return checked(out, err);
}

jv dp_record_error(jv from, const char *stage, const char *reason)
{
	static const char *const carried[] = {"path", "root", "hash", "meta", "run", "stream", "seq"};
	jv e = jv_object();

	e = jv_object_set(e, jv_string("v"), jv_number(DP_PROTOCOL_VERSION));
	e = jv_object_set(e, jv_string("kind"), jv_string(DP_KIND_ERROR));
	if (jv_get_kind(from) == JV_KIND_OBJECT) {
		for (size_t i = 0; i < sizeof carried / sizeof carried[0]; i++) {
			jv val = jv_object_get(jv_copy(from), jv_string(carried[i]));
			if (jv_is_valid(val))
				e = jv_object_set(e, jv_string(carried[i]), val);
			else
				jv_free(val);
		}
	}
	jv_free(from);
	if (!jv_object_has(jv_copy(e), jv_string("path")))
		e = jv_object_set(e, jv_string("path"), jv_null());
	e = jv_object_set(e, jv_string("stage"), jv_string(stage));
	e = jv_object_set(e, jv_string("error"), jv_string(reason));
	return e;
}

void dp_record_too_big_reason(dp_err *reason, const dp_err *why, size_t max_record)
{
	/* The usual cause: a huge document, its text again with its chunks'
	 * summaries and vectors.  Say what lets it through. */
	dp_err_set(reason,
		   "its output record: %s (--max-record %zu; a document this large needs a"
		   " larger --max-record here and in the stages after: docpipe run --max-size)",
		   why->msg, max_record);
}

jv dp_record_too_big(jv rec, const dp_err *why, size_t max_record)
{
	dp_err reason;

	dp_record_too_big_reason(&reason, why, max_record);
	return dp_record_error(rec, dp_stage(), reason.msg);
}

jv dp_record_dump(jv rec)
{
	return jv_dump_string(rec, 0);
}

const char *dp_record_str(jv rec, const char *key)
{
	if (jv_get_kind(rec) != JV_KIND_OBJECT)
		return NULL;
	jv val = jv_object_get(jv_copy(rec), jv_string(key));
	const char *s = NULL;

	/* The string's storage is shared with rec, which keeps it alive after
	 * this reference is dropped. */
	if (jv_get_kind(val) == JV_KIND_STRING)
		s = jv_string_value(val);
	jv_free(val);
	return s;
}

int dp_record_seq_valid(double v)
{
	return v >= 0 && v < 9007199254740992.0 && v == (double)(long)v;
}

int dp_record_num(jv rec, const char *key, double *out)
{
	if (jv_get_kind(rec) != JV_KIND_OBJECT)
		return -1;
	jv val = jv_object_get(jv_copy(rec), jv_string(key));
	int rc = -1;

	if (jv_get_kind(val) == JV_KIND_NUMBER) {
		*out = jv_number_value(val);
		rc = 0;
	}
	jv_free(val);
	return rc;
}

const char *dp_record_kind(jv rec)
{
	return dp_record_str(rec, "kind");
}

/* The field's value (owned), or jv_null() when absent. */
static jv field(jv obj, const char *key)
{
	if (jv_get_kind(obj) != JV_KIND_OBJECT)
		return jv_null();
	jv val = jv_object_get(jv_copy(obj), jv_string(key));
	return jv_is_valid(val) ? val : (jv_free(val), jv_null());
}

int dp_record_get_str(jv obj, const char *key, size_t max_len, const char **out, size_t *len,
		      dp_err *err)
{
	jv val = field(obj, key);

	if (jv_get_kind(val) == JV_KIND_NULL) {
		jv_free(val);
		return 0;
	}
	int ok = jv_get_kind(val) == JV_KIND_STRING;
	size_t n = ok ? (size_t)jv_string_length_bytes(jv_copy(val)) : 0;
	/* The string's storage is shared with obj, which keeps it alive. */
	const char *s = ok ? jv_string_value(val) : NULL;
	jv_free(val);
	if (!ok || n > max_len || memchr(s, 0, n) != NULL) {
		if (max_len == SIZE_MAX)
			dp_err_set(err, "\"%s\" must be a string without NUL characters", key);
		else
			dp_err_set(err, "\"%s\" must be a string of at most %zu bytes without NUL characters",
				   key, max_len);
		return -1;
	}
	*out = s;
	if (len != NULL)
		*len = n;
	return 1;
}

int dp_record_get_int(jv obj, const char *key, long long min, long long max, long long *out,
		      dp_err *err)
{
	jv val = field(obj, key);

	if (jv_get_kind(val) == JV_KIND_NULL) {
		jv_free(val);
		return 0;
	}
	double d = jv_get_kind(val) == JV_KIND_NUMBER ? jv_number_value(val) : NAN;
	jv_free(val);
	if (!(d == floor(d) && d >= (double)min && d <= (double)max)) {
		dp_err_set(err, "\"%s\" must be a whole number from %lld to %lld", key, min, max);
		return -1;
	}
	*out = (long long)d;
	return 1;
}
