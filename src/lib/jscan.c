/* JSON text read in place (jscan.h). */
#include "jscan.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <jv.h>

static size_t skip_ws(const char *s, size_t n, size_t i)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

static int is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

/* The string at s[i] (its opening quote): the index past its closing
 * quote, or 0 when it is invalid (no string ends at index 0). */
static size_t skip_string(const char *s, size_t n, size_t i)
{
	const unsigned char *u = (const unsigned char *)s;

	for (i++; i < n; i++) {
		if (u[i] == '"')
			return i + 1;
		if (u[i] < 0x20)
			return 0;
		if (u[i] != '\\')
			continue;
		if (++i >= n)
			return 0;
		if (u[i] == 'u') {
			if (n - i <= 4 || !is_hex(u[i + 1]) || !is_hex(u[i + 2]) || !is_hex(u[i + 3]) ||
			    !is_hex(u[i + 4]))
				return 0;
			i += 4;
		} else if (strchr("\"\\/bfnrt", u[i]) == NULL || u[i] == '\0') {
			return 0;
		}
	}
	return 0;
}

static size_t skip_digits(const char *s, size_t n, size_t i)
{
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	return i;
}

/* The number or literal at s[i]: the index past it, or 0 when invalid. */
static size_t skip_scalar(const char *s, size_t n, size_t i)
{
	static const char *const lits[] = {"true", "false", "null"};

	for (size_t k = 0; k < 3; k++) {
		size_t len = strlen(lits[k]);
		if (n - i >= len && memcmp(s + i, lits[k], len) == 0)
			return i + len;
	}
	if (s[i] == '-')
		i++;
	if (i >= n || s[i] < '0' || s[i] > '9')
		return 0;
	i = s[i] == '0' ? i + 1 : skip_digits(s, n, i);
	if (i < n && s[i] == '.') {
		size_t d = skip_digits(s, n, i + 1);
		if (d == i + 1)
			return 0;
		i = d;
	}
	if (i < n && (s[i] | 0x20) == 'e') {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		size_t d = skip_digits(s, n, i);
		if (d == i)
			return 0;
		i = d;
	}
	return i;
}

/* An object's key and its colon at s[i] (after whitespace): the index past
 * the colon, or 0 when invalid. */
static size_t skip_key(const char *s, size_t n, size_t i)
{
	i = skip_ws(s, n, i);
	if (i >= n || s[i] != '"' || (i = skip_string(s, n, i)) == 0)
		return 0;
	i = skip_ws(s, n, i);
	return i < n && s[i] == ':' ? i + 1 : 0;
}

/* Iterative, with a stack of the open containers: a record nested
 * DP_JSCAN_DEPTH deep costs no recursion. */
int dp_jscan_value(const char *s, size_t n, size_t *at)
{
	char open[DP_JSCAN_DEPTH];
	int depth = 0;
	size_t i = *at;

	for (;;) {
		/* A value at s[i]. */
		i = skip_ws(s, n, i);
		if (i >= n)
			return -1;
		if (s[i] == '{' || s[i] == '[') {
			if (depth == DP_JSCAN_DEPTH)
				return -1;
			char close = s[i] == '{' ? '}' : ']';
			open[depth++] = close;
			i = skip_ws(s, n, i + 1);
			if (i < n && s[i] == close) {
				depth--, i++;
			} else {
				if (close == '}' && (i = skip_key(s, n, i)) == 0)
					return -1;
				continue;
			}
		} else if ((i = s[i] == '"' ? skip_string(s, n, i) : skip_scalar(s, n, i)) == 0) {
			return -1;
		}
		/* After a value: close containers, or go on to the next value. */
		for (;;) {
			if (depth == 0) {
				*at = i;
				return 0;
			}
			i = skip_ws(s, n, i);
			if (i >= n)
				return -1;
			if (s[i] == open[depth - 1]) {
				depth--, i++;
				continue;
			}
			if (s[i] != ',')
				return -1;
			i++;
			if (open[depth - 1] == '}' && (i = skip_key(s, n, i)) == 0)
				return -1;
			break;
		}
	}
}

int dp_jscan_open(dp_jscan *it, dp_jspan v)
{
	size_t i = skip_ws(v.p, v.n, 0);

	if (i >= v.n || (v.p[i] != '{' && v.p[i] != '['))
		return -1;
	*it = (dp_jscan){.s = v.p, .n = v.n, .at = i + 1, .close = v.p[i] == '{' ? '}' : ']'};
	return 0;
}

int dp_jscan_next(dp_jscan *it, dp_jspan *key, dp_jspan *val)
{
	size_t i = skip_ws(it->s, it->n, it->at);

	if (i >= it->n)
		return -1;
	if (it->s[i] == it->close) {
		it->at = i;
		return 0;
	}
	if (it->started) {
		if (it->s[i] != ',')
			return -1;
		i = skip_ws(it->s, it->n, i + 1);
	}
	it->started = 1;
	key->p = NULL, key->n = 0;
	if (it->close == '}') {
		size_t k = i;
		if (k >= it->n || it->s[k] != '"' || (i = skip_string(it->s, it->n, k)) == 0)
			return -1;
		*key = (dp_jspan){it->s + k, i - k};
		i = skip_ws(it->s, it->n, i);
		if (i >= it->n || it->s[i] != ':')
			return -1;
		i = skip_ws(it->s, it->n, i + 1);
	}
	size_t start = i;
	if (dp_jscan_value(it->s, it->n, &i) < 0)
		return -1;
	*val = (dp_jspan){it->s + start, i - start};
	it->at = i;
	return 1;
}

int dp_jscan_get(dp_jspan obj, dp_jspan key, dp_jspan *val)
{
	dp_jscan it;
	dp_jspan k, v;
	int rc;

	if (dp_jscan_open(&it, obj) < 0 || it.close != '}')
		return 0;
	while ((rc = dp_jscan_next(&it, &k, &v)) == 1)
		if (dp_jscan_key_eq(k, key)) {
			*val = v;
			return 1;
		}
	return rc;
}

/* jv_parse_sized of span t (owned; invalid when it does not parse). */
static jv parse(dp_jspan t)
{
	return t.n > 0x7fffffff ? jv_invalid() : jv_parse_sized(t.p, (int)t.n);
}

/* 1 when a and b parse to equal values (both invalid: 0). */
static int parsed_equal(dp_jspan a, dp_jspan b)
{
	jv x = parse(a), y = parse(b);
	int eq = jv_is_valid(x) && jv_is_valid(y) && jv_equal(jv_copy(x), jv_copy(y));

	jv_free(x), jv_free(y);
	return eq;
}

int dp_jscan_key_eq(dp_jspan a, dp_jspan b)
{
	if (a.n == b.n && memcmp(a.p, b.p, a.n) == 0)
		return 1;
	if (memchr(a.p, '\\', a.n) == NULL && memchr(b.p, '\\', b.n) == NULL)
		return 0;
	return parsed_equal(a, b);
}

int dp_jscan_equal(dp_jspan a, dp_jspan b)
{
	if (a.p == NULL || b.p == NULL)
		return a.p == NULL && b.p == NULL;
	if (a.n == b.n && memcmp(a.p, b.p, a.n) == 0)
		return 1;
	return parsed_equal(a, b);
}

dp_jspan dp_jspan_of(const char *lit)
{
	return (dp_jspan){lit, strlen(lit)};
}

/* dp_jscan_parse's one pass: the text, and the buffer a string with
 * escapes is decoded into (at most the text's size).  Any value it does not
 * take is jv_invalid() without a message, and the text goes to jq. */
typedef struct parse_state {
	const char *s;
	size_t n;
	char *scratch;
	size_t cap;
} parse_state;

/* jq's stack limit: it counts open containers and the keys waiting for
 * their values, and refuses a container opened at this many. */
#define JQ_PARSING_DEPTH 256

/* The four hex digits at p (skip_string checked them). */
static unsigned hex4(const char *p)
{
	unsigned v = 0;

	for (int k = 0; k < 4; k++) {
		unsigned char c = (unsigned char)p[k];
		v = v << 4 | (c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	return v;
}

/* jq's encoding of a code point (jvp_utf8_encode): a surrogate's three
 * bytes too, which jv_string_sized then replaces. */
static size_t utf8_encode(unsigned long c, char *out)
{
	if (c <= 0x7f) {
		out[0] = (char)c;
		return 1;
	}
	if (c <= 0x7ff) {
		out[0] = (char)(0xc0 | c >> 6);
		out[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c <= 0xffff) {
		out[0] = (char)(0xe0 | c >> 12);
		out[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		out[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | c >> 18);
	out[1] = (char)(0x80 | ((c >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((c >> 6) & 0x3f));
	out[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

/* The string whose text (quotes excluded) is p[0..len), checked by
 * skip_string, decoded as jq's found_string decodes it. */
static jv parse_string(parse_state *st, const char *p, size_t len)
{
	const char *in = memchr(p, '\\', len), *end = p + len;

	if (in == NULL)
		return jv_string_sized(p, (int)len);
	if (len > st->cap) {
		char *grown = realloc(st->scratch, len);
		if (grown == NULL)
			return jv_invalid();
		st->scratch = grown, st->cap = len;
	}
	char *out = st->scratch;
	size_t o = (size_t)(in - p);
	memcpy(out, p, o);
	while (in < end) {
		if (*in != '\\') {
			const char *next = memchr(in, '\\', (size_t)(end - in));
			size_t run = (size_t)((next != NULL ? next : end) - in);
			memcpy(out + o, in, run);
			o += run, in += run;
			continue;
		}
		in++;
		char c = *in++;
		switch (c) {
		case 'b': out[o++] = '\b'; break;
		case 'f': out[o++] = '\f'; break;
		case 'n': out[o++] = '\n'; break;
		case 'r': out[o++] = '\r'; break;
		case 't': out[o++] = '\t'; break;
		case 'u': {
			unsigned long cp = hex4(in);
			in += 4;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				/* A high surrogate needs its low one: jq refuses it alone. */
				if (end - in < 6 || in[0] != '\\' || in[1] != 'u')
					return jv_invalid();
				unsigned long low = hex4(in + 2);
				if (low < 0xdc00 || low > 0xdfff)
					return jv_invalid();
				in += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10 | (low - 0xdc00));
			}
			o += utf8_encode(cp, out + o);
			break;
		}
		default: /* '"', '\\', '/' */
			out[o++] = c;
		}
	}
	return jv_string_sized(out, (int)o);
}

/* The number or literal s[i..e), checked by skip_scalar. */
static jv parse_scalar(const char *s, size_t i, size_t e)
{
	size_t len = e - i;

	if (s[i] == 't')
		return jv_true();
	if (s[i] == 'f')
		return jv_false();
	if (s[i] == 'n')
		return jv_null();
	/* A whole number of up to 15 digits is exact as a double. */
	size_t d = i + (s[i] == '-'), k = d;
	double whole = 0;
	while (k < e && k - d < 15 && s[k] >= '0' && s[k] <= '9')
		whole = whole * 10 + (s[k++] - '0');
	if (k == e)
		return jv_number(s[i] == '-' ? -whole : whole);
	char text[64];
	if (len >= sizeof text)
		return jv_invalid();
	memcpy(text, s + i, len);
	text[len] = '\0';
	return jv_number(strtod(text, NULL)); /* no stage sets LC_NUMERIC */
}

/* The value at st->s[*at] (after whitespace), with jq's stack holding
 * depth entries; *at set past it.  jv_invalid() when the text is refused. */
static jv parse_value(parse_state *st, size_t *at, int depth)
{
	const char *s = st->s;
	size_t n = st->n, i = skip_ws(s, n, *at), e;

	if (i >= n)
		return jv_invalid();
	if (s[i] == '"') {
		if ((e = skip_string(s, n, i)) == 0)
			return jv_invalid();
		*at = e;
		return parse_string(st, s + i + 1, e - i - 2);
	}
	if (s[i] != '[' && s[i] != '{') {
		if ((e = skip_scalar(s, n, i)) == 0)
			return jv_invalid();
		*at = e;
		return parse_scalar(s, i, e);
	}
	if (depth >= JQ_PARSING_DEPTH)
		return jv_invalid();
	char close = s[i] == '{' ? '}' : ']';
	jv v = close == '}' ? jv_object() : jv_array();
	i = skip_ws(s, n, i + 1);
	if (i < n && s[i] == close) {
		*at = i + 1;
		return v;
	}
	for (;;) {
		if (close == '}') {
			i = skip_ws(s, n, i);
			if (i >= n || s[i] != '"' || (e = skip_string(s, n, i)) == 0)
				break;
			jv key = parse_string(st, s + i + 1, e - i - 2);
			i = skip_ws(s, n, e);
			if (!jv_is_valid(key) || i >= n || s[i] != ':') {
				jv_free(key);
				break;
			}
			i++;
			jv member = parse_value(st, &i, depth + 2);
			if (!jv_is_valid(member)) {
				jv_free(key);
				jv_free(member);
				break;
			}
			v = jv_object_set(v, key, member);
		} else {
			jv element = parse_value(st, &i, depth + 1);
			if (!jv_is_valid(element)) {
				jv_free(element);
				break;
			}
			v = jv_array_append(v, element);
		}
		i = skip_ws(s, n, i);
		if (i < n && s[i] == ',') {
			i++;
			continue;
		}
		if (i < n && s[i] == close) {
			*at = i + 1;
			return v;
		}
		break;
	}
	jv_free(v);
	return jv_invalid();
}

jv dp_jscan_parse(const char *s, size_t n)
{
	parse_state st = {.s = s, .n = n};
	size_t at = 0;

	if (n > INT_MAX)
		return jv_invalid_with_msg(jv_string("JSON text over 2 GB"));
	jv v = parse_value(&st, &at, 0);
	free(st.scratch);
	if (jv_is_valid(v) && skip_ws(s, n, at) == n)
		return v;
	jv_free(v);
	return jv_parse_sized(s, (int)n); /* jq's value or message */
}
