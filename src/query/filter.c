#include "filter.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "text.h"

#define QUERY_DOCS_MAX (64u << 20) /* documents a filter may select */

void query_filter_init(query_filter *f)
{
	f->paths = jv_array();
	f->where = jv_object();
	f->since = NULL;
}

void query_filter_free(query_filter *f)
{
	jv_free(f->paths);
	jv_free(f->where);
	f->paths = jv_null();
	f->where = jv_null();
}

int query_filter_active(const query_filter *f)
{
	return jv_array_length(jv_copy(f->paths)) > 0 || jv_object_length(jv_copy(f->where)) > 0 ||
	       f->since != NULL;
}

void query_shown(const char *s, size_t len, char *out, size_t size)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t o = 0, i = 0;

	while (i < len && o + 8 < size) {
		size_t n = dp_utf8_seq_len(u + i, len - i);
		if (i >= 120) {
			o += (size_t)snprintf(out + o, size - o, "...");
			break;
		}
		if (n == 0 || (n == 1 && (u[i] < 0x20 || u[i] == 0x7f))) {
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", u[i]);
			i++;
		} else {
			memcpy(out + o, s + i, n);
			o += n;
			i += n;
		}
	}
	out[o < size ? o : size - 1] = '\0';
}

int query_check_utf8(const char *what, const char *s, dp_err *err)
{
	size_t len = strlen(s), at = dp_utf8_invalid_at(s, len);

	if (at == len)
		return 0;
	/* Up to 40 bytes before the bad one (from a character's start), and
	 * what follows. */
	size_t from = at > 40 ? at - 40 : 0;
	while (from > 0 && ((unsigned char)s[from] & 0xC0) == 0x80)
		from++;
	char ctx[200];
	query_shown(s + from, len - from, ctx, sizeof ctx);
	dp_err_set(err, "%s is not valid UTF-8: the byte at offset %zu (0x%02x) begins no valid"
		   " character: '%s%s'", what, at, (unsigned char)s[at], from > 0 ? "..." : "", ctx);
	return -1;
}

/* Turning a glob into a PostgreSQL regular expression (an ARE) that means
 * the same, or saying why the glob means nothing. */
struct glob {
	const char *p; /* the glob: valid UTF-8 */
	size_t len, i; /* its length, the next byte to read */
	char *re;      /* the regular expression: at most 2 bytes per glob byte, + 3 */
	size_t o;
	char why[DP_ERR_MAX - 100];
};

/* The characters that are special in an ARE outside brackets; inside
 * brackets every ASCII punctuation character is written escaped, which
 * an ARE reads as that character. */
#define GLOB_RE_SPECIAL ".^$+(){}|\\[]*?"

/* Emits the n-byte character at p + at as itself. */
static void glob_literal(struct glob *g, size_t at, size_t n, int in_class)
{
	unsigned char c = (unsigned char)g->p[at];

	if (n == 1 && (in_class ? ispunct(c) : strchr(GLOB_RE_SPECIAL, c) != NULL))
		g->re[g->o++] = '\\';
	memcpy(g->re + g->o, g->p + at, n);
	g->o += n;
}

/* The code point of the character at p + at into *cp; returns its length. */
static size_t glob_char(const struct glob *g, size_t at, uint32_t *cp)
{
	const unsigned char *u = (const unsigned char *)g->p + at;
	size_t n = dp_utf8_seq_len(u, g->len - at);

	*cp = n <= 1 ? u[0] : n == 2 ? (uint32_t)(u[0] & 0x1f) << 6 | (u[1] & 0x3f)
	      : n == 3 ? (uint32_t)(u[0] & 0x0f) << 12 | (uint32_t)(u[1] & 0x3f) << 6 | (u[2] & 0x3f)
	      : (uint32_t)(u[0] & 0x07) << 18 | (uint32_t)(u[1] & 0x3f) << 12 |
		(uint32_t)(u[2] & 0x3f) << 6 | (u[3] & 0x3f);
	return n > 0 ? n : 1;
}

/* One character of a class at g->i ('\' escapes the next one) into *at,
 * *n and *cp; moves past it.  Returns 0, or -1 with g->why: a '\' that
 * ends the glob, a class or collating element where a character must be. */
static int class_char(struct glob *g, size_t *at, size_t *n, uint32_t *cp)
{
	if (g->p[g->i] == '\\') {
		if (g->i + 1 == g->len) {
			snprintf(g->why, sizeof g->why, "it ends in a '\\' that escapes nothing"
				 " (for a '\\' itself write '\\\\')");
			return -1;
		}
		g->i++;
	} else if (g->p[g->i] == '[' && g->i + 1 < g->len && strchr(":.=", g->p[g->i + 1]) != NULL) {
		/* Where a character must be ('[:' opening an item is class_name's). */
		snprintf(g->why, sizeof g->why, "the '[%c' at byte %zu starts a %s, not a character:"
			 " %s (write '\\[' for a '[')", g->p[g->i + 1], g->i,
			 g->p[g->i + 1] == ':' ? "character class" : "collating element",
			 g->p[g->i + 1] == ':' ? "it cannot end a range" : "those are not supported");
		return -1;
	}
	*at = g->i;
	*n = glob_char(g, g->i, cp);
	g->i += *n;
	return 0;
}

/* A named class [:name:] at g->i inside brackets: emitted as is. */
static int class_name(struct glob *g)
{
	static const char *const names[] = {"alnum", "alpha", "blank", "cntrl", "digit", "graph",
					     "lower", "print", "punct", "space", "upper", "xdigit"};
	const char *end = strstr(g->p + g->i + 2, ":]");
	size_t at = g->i, n = end != NULL ? (size_t)(end - (g->p + at + 2)) : 0;

	for (size_t k = 0; end != NULL && k < sizeof names / sizeof names[0]; k++)
		if (strlen(names[k]) == n && strncmp(names[k], g->p + at + 2, n) == 0) {
			memcpy(g->re + g->o, g->p + at, n + 4);
			g->o += n + 4;
			g->i += n + 4;
			if (g->p[g->i] == '-' && g->i + 1 < g->len && g->p[g->i + 1] != ']') {
				snprintf(g->why, sizeof g->why, "the '-' at byte %zu follows a character"
					 " class, so it is no range (write '\\-' for a '-')", g->i);
				return -1;
			}
			return 0;
		}
	snprintf(g->why, sizeof g->why, "the '[:' at byte %zu names no character class (alnum,"
		 " alpha, blank, cntrl, digit, graph, lower, print, punct, space, upper, xdigit;"
		 " write '\\[' for a '[')", at);
	return -1;
}

/* A bracket expression at g->i ('['): [abc], [a-z], [!...] or [^...]
 * negated, [:alpha:] and the like inside, '\' escaping, a ']' first in
 * the class belonging to it (as fnmatch reads them).  Returns 0, or -1
 * with g->why: never closed, a range from a later character to an earlier
 * one, a class name it does not know, a collating element. */
static int glob_class(struct glob *g)
{
	size_t open = g->i++;

	g->re[g->o++] = '[';
	if (g->i < g->len && (g->p[g->i] == '!' || g->p[g->i] == '^')) {
		g->re[g->o++] = '^';
		g->i++;
	}
	for (int first = 1;; first = 0) {
		if (g->i >= g->len) {
			snprintf(g->why, sizeof g->why, "the '[' at byte %zu opens a character class that"
				 " is never closed (for a '[' itself write '\\[' or '[[]'; a ']' right"
				 " after '[' or '[!' belongs to the class)", open);
			return -1;
		}
		if (g->p[g->i] == ']' && !first) {
			g->re[g->o++] = ']';
			g->i++;
			return 0;
		}
		if (g->p[g->i] == '[' && g->i + 1 < g->len && g->p[g->i + 1] == ':') {
			if (class_name(g) < 0)
				return -1;
			continue;
		}
		size_t lo, nlo, hi, nhi;
		uint32_t clo, chi;
		if (class_char(g, &lo, &nlo, &clo) < 0)
			return -1;
		if (g->i + 1 < g->len && g->p[g->i] == '-' && g->p[g->i + 1] != ']') {
			g->i++;
			if (class_char(g, &hi, &nhi, &chi) < 0)
				return -1;
			if (chi < clo) {
				snprintf(g->why, sizeof g->why, "the range '%.*s-%.*s' at byte %zu runs"
					 " backwards, so it holds no character", (int)nlo, g->p + lo,
					 (int)nhi, g->p + hi, lo);
				return -1;
			}
			glob_literal(g, lo, nlo, 1);
			g->re[g->o++] = '-';
			glob_literal(g, hi, nhi, 1);
		} else {
			glob_literal(g, lo, nlo, 1);
		}
	}
}

/* Translates g->p into g->re.  Returns 0, or -1 with g->why. */
static int glob_translate(struct glob *g)
{
	size_t chars = 0, classes = 0; /* items that match one character; [...] among them */

	g->re[g->o++] = '^';
	for (; g->i < g->len; chars++) {
		char ch = g->p[g->i];
		uint32_t cp;
		if (ch == '*') {
			chars--; /* "**" is '*': one ".*" */
			if (g->o < 2 || memcmp(g->re + g->o - 2, ".*", 2) != 0 ||
			    (g->o >= 3 && g->re[g->o - 3] == '\\')) {
				memcpy(g->re + g->o, ".*", 2);
				g->o += 2;
			}
			g->i++;
		} else if (ch == '?') {
			g->re[g->o++] = '.';
			g->i++;
		} else if (ch == '[') {
			if (++classes > QUERY_GLOB_CLASSES_MAX) {
				snprintf(g->why, sizeof g->why, "it has more than %d bracket expressions"
					 " ([...]): PostgreSQL takes seconds to compile so many (680 took 9 s)",
					 QUERY_GLOB_CLASSES_MAX);
				return -1;
			}
			if (glob_class(g) < 0)
				return -1;
		} else if (ch == '\\' && g->i + 1 == g->len) {
			snprintf(g->why, sizeof g->why, "it ends in a '\\' that escapes nothing"
				 " (for a '\\' itself write '\\\\')");
			return -1;
		} else {
			g->i += ch == '\\'; /* escaped: the next character as itself */
			size_t n = glob_char(g, g->i, &cp);
			glob_literal(g, g->i, n, 0);
			g->i += n;
		}
	}
	if (chars > QUERY_GLOB_CHARS_MAX) {
		snprintf(g->why, sizeof g->why, "it needs at least %zu characters, and docpipe-store"
			 " keeps paths of at most %d bytes", chars, QUERY_GLOB_CHARS_MAX);
		return -1;
	}
	g->re[g->o++] = '$';
	return 0;
}

jv query_glob_regex(const char *glob)
{
	struct glob g = {.p = glob, .len = strlen(glob)};

	if (g.len == 0)
		return jv_invalid_with_msg(jv_string("an empty pattern matches no stored path"));
	/* Stored paths are absolute (docs/protocol.md): a pattern starting
	 * with another character than '/' (or '\/') cannot match one. */
	const char *first = glob[0] == '\\' ? glob + 1 : glob;
	if (glob[0] != '*' && glob[0] != '?' && glob[0] != '[' && *first != '/' && *first != '\0') {
		char why[DP_ERR_MAX];
		int n = (int)dp_utf8_seq_len((const unsigned char *)first, strlen(first));
		snprintf(why, sizeof why, "stored paths are absolute, so a pattern starting with '%.*s'"
			 " matches none (start it with '/' or '*': '*/%.*s')", n > 0 ? n : 1, first,
			 (int)dp_utf8_floor(first, strnlen(first, 80)), first);
		return jv_invalid_with_msg(jv_string(why));
	}
	if ((g.re = malloc(2 * g.len + 16)) == NULL)
		return jv_invalid_with_msg(jv_string("out of memory"));
	jv r = glob_translate(&g) == 0 ? jv_string_sized(g.re, (int)g.o)
				       : jv_invalid_with_msg(jv_string(g.why));
	free(g.re);
	return r;
}

int query_filter_add_path(query_filter *f, const char *glob, dp_err *err)
{
	char name[200];

	if (query_check_utf8("--path", glob, err) < 0)
		return -1;
	if (jv_array_length(jv_copy(f->paths)) == QUERY_PATHS_MAX) {
		dp_err_set(err, "--path: at most %d patterns (PostgreSQL keeps %d compiled regular"
			   " expressions: with more, each is compiled again for every document)",
			   QUERY_PATHS_MAX, QUERY_PATHS_MAX);
		return -1;
	}
	jv re = query_glob_regex(glob);
	if (!jv_is_valid(re)) {
		jv msg = jv_invalid_get_msg(re);
		query_shown(glob, strlen(glob), name, sizeof name);
		dp_err_set(err, "--path '%s': %s", name, jv_string_value(msg));
		jv_free(msg);
		return -1;
	}
	f->paths = jv_array_append(f->paths, re);
	return 0;
}

int query_filter_add_where(query_filter *f, const char *arg, dp_err *err)
{
	const char *eq = strchr(arg, '=');
	char name[200];

	if (query_check_utf8("--where", arg, err) < 0)
		return -1;
	query_shown(arg, strlen(arg), name, sizeof name);
	if (eq == NULL || eq == arg) {
		dp_err_set(err, "--where: '%s' is not KEY=VALUE", name);
		return -1;
	}
	jv key = jv_string_sized(arg, (int)(eq - arg));
	jv had = jv_object_get(jv_copy(f->where), jv_copy(key));
	if (jv_is_valid(had) && strcmp(jv_string_value(had), eq + 1) != 0) {
		dp_err_set(err, "--where '%s': %s is already required to be '%.*s' (an earlier"
			   " --where); a document has one value for a key, so both cannot hold",
			   name, jv_string_value(key), 150, jv_string_value(had));
		jv_free(had);
		jv_free(key);
		return -1;
	}
	jv_free(had);
	f->where = jv_object_set(f->where, key, jv_string(eq + 1));
	return 0;
}

/* A document passes when one path regex matches (or none is given), every
 * metadata KEY holds VALUE as text (->> renders numbers and booleans as
 * JSON writes them), and its file time (or, unknown, its store time) is at
 * or after since. */
static const char filter_sql[] =
	"SELECT d.id FROM docpipe.documents d WHERE"
	" (jsonb_array_length($1::jsonb) = 0 OR EXISTS (SELECT 1 FROM"
	"   jsonb_array_elements_text($1::jsonb) g WHERE d.path ~ g))"
	" AND NOT EXISTS (SELECT 1 FROM jsonb_each_text($2::jsonb) w"
	"   WHERE d.metadata ->> w.key IS DISTINCT FROM w.value)"
	" AND ($3::timestamptz IS NULL OR coalesce(d.mtime, d.updated_at) >= $3::timestamptz)"
	" ORDER BY d.id";

int query_filter_check(PGconn *db, const query_filter *f, dp_err *err)
{
	if (f->since == NULL)
		return 0;
	const char *params[] = {f->since};
	PGresult *res = dp_db_query(db, "SELECT $1::timestamptz", 1, params, err);
	if (res != NULL) {
		PQclear(res);
		return 0;
	}
	const char *state = dp_db_last_sqlstate();
	if (state == NULL || strncmp(state, "22", 2) != 0)
		return -1;
	dp_err_set(err, "--since: '%s' is not a date or time PostgreSQL reads (2024-05-01, 2024-05-01 12:00+02)",
		   f->since);
	return 1;
}

int query_filter_ids(PGconn *db, const query_filter *f, query_ids *ids, dp_err *err)
{
	jv p = jv_dump_string(jv_copy(f->paths), 0), w = jv_dump_string(jv_copy(f->where), 0);
	const char *params[] = {jv_string_value(p), jv_string_value(w), f->since};
	PGresult *res = dp_db_query(db, filter_sql, 3, params, err);

	jv_free(p);
	jv_free(w);
	ids->ids = NULL;
	ids->n = 0;
	if (res == NULL)
		return -1;
	size_t n = (size_t)PQntuples(res);
	if (n > QUERY_DOCS_MAX || (ids->ids = malloc((n > 0 ? n : 1) * sizeof *ids->ids)) == NULL) {
		PQclear(res);
		dp_err_set(err, "out of memory for %zu filtered documents", n);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		ids->ids[i] = strtoll(PQgetvalue(res, (int)i, 0), NULL, 10);
	ids->n = n;
	PQclear(res);
	return 0;
}

void query_ids_free(query_ids *ids)
{
	free(ids->ids);
	ids->ids = NULL;
	ids->n = 0;
}

int query_ids_has(const query_ids *ids, int64_t id)
{
	size_t lo = 0, hi = ids->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ids->ids[mid] == id)
			return 1;
		if (ids->ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

char *query_int_array(const int64_t *v, size_t n)
{
	size_t cap = n * 21 + 3, o = 0;
	char *s = malloc(cap);

	if (s == NULL)
		return NULL;
	s[o++] = '{';
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(s + o, cap - o, "%s%lld", i ? "," : "", (long long)v[i]);
	snprintf(s + o, cap - o, "}");
	return s;
}
