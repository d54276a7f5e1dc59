#include "frontmatter.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

/* Longest string value kept: front matter is small; a bound all the same. */
#define FM_VALUE_MAX (64u << 10)

static size_t eol(const char *t, size_t len, size_t at)
{
	const char *nl = memchr(t + at, '\n', len - at);

	return nl != NULL ? (size_t)(nl - t) : len;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* [*s, *e) without leading and trailing blanks. */
static void trim(const char *t, size_t *s, size_t *e)
{
	while (*s < *e && is_blank(t[*s]))
		++*s;
	while (*e > *s && is_blank(t[*e - 1]))
		--*e;
}

/* Whether the line at `at` is the delimiter d (three characters) alone. */
static int is_delim(const char *t, size_t len, size_t at, const char *d)
{
	size_t e = eol(t, len, at);

	if (e - at < 3 || memcmp(t + at, d, 3) != 0)
		return 0;
	for (size_t i = at + 3; i < e; i++)
		if (!is_blank(t[i]))
			return 0;
	return 1;
}

static void put_utf8(jv *out, unsigned cp)
{
	char b[4];

	*out = jv_string_append_buf(*out, b, (int)dp_utf8_put(b, cp));
}

/* A quoted string starting at t[*i] (its quote) and ending before `end`:
 * "..." with backslash escapes (\uXXXX outside the surrogates), '...' with
 * '' for a quote when yaml, else literal.  Returns the string and moves *i
 * past the closing quote, or an invalid value when it is not closed. */
static jv quoted(const char *t, size_t *i, size_t end, int yaml)
{
	char q = t[*i];
	size_t k = *i + 1, run = k;
	jv out = jv_string("");

	while (k < end) {
		if (t[k] == q && q == '\'' && yaml && k + 1 < end && t[k + 1] == '\'') {
			out = jv_string_append_buf(out, t + run, (int)(k + 1 - run));
			k += 2;
			run = k;
		} else if (t[k] == q) {
			out = jv_string_append_buf(out, t + run, (int)(k - run));
			*i = k + 1;
			return out;
		} else if (t[k] == '\\' && q == '"' && k + 1 < end) {
			static const char from[] = "nt\"\\/rbf0e", to[] = "\n\t\"\\/\r\b\f\0\x1b";
			const char *f = strchr(from, t[k + 1]);
			out = jv_string_append_buf(out, t + run, (int)(k - run));
			if (t[k + 1] == 'u' && k + 6 <= end) {
				char hex[5] = {t[k + 2], t[k + 3], t[k + 4], t[k + 5], 0};
				char *stop;
				unsigned long cp = strtoul(hex, &stop, 16);
				if (*stop != '\0' || (cp >= 0xD800 && cp < 0xE000) || cp == 0)
					cp = 0xFFFD;
				put_utf8(&out, (unsigned)cp);
				k += 6;
			} else if (f != NULL && *f != '0') {
				out = jv_string_append_buf(out, &to[f - from], 1);
				k += 2;
			} else {
				out = jv_string_append_buf(out, t + k, 2); /* kept as written */
				k += 2;
			}
			run = k;
		} else {
			k++;
		}
	}
	jv_free(out);
	return jv_invalid();
}

/* Whether s[0..n) is a decimal number (signs, digits, one '.', an
 * exponent; with '_' between digits when toml) that a double holds as
 * written, and its value.  Not one: a value past the double's range
 * (1e999 read as 1.8e308) or an integer past 2^53 (an id such as
 * 12345678901234567891 read as ...7000): the text stays a string rather
 * than become another number. */
static int number(const char *s, size_t n, int toml, double *v)
{
	char buf[64];
	size_t k = 0, digits = 0;

	if (n == 0 || n >= sizeof buf)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '_' && toml && i > 0 && i + 1 < n)
			continue;
		if (!((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.' || c == 'e' || c == 'E'))
			return 0;
		digits += c >= '0' && c <= '9';
		buf[k++] = c;
	}
	buf[k] = '\0';
	char *end;
	*v = strtod(buf, &end);
	if (digits == 0 || *end != '\0' || !isfinite(*v))
		return 0;
	return strpbrk(buf, ".eE") != NULL || fabs(*v) < 9007199254740992.0; /* 2^53 */
}

/* An unquoted scalar s[0..n) (trimmed, not empty): booleans, null (yaml),
 * numbers; a string for anything else in yaml; in toml a date or time
 * (starts with a digit) is a string, anything else invalid. */
static jv plain(const char *s, size_t n, int toml)
{
	double v;

	if ((n == 4 && (!memcmp(s, "true", 4) || (!toml && (!memcmp(s, "True", 4) || !memcmp(s, "TRUE", 4))))))
		return jv_true();
	if ((n == 5 && (!memcmp(s, "false", 5) || (!toml && (!memcmp(s, "False", 5) || !memcmp(s, "FALSE", 5))))))
		return jv_false();
	if (!toml && ((n == 1 && s[0] == '~') || (n == 4 && (!memcmp(s, "null", 4) || !memcmp(s, "Null", 4) || !memcmp(s, "NULL", 4)))))
		return jv_null();
	if (number(s, n, toml, &v) && !(n > 1 && s[0] == '0' && s[1] >= '0' && s[1] <= '9'))
		return jv_number(v);
	if (toml && !(s[0] >= '0' && s[0] <= '9'))
		return jv_invalid();
	return jv_string_sized(s, (int)(n < FM_VALUE_MAX ? n : FM_VALUE_MAX));
}

/* One scalar in t[s, e) (trimmed by the caller): quoted or plain; a yaml
 * plain scalar ends at " #".  Returns invalid when it is not a scalar. */
static jv scalar(const char *t, size_t s, size_t e, int toml)
{
	if (s >= e)
		return toml ? jv_invalid() : jv_null();
	if (t[s] == '"' || t[s] == '\'') {
		size_t i = s;
		jv v = quoted(t, &i, e, !toml);
		while (i < e && is_blank(t[i]))
			i++;
		if (jv_is_valid(v) && i < e && t[i] != '#') {
			jv_free(v);
			return jv_invalid();
		}
		return v;
	}
	if (!toml)
		for (size_t i = s + 1; i < e; i++)
			if (t[i] == '#' && is_blank(t[i - 1])) {
				e = i;
				trim(t, &s, &e);
				break;
			}
	if (t[s] == '[' || t[s] == '{' || t[s] == '&' || t[s] == '*' || t[s] == '!' || t[s] == '|' ||
	    t[s] == '>')
		return jv_invalid();
	return plain(t + s, e - s, toml);
}

/* ---- YAML ---- */

enum pending { P_NONE, P_LIST, P_SKIP, P_LITERAL, P_FOLDED };

struct yaml {
	const char *t;
	size_t to;  /* end of the block */
	size_t *at; /* start of the next line */
	jv meta;
	jv key;   /* the key whose value is still being read, or invalid */
	enum pending kind;
	jv value; /* the list or block scalar being built */
};

static void yaml_finish(struct yaml *y)
{
	if (jv_is_valid(y->key)) {
		jv v = jv_null();
		if (y->kind == P_LIST || y->kind == P_LITERAL || y->kind == P_FOLDED) {
			jv_free(v);
			v = jv_copy(y->value);
		}
		if (y->kind == P_LITERAL || y->kind == P_FOLDED) { /* one final newline at most */
			const char *s = jv_string_value(v);
			int n = jv_string_length_bytes(jv_copy(v));
			while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
				n--;
			jv_free(v);
			v = jv_string_sized(jv_string_value(y->value), n);
		}
		if (y->kind != P_SKIP)
			y->meta = jv_object_set(y->meta, jv_copy(y->key), v);
		else
			jv_free(v);
	}
	jv_free(y->key);
	jv_free(y->value);
	y->key = jv_invalid();
	y->value = jv_invalid();
	y->kind = P_NONE;
}

/* A flow list "[a, 'b']" in t[s, e): an array, or invalid. */
static jv flow_list(const char *t, size_t s, size_t e, int toml)
{
	jv out = jv_array();

	if (e - s < 2 || t[s] != '[' || t[e - 1] != ']')
		goto bad;
	s++, e--;
	trim(t, &s, &e);
	while (s < e) {
		size_t k = s;
		char q = 0;
		for (; k < e && (q || t[k] != ','); k++)
			if (q && t[k] == '\\' && q == '"')
				k++;
			else if (t[k] == '"' || t[k] == '\'')
				q = q == t[k] ? 0 : q ? q : t[k];
		size_t a = s, b = k < e ? k : e;
		trim(t, &a, &b);
		jv v = scalar(t, a, b, toml);
		if (!jv_is_valid(v) || a == b)
			goto bad_v;
		out = jv_array_append(out, v);
		s = k + 1;
		trim(t, &s, &e);
		continue;
bad_v:
		jv_free(v);
		goto bad;
	}
	return out;
bad:
	jv_free(out);
	return jv_invalid();
}

/* A top-level line t[s, e) (not blank, not a comment, not indented).
 * Returns 0, or -1 when it is not `key: value`. */
static int yaml_key_line(struct yaml *y, size_t s, size_t e)
{
	const char *t = y->t;
	size_t k = s, ke;
	jv key;

	yaml_finish(y);
	if (t[s] == '"' || t[s] == '\'') {
		key = quoted(t, &k, e, 1);
		if (!jv_is_valid(key))
			return -1;
		ke = k;
	} else {
		while (k < e && !(t[k] == ':' && (k + 1 == e || is_blank(t[k + 1]))))
			k++;
		ke = k;
		trim(t, &s, &ke);
		if (ke == s)
			return -1;
		key = jv_string_sized(t + s, (int)(ke - s));
	}
	if (k >= e || t[k] != ':') {
		jv_free(key);
		return -1;
	}
	size_t v = k + 1;
	trim(t, &v, &e);
	y->key = key;
	if (v == e || (t[v] == '#'))
		return 0; /* a list, a mapping or null follows */
	if (t[v] == '|' || t[v] == '>') {
		y->kind = t[v] == '|' ? P_LITERAL : P_FOLDED;
		y->value = jv_string("");
		return 0;
	}
	if (t[v] == '[' && t[e - 1] != ']') { /* a flow list over several lines */
		for (size_t at = *y->at; at < y->to;) {
			size_t ls = at, le = eol(t, y->to, at);
			at = le + 1;
			trim(t, &ls, &le);
			if (ls < le && t[le - 1] == ']') {
				e = le;
				*y->at = at;
				break;
			}
		}
	}
	jv val = t[v] == '[' ? flow_list(t, v, e, 0) : scalar(t, v, e, 0);
	if (!jv_is_valid(val)) {
		jv_free(val);
		y->kind = P_SKIP; /* not a scalar (or one over several lines): skipped */
		return 0;
	}
	y->kind = P_LIST; /* set as is by yaml_finish */
	y->value = val;
	return 0;
}

/* An indented or list line t[s, e) (s at its first non-blank) under the
 * pending key. */
static void yaml_inner_line(struct yaml *y, size_t s, size_t e)
{
	const char *t = y->t;

	if (!jv_is_valid(y->key) || y->kind == P_SKIP)
		return;
	if (y->kind == P_LITERAL || y->kind == P_FOLDED) {
		if (jv_string_length_bytes(jv_copy(y->value)) + (e - s) < FM_VALUE_MAX) {
			y->value = jv_string_append_buf(y->value, t + s, (int)(e - s));
			y->value = jv_string_append_buf(y->value, y->kind == P_LITERAL ? "\n" : " ", 1);
		}
		return;
	}
	if (t[s] == '-' && (s + 1 == e || is_blank(t[s + 1])) &&
	    (y->kind == P_NONE || (y->kind == P_LIST && jv_get_kind(y->value) == JV_KIND_ARRAY))) {
		size_t v = s + 1;
		trim(t, &v, &e);
		jv item = scalar(t, v, e, 0);
		int mapping = 0;
		for (size_t i = v; i < e && !(t[v] == '"' || t[v] == '\''); i++)
			mapping |= t[i] == ':' && (i + 1 == e || is_blank(t[i + 1]));
		if (!jv_is_valid(item) || mapping) {
			jv_free(item);
			y->kind = P_SKIP; /* a list of mappings */
			return;
		}
		if (y->kind == P_NONE)
			y->value = jv_array();
		y->kind = P_LIST;
		y->value = jv_array_append(y->value, item);
		return;
	}
	if (y->kind == P_LIST && jv_get_kind(y->value) == JV_KIND_STRING &&
	    jv_string_length_bytes(jv_copy(y->value)) + (e - s) < FM_VALUE_MAX) {
		y->value = jv_string_append_buf(y->value, " ", 1); /* a plain scalar goes on */
		y->value = jv_string_append_buf(y->value, t + s, (int)(e - s));
		return;
	}
	y->kind = P_SKIP; /* a nested mapping */
}

static int parse_yaml(const char *t, size_t from, size_t to, jv *meta)
{
	size_t at = from;
	struct yaml y = {.t = t, .to = to, .at = &at, .meta = jv_object(), .key = jv_invalid(),
			 .value = jv_invalid()};

	while (at < to) {
		size_t raw = at, e = eol(t, to, at), s = at;
		at = e + 1;
		trim(t, &s, &e);
		if (s == e) {
			if (y.kind == P_LITERAL)
				y.value = jv_string_append_buf(y.value, "\n", 1);
			continue;
		}
		if (raw == s && t[s] == '#')
			continue;
		int item = t[s] == '-' && (s + 1 == e || is_blank(t[s + 1]));
		if (raw < s || item) {
			if (raw == s && !jv_is_valid(y.key))
				goto bad; /* a list at the top level */
			yaml_inner_line(&y, s, e);
			continue;
		}
		if (yaml_key_line(&y, s, e) < 0)
			goto bad;
	}
	yaml_finish(&y);
	*meta = y.meta;
	return 0;
bad:
	yaml_finish(&y);
	jv_free(y.meta);
	return -1;
}

/* ---- TOML ---- */

struct cursor {
	const char *t;
	size_t i, n;
	int skip; /* the value is valid TOML but not kept (a table, nested array) */
};

static void skip_blanks(struct cursor *c, int newlines)
{
	while (c->i < c->n) {
		char ch = c->t[c->i];
		if (ch == ' ' || ch == '\t' || ch == '\r' || (newlines && ch == '\n'))
			c->i++;
		else if (newlines && ch == '#')
			c->i = eol(c->t, c->n, c->i);
		else
			break;
	}
}

static jv toml_value(struct cursor *c, int depth);

static jv toml_array(struct cursor *c, int depth)
{
	jv out = jv_array();

	c->i++; /* '[' */
	for (;;) {
		skip_blanks(c, 1);
		if (c->i >= c->n)
			break;
		if (c->t[c->i] == ']') {
			c->i++;
			return out;
		}
		jv v = toml_value(c, depth + 1);
		if (!jv_is_valid(v)) {
			jv_free(out);
			return v;
		}
		out = jv_array_append(out, v);
		skip_blanks(c, 1);
		if (c->i < c->n && c->t[c->i] == ',')
			c->i++;
		else if (c->i >= c->n || c->t[c->i] != ']')
			break;
	}
	jv_free(out);
	return jv_invalid();
}

/* A multi-line string opened by three q at c->i. */
static jv toml_long_string(struct cursor *c, char q)
{
	const char d[4] = {q, q, q, 0};
	size_t s = c->i + 3;
	const char *e = memmem(c->t + s, c->n - s, d, 3);

	if (e == NULL)
		return jv_invalid();
	size_t end = (size_t)(e - c->t);
	while (end + 3 < c->n && c->t[end + 3] == q) /* """a"""" ends with a quote */
		end++;
	c->i = end + 3;
	if (s < end && c->t[s] == '\n')
		s++;
	else if (s + 1 < end && c->t[s] == '\r' && c->t[s + 1] == '\n')
		s += 2;
	if (q == '\'')
		return jv_string_sized(c->t + s, (int)(end - s));
	/* Escapes as in a basic string: decoded from a quoted copy. */
	jv out = jv_string("");
	for (size_t k = s; k < end;) {
		if (c->t[k] == '\\' && k + 1 < end && (c->t[k + 1] == '\n' || c->t[k + 1] == ' ' ||
						     c->t[k + 1] == '\r')) {
			k++; /* a line-ending backslash joins lines */
			while (k < end && (is_blank(c->t[k]) || c->t[k] == '\n'))
				k++;
			continue;
		}
		size_t run = k;
		while (k < end && c->t[k] != '\\')
			k++;
		out = jv_string_append_buf(out, c->t + run, (int)(k - run));
		if (k + 1 < end) {
			char tmp[8] = {'"', c->t[k], c->t[k + 1], 0};
			size_t len = 3, j = 0;
			if (c->t[k + 1] == 'u' && k + 6 <= end) {
				memcpy(tmp + 1, c->t + k, 6);
				len = 7;
			}
			tmp[len++] = '"';
			jv piece = quoted(tmp, &j, len, 0);
			if (jv_is_valid(piece))
				out = jv_string_concat(out, piece);
			else
				jv_free(piece);
			k += len - 2;
		} else if (k < end) {
			k++;
		}
	}
	return out;
}

static jv toml_value(struct cursor *c, int depth)
{
	const char *t = c->t;

	if (c->i >= c->n || depth > 32)
		return jv_invalid();
	char ch = t[c->i];
	if ((ch == '"' || ch == '\'') && c->i + 2 < c->n && t[c->i + 1] == ch && t[c->i + 2] == ch)
		return toml_long_string(c, ch);
	if (ch == '"' || ch == '\'')
		return quoted(t, &c->i, eol(t, c->n, c->i), 0);
	if (ch == '[') {
		jv v = toml_array(c, depth);
		if (jv_is_valid(v) && depth > 0) {
			c->skip = 1;
			jv_free(v);
			return jv_null();
		}
		return v;
	}
	if (ch == '{') { /* an inline table: skipped to its end */
		int level = 0;
		for (; c->i < c->n; c->i++) {
			if (t[c->i] == '"' || t[c->i] == '\'') {
				jv s = quoted(t, &c->i, eol(t, c->n, c->i), 0);
				int ok = jv_is_valid(s);
				jv_free(s);
				if (!ok)
					return jv_invalid();
				c->i--;
			} else if (t[c->i] == '{') {
				level++;
			} else if (t[c->i] == '}' && --level == 0) {
				c->i++;
				c->skip = 1;
				return jv_null();
			}
		}
		return jv_invalid();
	}
	size_t s = c->i, e = s;
	while (e < c->n && t[e] != ',' && t[e] != ']' && t[e] != '#' && t[e] != '\n')
		e++;
	c->i = e;
	trim(t, &s, &e);
	return s < e ? plain(t + s, e - s, 1) : jv_invalid();
}

static int parse_toml(const char *t, size_t from, size_t to, jv *meta)
{
	struct cursor c = {.t = t, .i = from, .n = to};
	int table = 0;

	*meta = jv_object();
	for (;;) {
		skip_blanks(&c, 1);
		if (c.i >= to)
			return 0;
		size_t e = eol(t, to, c.i);
		if (t[c.i] == '[') { /* [table] or [[array]]: only top-level keys are kept */
			table = 1;
			c.i = e;
			continue;
		}
		const char *eq = memchr(t + c.i, '=', e - c.i);
		if (eq == NULL)
			break;
		size_t ks = c.i, ke = (size_t)(eq - t);
		trim(t, &ks, &ke);
		jv key = jv_invalid();
		if (ks < ke && (t[ks] == '"' || t[ks] == '\'')) {
			size_t k = ks;
			key = quoted(t, &k, ke, 0);
			if (k != ke) {
				jv_free(key);
				key = jv_invalid();
			}
		} else if (ks < ke && ke - ks == strspn(t + ks, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")) {
			key = jv_string_sized(t + ks, (int)(ke - ks));
		} else if (ks < ke && memchr(t + ks, '.', ke - ks) != NULL) {
			table = table ? table : 2; /* a dotted key: skipped */
		}
		c.i = (size_t)(eq - t) + 1;
		skip_blanks(&c, 0);
		c.skip = 0;
		jv v = toml_value(&c, 0);
		skip_blanks(&c, 0);
		int end_ok = c.i >= to || t[c.i] == '\n' || t[c.i] == '#';
		if (!jv_is_valid(v) || !end_ok || (!jv_is_valid(key) && table != 2)) {
			jv_free(v);
			jv_free(key);
			break;
		}
		if (c.i < to && t[c.i] == '#')
			c.i = eol(t, to, c.i);
		if (jv_is_valid(key) && !table && !c.skip)
			*meta = jv_object_set(*meta, key, v);
		else {
			jv_free(key);
			jv_free(v);
		}
		if (table == 2)
			table = 0;
	}
	jv_free(*meta);
	*meta = jv_invalid();
	return -1;
}

size_t fm_parse(const char *text, size_t len, jv *meta, const char **problem)
{
	const char *d = NULL;

	*meta = jv_object();
	*problem = NULL;
	if (is_delim(text, len, 0, "---"))
		d = "---";
	else if (is_delim(text, len, 0, "+++"))
		d = "+++";
	else
		return 0;
	size_t from = eol(text, len, 0) + 1, at = from;
	while (at < len && !is_delim(text, len, at, d) && !(d[0] == '-' && is_delim(text, len, at, "...")))
		at = eol(text, len, at) + 1;
	if (at >= len) {
		*problem = "front matter without its closing line; kept as text";
		return 0;
	}
	size_t end = eol(text, len, at);
	end = end < len ? end + 1 : len;
	if (at - from > FM_MAX_BYTES) {
		*problem = "front matter over " FM_MAX_SAID ": its fields are not read";
		return end;
	}
	jv m;
	int rc = d[0] == '-' ? parse_yaml(text, from, at, &m) : parse_toml(text, from, at, &m);
	if (rc < 0) {
		*problem = d[0] == '-' ? "front matter is not YAML key: value lines; kept as text"
				       : "front matter is not TOML key = value lines; kept as text";
		return 0;
	}
	jv_free(*meta);
	*meta = m;
	return end;
}
