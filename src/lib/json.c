#include "json.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

#define DP_JSON_MAX_DEFAULT ((size_t)64 << 20)

/* The slow path of reserve: a max of 0 becomes the default; a failure is
 * reported in err and the overflow flag cleared (json.h). */
__attribute__((cold, noinline)) static int fail(dp_json_buf *b, size_t more, dp_err *err)
{
	b->overflow = 0;
	if (b->max == 0) {
		b->max = DP_JSON_MAX_DEFAULT;
		if (dp_buf_grow(b, more) == 0)
			return 0;
		b->overflow = 0;
	}
	if (more > b->max - b->len)
		dp_err_set(err, "JSON text over %zu bytes", b->max);
	else
		dp_err_set(err, "out of memory");
	return -1;
}

/* Makes room for `more` bytes after b->len.  Returns 0, or -1 with err set. */
static inline int reserve(dp_json_buf *b, size_t more, dp_err *err)
{
	return dp_buf_reserve(b, more) == 0 ? 0 : fail(b, more, err);
}

static inline __attribute__((always_inline)) int put(dp_json_buf *b, const char *s, size_t n, dp_err *err)
{
	if (reserve(b, n, err) < 0)
		return -1;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	return 0;
}

/* jq's escapes: '"' and '\\' backslashed; \b \t \n \f \r by name; other
 * controls and DEL as \u00XX; everything else (valid UTF-8, since jv
 * strings always are) as is.  0 marks a byte written as is, 'u' the
 * \u00XX form, anything else the letter after the backslash. */
static const char escape_of[256] = {
	['\0'] = 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
	['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n', ['\v'] = 'u', ['\f'] = 'f', ['\r'] = 'r',
	[0x0e] = 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
	 'u', 'u',
	['"'] = '"', ['\\'] = '\\', [0x7f] = 'u',
};

/* Offset of the first byte in u[i..n) that escape_of marks or that is not
 * ASCII, or n.  Sixteen bytes at a time (text.h): text is mostly long runs
 * of ASCII that need no escape.  As a signed byte, one below 0x20 is a
 * control or not ASCII; the padding 'a' is neither. */
static size_t next_special(const unsigned char *u, size_t i, size_t n)
{
	for (; i < n; i += 16) {
		dp_v16s w = (dp_v16s)dp_v16_load(u, i, n, 'a');
		size_t k = dp_v16_first((w < 0x20) | (w == '"') | (w == '\\') | (w == 0x7f));
		if (k < 16)
			return i + k;
	}
	return n;
}

/* Writes the JSON string of s[0..n) (quoted, jq's escapes) into b when s
 * is valid UTF-8: returns 0, or -1 with err set.  Returns 1 when it is
 * not, having written part of it (the caller cuts b back).  One pass for
 * both the check and the escapes: a byte that is not ASCII stops the
 * block scan and its sequence is checked (dp_utf8_seq_len). */
static int put_string(dp_json_buf *b, const char *s, size_t n, dp_err *err)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t run = 0, at = 0, i;

	/* Invariant: the buffer has room for the rest of the string from `run`
	 * and the closing quote; an escape reserves the up to 5 bytes it adds.
	 * [run, at) needs no escape and is checked. */
	if (n > ((size_t)-1 - 8) / 2 || reserve(b, n + 2, err) < 0)
		return -1;
	b->data[b->len++] = '"';
	while ((i = next_special(u, at, n)) < n) {
		if (u[i] >= 0x80) {
			size_t k = dp_utf8_seq_len(u + i, n - i);
			if (k == 0)
				return 1;
			at = i + k;
			continue;
		}
		char e = escape_of[u[i]];
		if (reserve(b, n - run + 6, err) < 0)
			return -1;
		char *o = b->data + b->len;
		memcpy(o, s + run, i - run);
		o += i - run;
		*o++ = '\\';
		if (e == 'u') {
			memcpy(o, "u00", 3);
			o[3] = hex[u[i] >> 4];
			o[4] = hex[u[i] & 0xf];
			o += 5;
		} else {
			*o++ = e;
		}
		b->len = (size_t)(o - b->data);
		run = at = i + 1;
	}
	memcpy(b->data + b->len, s + run, n - run);
	b->len += n - run;
	b->data[b->len++] = '"';
	return 0;
}

static int put_number(dp_json_buf *b, double d, dp_err *err)
{
	/* Whole numbers below 1e15 print as plain integers in jq; anything
	 * else takes jq's own formatting (rare in records: mtime). */
	if (d == floor(d) && fabs(d) < 1e15 && !(d == 0 && signbit(d))) {
		char tmp[24], *p = tmp + sizeof tmp;
		long long v = (long long)d;
		unsigned long long m = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
		do
			*--p = (char)('0' + m % 10);
		while ((m /= 10) > 0);
		if (v < 0)
			*--p = '-';
		return put(b, p, (size_t)(tmp + sizeof tmp - p), err);
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
	case JV_KIND_STRING: /* valid UTF-8, as every jv string */
		return dp_json_put_string(b, jv_string_value(v),
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

int dp_json_put(dp_json_buf *b, const char *s, size_t n, dp_err *err)
{
	return put(b, s, n, err);
}

int dp_json_put_again(dp_json_buf *b, size_t at, size_t n, dp_err *err)
{
	if (reserve(b, n, err) < 0)
		return -1;
	memcpy(b->data + b->len, b->data + at, n);
	b->len += n;
	return 0;
}

int dp_json_put_string(dp_json_buf *b, const char *s, size_t n, dp_err *err)
{
	size_t at = b->len;
	int rc = put_string(b, s, n, err);

	if (rc <= 0)
		return rc;
	/* The rare text that is not UTF-8 takes jq's own replacement (valid
	 * UTF-8, so put_string takes it). */
	b->len = at;
	if (n > INT_MAX) {
		dp_err_set(err, "JSON text over %zu bytes", b->max);
		return -1;
	}
	jv v = jv_string_sized(s, (int)n);
	rc = dp_json_append(b, v, err);
	jv_free(v);
	return rc;
}

int dp_json_put_number(dp_json_buf *b, double d, dp_err *err)
{
	return put_number(b, d, err);
}

void dp_json_buf_free(dp_json_buf *b)
{
	dp_buf_free(b);
}
