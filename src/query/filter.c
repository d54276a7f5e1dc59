#include "filter.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "glob.h"
#include "text.h"

#define QUERY_DOCS_MAX (64u << 20) /* documents a filter may select */

void query_filter_init(query_filter *f)
{
	f->paths = jv_array();
	f->where = jv_array();
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
	return jv_array_length(jv_copy(f->paths)) > 0 || jv_array_length(jv_copy(f->where)) > 0 ||
	       f->since != NULL;
}

jv query_glob_regex(const char *glob)
{
	dp_glob_cost cost;

	if (glob[0] == '\0')
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
	jv re = dp_glob_regex(glob, &cost);
	if (!jv_is_valid(re))
		return re;
	if (cost.classes > QUERY_GLOB_CLASSES_MAX) {
		jv_free(re);
		return jv_invalid_with_msg(jv_string_fmt(
			"it has more than %d bracket expressions ([...]): PostgreSQL takes seconds to"
			" compile so many (680 took 9 s)", QUERY_GLOB_CLASSES_MAX));
	}
	if (cost.chars > QUERY_GLOB_CHARS_MAX) {
		jv_free(re);
		return jv_invalid_with_msg(jv_string_fmt(
			"it needs at least %zu characters, and docpipe-store keeps paths of at most %d"
			" bytes", cost.chars, QUERY_GLOB_CHARS_MAX));
	}
	return re;
}

int query_filter_add_path(query_filter *f, const char *glob, dp_err *err)
{
	char name[200];

	if (dp_utf8_check("--path", glob, err) < 0)
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
		dp_utf8_shown(glob, strlen(glob), name, sizeof name);
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

	if (dp_utf8_check("--where", arg, err) < 0)
		return -1;
	dp_utf8_shown(arg, strlen(arg), name, sizeof name);
	if (eq == NULL || eq == arg) {
		dp_err_set(err, "--where: '%s' is not KEY=VALUE", name);
		return -1;
	}
	f->where = jv_array_append(f->where, JV_ARRAY(jv_string_sized(arg, (int)(eq - arg)), jv_string(eq + 1)));
	return 0;
}

/* A document passes when one path regex matches (or none is given), every
 * [KEY, VALUE] of $2 holds, and its file time (or, unknown, its store time)
 * is at or after since.  KEY=VALUE holds when the metadata has KEY and its
 * value, or one element of it when it is a list (tags: [a, b]), is VALUE
 * as text (numbers and booleans as JSON writes them), a number equal to
 * VALUE read as one (weight: 10.0 and weight=10), or null when VALUE is
 * empty or "null" (a front matter key left empty).  Before, the value was
 * compared as ->> renders it, so a list or 10.0 matched nothing unless
 * written as PostgreSQL prints it.  The CASE keeps the cast from text
 * that is no number. */
static const char filter_sql[] =
	"SELECT d.id FROM docpipe.documents d WHERE"
	" (jsonb_array_length($1::jsonb) = 0 OR EXISTS (SELECT 1 FROM"
	"   jsonb_array_elements_text($1::jsonb) g WHERE d.path ~ g))"
	" AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements($2::jsonb) w WHERE NOT ("
	"   d.metadata ? (w ->> 0) AND EXISTS (SELECT 1 FROM jsonb_array_elements("
	"     CASE jsonb_typeof(d.metadata -> (w ->> 0)) WHEN 'array' THEN d.metadata -> (w ->> 0)"
	"     ELSE jsonb_build_array(d.metadata -> (w ->> 0)) END) e WHERE"
	"     e #>> '{}' = w ->> 1"
	"     OR (jsonb_typeof(e) = 'null' AND w ->> 1 IN ('', 'null'))"
	"     OR CASE WHEN jsonb_typeof(e) = 'number'"
	"       AND w ->> 1 ~ '^ *[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]{1,3})? *$'"
	"       THEN (e #>> '{}')::numeric = (w ->> 1)::numeric ELSE false END)))"
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
