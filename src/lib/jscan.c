/* JSON text read in place (jscan.h). */
#include "jscan.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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

/* Whether s[0..4) are four hex digits. */
static int is_hex4(const unsigned char *s)
{
	return is_hex(s[0]) && is_hex(s[1]) && is_hex(s[2]) && is_hex(s[3]);
}

/* The four hex digits at p (is_hex4 checked them). */
static unsigned hex4(const char *p)
{
	unsigned v = 0;

	for (int k = 0; k < 4; k++) {
		unsigned char c = (unsigned char)p[k];
		v = v << 4 | (c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	return v;
}

/* The string at s[i] (its opening quote): the index past its closing
 * quote, or 0 when it is invalid (no string ends at index 0).  Invalid as
 * jq 1.6's found_string has it too: a high surrogate's escape must be
 * followed by a low one's (a lone low one jq takes, as U+FFFD), so that
 * what the scan takes jq reads. */
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
			if (n - i <= 4 || !is_hex4(u + i + 1))
				return 0;
			unsigned cp = hex4(s + i + 1);
			i += 4;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (n - i <= 6 || u[i + 1] != '\\' || u[i + 2] != 'u' || !is_hex4(u + i + 3))
					return 0;
				unsigned low = hex4(s + i + 3);
				if (low < 0xdc00 || low > 0xdfff)
					return 0;
				i += 6;
			}
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

	if (s[i] == 't' || s[i] == 'f' || s[i] == 'n') {
		const char *lit = lits[s[i] == 't' ? 0 : s[i] == 'f' ? 1 : 2];
		size_t len = strlen(lit);
		return n - i >= len && memcmp(s + i, lit, len) == 0 ? i + len : 0;
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

/* jq's stack entries for an open container: an object's key waits for
 * its value too (parse_value counts them alike). */
#define STACK_ENTRIES(close) ((close) == '}' ? 2 : 1)

/* Iterative, with a stack of the open containers: a record nested
 * DP_JSCAN_DEPTH deep costs no recursion.  jq's limit: a container opened
 * with entries (STACK_ENTRIES of those around it) at DP_JSCAN_DEPTH is
 * refused (counting containers only took 129-256 nested objects that jq
 * refuses: fault sweep 16). */
int dp_jscan_value(const char *s, size_t n, size_t *at)
{
	char open[DP_JSCAN_DEPTH];
	int depth = 0, entries = 0;
	size_t i = *at;

	for (;;) {
		/* A value at s[i]. */
		i = skip_ws(s, n, i);
		if (i >= n)
			return -1;
		if (s[i] == '{' || s[i] == '[') {
			if (entries >= DP_JSCAN_DEPTH)
				return -1;
			char close = s[i] == '{' ? '}' : ']';
			open[depth++] = close;
			entries += STACK_ENTRIES(close);
			i = skip_ws(s, n, i + 1);
			if (i < n && s[i] == close) {
				entries -= STACK_ENTRIES(close);
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
				entries -= STACK_ENTRIES(open[depth - 1]);
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

void dp_jscan_members(dp_jspan obj, const char *const *keys, dp_jspan *vals, size_t n)
{
	dp_jscan it;
	dp_jspan k, v;

	for (size_t i = 0; i < n; i++)
		vals[i] = (dp_jspan){NULL, 0};
	if (dp_jscan_open(&it, obj) < 0 || it.close != '}')
		return;
	while (dp_jscan_next(&it, &k, &v) == 1)
		for (size_t i = 0; i < n; i++)
			if (dp_jscan_key_eq(k, dp_jspan_of(keys[i])))
				vals[i] = v;
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

int dp_jscan_blank(const char *s, size_t n, size_t at)
{
	return skip_ws(s, n, at) == n;
}

void dp_jspan_give_back(dp_jspan t, size_t upto, size_t *done)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t start = ((uintptr_t)t.p + *done + page - 1) & ~(page - 1);
	uintptr_t end = ((uintptr_t)t.p + upto) & ~(page - 1);

	if (end >= start + (1u << 20) && madvise((void *)start, end - start, MADV_DONTNEED) == 0)
		*done = end - (uintptr_t)t.p;
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
			if (cp >= 0xd800 && cp <= 0xdbff) { /* skip_string checked its low half */
				cp = 0x10000 + ((cp - 0xd800) << 10 | (hex4(in + 2) - 0xdc00));
				in += 6;
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

/* The number s[i..e), checked by skip_scalar, into *out as jq reads it.
 * Returns 0, or -1 when it is 64 characters or more (left to jq). */
static int number_value(const char *s, size_t i, size_t e, double *out)
{
	static const double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
				       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
				       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
	size_t len = e - i, k = i + (s[i] == '-');
	/* Clinger's fast path: up to 15 significant digits are a whole
	 * number exact as a double, as is a power of ten up to 1e22, and one
	 * multiplication or division of exact doubles rounds correctly: the
	 * double strtod gives.  An embedding answer's numbers (-0.0123456789)
	 * all take it. */
	uint64_t m = 0;
	int digits = 0, scale = 0;
	for (; k < e && s[k] >= '0' && s[k] <= '9'; k++)
		if ((m = m * 10 + (uint64_t)(s[k] - '0')) > 0)
			digits++;
	if (k < e && s[k] == '.')
		for (k++; k < e && s[k] >= '0' && s[k] <= '9'; k++, scale--)
			if ((m = m * 10 + (uint64_t)(s[k] - '0')) > 0)
				digits++;
	if (k == e && digits <= 15 && scale >= -22) {
		double x = scale < 0 ? (double)m / pow10[-scale] : (double)m;
		*out = s[i] == '-' ? -x : x;
		return 0;
	}
	char text[64];
	if (len >= sizeof text)
		return -1;
	memcpy(text, s + i, len);
	text[len] = '\0';
	*out = strtod(text, NULL); /* no stage sets LC_NUMERIC */
	return 0;
}

/* The number or literal s[i..e), checked by skip_scalar. */
static jv parse_scalar(const char *s, size_t i, size_t e)
{
	double x;

	if (s[i] == 't')
		return jv_true();
	if (s[i] == 'f')
		return jv_false();
	if (s[i] == 'n')
		return jv_null();
	return number_value(s, i, e, &x) == 0 ? jv_number(x) : jv_invalid();
}

int dp_jscan_number(dp_jspan v, double *out)
{
	if (v.n == 0 || (v.p[0] != '-' && (v.p[0] < '0' || v.p[0] > '9')))
		return -1;
	if (number_value(v.p, 0, v.n, out) == 0)
		return 0;
	jv x = dp_jscan_parse(v.p, v.n);
	int rc = jv_get_kind(x) == JV_KIND_NUMBER ? (*out = jv_number_value(x), 0) : -1;
	jv_free(x);
	return rc;
}

/* The value at st->s[*at] (after whitespace), with jq's stack holding
 * depth entries (open containers and the keys waiting for their values;
 * a container opened at DP_JSCAN_DEPTH is refused); *at set past it.
 * jv_invalid() when the text is refused. */
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
	if (depth >= DP_JSCAN_DEPTH)
		return jv_invalid();
	char close = s[i] == '{' ? '}' : ']';
	/* An array grows from nothing (by half again each time: jq's own
	 * rule): jv_array() takes 16 slots, 272 bytes for a chunk's heading
	 * path of one name (109,000 chunks: 27 MB of embed's 171). */
	jv v = close == '}' ? jv_object() : jv_array_sized(0);
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

jv dp_jscan_error(jv invalid)
{
	jv msg = jv_invalid_get_msg(invalid);

	if (jv_get_kind(msg) != JV_KIND_STRING) {
		jv_free(msg);
		return jv_string("not JSON");
	}
	const char *text = jv_string_value(msg), *tail = strstr(text, " (while parsing '");
	if (tail == NULL)
		return msg;
	jv cut = jv_string_sized(text, (int)(tail - text));
	jv_free(msg);
	return cut;
}
