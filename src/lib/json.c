#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DP_JSON_MAX_DEFAULT ((size_t)64 << 20)

static int reserve(dp_json_buf *b, size_t more, dp_err *err)
{
	size_t max = b->max > 0 ? b->max : DP_JSON_MAX_DEFAULT;

	if (more <= b->cap - b->len)
		return 0;
	if (more > max - b->len) {
		dp_err_set(err, "JSON text over %zu bytes", max);
		return -1;
	}
	size_t cap = b->cap < 4096 ? 4096 : b->cap;
	while (cap - b->len < more)
		cap = cap > max / 2 ? max : cap * 2;
	char *p = realloc(b->data, cap);
	if (p == NULL) {
		dp_err_set(err, "out of memory");
		return -1;
	}
	b->data = p;
	b->cap = cap;
	return 0;
}

static int put(dp_json_buf *b, const char *s, size_t n, dp_err *err)
{
	if (reserve(b, n, err) < 0)
		return -1;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	return 0;
}

/* jq's escapes: '"' and '\\' backslashed; \b \t \n \f \r by name; other
 * controls and DEL as \u00XX; everything else (valid UTF-8, since jv
 * strings always are) as is. */
static int put_string(dp_json_buf *b, const char *s, size_t n, dp_err *err)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t run = 0;

	/* Worst case every byte becomes \u00XX: reserve once. */
	if (n > ((size_t)-1 - 2) / 6 || reserve(b, 6 * n + 2, err) < 0)
		return -1;
	char *o = b->data + b->len;
	*o++ = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = u[i];
		if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
			continue;
		memcpy(o, s + run, i - run);
		o += i - run;
		run = i + 1;
		*o++ = '\\';
		switch (c) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '\b': *o++ = 'b'; break;
		case '\t': *o++ = 't'; break;
		case '\n': *o++ = 'n'; break;
		case '\f': *o++ = 'f'; break;
		case '\r': *o++ = 'r'; break;
		default:
			o += sprintf(o, "u%04x", c);
		}
	}
	memcpy(o, s + run, n - run);
	o += n - run;
	*o++ = '"';
	b->len = (size_t)(o - b->data);
	return 0;
}

static int put_number(dp_json_buf *b, double d, dp_err *err)
{
	char tmp[32];

	/* Whole numbers below 1e15 print as plain integers in jq; anything
	 * else takes jq's own formatting (rare in records: mtime). */
	if (d == floor(d) && fabs(d) < 1e15 && !(d == 0 && signbit(d))) {
		int n = snprintf(tmp, sizeof tmp, "%lld", (long long)d);
		return put(b, tmp, (size_t)n, err);
	}
	jv text = jv_dump_string(jv_number(d), 0);
	int rc = put(b, jv_string_value(text), (size_t)jv_string_length_bytes(jv_copy(text)), err);
	jv_free(text);
	return rc;
}

int dp_json_append(dp_json_buf *b, jv v, dp_err *err)
{
	switch (jv_get_kind(v)) {
	case JV_KIND_NULL:
		return put(b, "null", 4, err);
	case JV_KIND_TRUE:
		return put(b, "true", 4, err);
	case JV_KIND_FALSE:
		return put(b, "false", 5, err);
	case JV_KIND_NUMBER:
		return put_number(b, jv_number_value(v), err);
	case JV_KIND_STRING:
		return put_string(b, jv_string_value(v),
				  (size_t)jv_string_length_bytes(jv_copy(v)), err);
	case JV_KIND_ARRAY: {
		int n = jv_array_length(jv_copy(v));
		if (put(b, "[", 1, err) < 0)
			return -1;
		for (int i = 0; i < n; i++) {
			jv item = jv_array_get(jv_copy(v), i);
			int rc = (i > 0 ? put(b, ",", 1, err) : 0) < 0 ? -1 : dp_json_append(b, item, err);
			jv_free(item);
			if (rc < 0)
				return -1;
		}
		return put(b, "]", 1, err);
	}
	case JV_KIND_OBJECT: {
		int first = 1;
		if (put(b, "{", 1, err) < 0)
			return -1;
		for (int i = jv_object_iter(v); jv_object_iter_valid(v, i);
		     i = jv_object_iter_next(v, i)) {
			jv key = jv_object_iter_key(v, i);
			jv val = jv_object_iter_value(v, i);
			int rc = (!first ? put(b, ",", 1, err) : 0) < 0 ? -1 : dp_json_append(b, key, err);
			if (rc == 0)
				rc = put(b, ":", 1, err) < 0 ? -1 : dp_json_append(b, val, err);
			jv_free(key);
			jv_free(val);
			if (rc < 0)
				return -1;
			first = 0;
		}
		return put(b, "}", 1, err);
	}
	default:
		/* jq itself aborts on these; no record holds one. */
		dp_err_set(err, "cannot serialize an invalid JSON value");
		return -1;
	}
}

void dp_json_buf_free(dp_json_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
