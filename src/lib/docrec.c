#include "docrec.h"

#include <string.h>

int dp_doc_check_chunks(jv rec, dp_err *err)
{
	jv chunks = jv_object_get(jv_copy(rec), jv_string("chunks"));
	int n;

	if (jv_get_kind(chunks) != JV_KIND_ARRAY) {
		dp_err_set(err, jv_is_valid(chunks) ? "\"chunks\" is not an array"
						    : "record has no \"chunks\" array");
		jv_free(chunks);
		return -1;
	}
	n = jv_array_length(jv_copy(chunks));
	for (int i = 0; i < n; i++) {
		jv c = jv_array_get(jv_copy(chunks), i);
		int ok = jv_get_kind(c) == JV_KIND_OBJECT;

		if (!ok) {
			dp_err_set(err, "chunks[%d] is not an object", i);
		} else {
			jv t = jv_object_get(c, jv_string("text"));
			ok = jv_get_kind(t) == JV_KIND_STRING;
			if (!ok) {
				dp_err_set(err, "chunks[%d].text is not a string", i);
			} else if (dp_doc_holds_nul(t)) {
				/* The store refuses it (PostgreSQL's text holds no
				 * NUL): refused here, before a model API is paid. */
				ok = 0;
				dp_err_set(err, "chunks[%d].text holds a NUL character (\\u0000), which"
					   " PostgreSQL's text cannot store", i);
			}
			c = t;
		}
		jv_free(c);
		if (!ok) {
			jv_free(chunks);
			return -1;
		}
	}
	jv_free(chunks);
	return n;
}

int dp_doc_holds_nul(jv j)
{
	int found = 0;

	switch (jv_get_kind(j)) {
	case JV_KIND_STRING:
		return memchr(jv_string_value(j), '\0', (size_t)jv_string_length_bytes(jv_copy(j))) != NULL;
	case JV_KIND_ARRAY:
		jv_array_foreach(j, i, v) {
			found = found || dp_doc_holds_nul(v);
			jv_free(v);
		}
		return found;
	case JV_KIND_OBJECT:
		jv_object_foreach(j, k, v) {
			found = found || dp_doc_holds_nul(k) || dp_doc_holds_nul(v);
			jv_free(k);
			jv_free(v);
		}
		return found;
	default:
		return 0;
	}
}

const char *dp_doc_chunk_text(jv rec, int i, int *len)
{
	jv chunks = jv_object_get(jv_copy(rec), jv_string("chunks"));
	jv text = jv_object_get(jv_array_get(chunks, i), jv_string("text"));
	/* The string's storage is shared with rec, which keeps it alive. */
	const char *s = jv_string_value(text);

	*len = jv_string_length_bytes(jv_copy(text));
	jv_free(text);
	return s;
}

jv dp_doc_chunk_set(jv rec, int i, const char *key, jv val)
{
	jv chunks = jv_object_get(jv_copy(rec), jv_string("chunks"));
	jv c = jv_array_get(jv_copy(chunks), i);

	/* Drop rec's reference first so the arrays are not copied on write. */
	rec = jv_object_delete(rec, jv_string("chunks"));
	c = jv_object_set(c, jv_string(key), val);
	chunks = jv_array_set(chunks, i, c);
	return jv_object_set(rec, jv_string("chunks"), chunks);
}
