#include "record.h"

#include "text.h"

#include <limits.h>
#include <string.h>

jv dp_record_parse(const char *text, size_t len, dp_err *err)
{
	/* A raw NUL is never valid JSON, and jq 1.6 leaks memory on its error
	 * path for such input (found by tests/fuzz/fuzz_record.c). */
	if (memchr(text, '\0', len) != NULL) {
		dp_err_set(err, "malformed JSON: a raw NUL byte");
		return jv_invalid();
	}
	/* jq would silently replace invalid UTF-8 with U+FFFD, turning a path
	 * into another path; refuse the record instead. */
	size_t bad = dp_utf8_invalid_at(text, len);
	if (bad < len) {
		dp_err_set(err, "record is not valid UTF-8 (byte %zu)", bad);
		return jv_invalid();
	}
	if (len > INT_MAX) {
		dp_err_set(err, "record of %zu bytes is too large", len);
		return jv_invalid();
	}
	jv rec = jv_parse_sized(text, (int)len);

	if (!jv_is_valid(rec)) {
		jv msg = jv_invalid_get_msg(rec);
		dp_err_set(err, "malformed JSON: %s",
			   jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "unknown error");
		jv_free(msg);
		return jv_invalid();
	}
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

jv dp_record_error(jv from, const char *stage, const char *reason)
{
	static const char *const carried[] = {"path", "root", "hash", "meta", "run", "seq"};
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
