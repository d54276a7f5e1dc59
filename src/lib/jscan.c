/* JSON text read in place (jscan.h). */
#include "jscan.h"

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
