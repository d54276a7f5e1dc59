#include "result.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "filter.h"
#include "text.h"
#include "textrank.h"

#define SNIPPET_MAX 240

/* $1 document ids, $2 seqs (ranked order), $3 config, $4 the question's
 * terms (text[], see query_text_terms) or NULL.  t.text: the chunk's text
 * without the bytes that mark the terms (a text may hold them: control
 * characters), so that in the headline they are marks only; replace, not
 * translate: ~5 against ~55 us a 4 KB chunk. */
static const char details_sql[] =
	"SELECT h.ord, d.path, coalesce(array_to_json(c.heading)::text, '[]'), c.content,"
	" d.summary, c.summary, c.byte_start, c.byte_end, c.line_start, c.line_end,"
	" c.page_start, c.page_end, coalesce(ts_headline($3::regconfig, t.text, "
	QUERY_OR_TSQUERY("$4") ", 'MaxFragments=2, MinWords=8, MaxWords=24,"
	" StartSel=" QUERY_HL_START ", StopSel=" QUERY_HL_STOP ", FragmentDelimiter=\" ... \"'),"
	" t.text)"
	" FROM unnest($1::bigint[], $2::bigint[]) WITH ORDINALITY AS h(id, seq, ord)"
	" JOIN docpipe.chunks c ON c.document_id = h.id AND c.seq = h.seq"
	" JOIN docpipe.documents d ON d.id = c.document_id"
	" CROSS JOIN LATERAL replace(replace(c.content, '" QUERY_HL_START "', ''), '" QUERY_HL_STOP "', '')"
	" AS t(text)"
	" ORDER BY h.ord";

enum { C_ORD, C_PATH, C_HEADING, C_CONTENT, C_DSUMMARY, C_CSUMMARY, C_RANGE, C_HEADLINE = 12 };

static const char *const range_names[] = {"byte_start", "byte_end", "line_start", "line_end",
					  "page_start", "page_end"};

static jv text_or_null(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? jv_null() : jv_string(PQgetvalue(res, row, col));
}

static jv number_or_null(double x, int known)
{
	return known ? jv_number(x) : jv_null();
}

static jv result_object(const PGresult *res, int row, const query_fused *h, enum query_mode mode)
{
	jv heading = jv_parse(PQgetvalue(res, row, C_HEADING));
	double score = mode == QUERY_VECTOR ? h->vscore : mode == QUERY_TEXT ? h->tscore : h->score;
	jv r = jv_object();

	if (jv_get_kind(heading) != JV_KIND_ARRAY) {
		jv_free(heading);
		heading = jv_array();
	}
	r = jv_object_set(r, jv_string("score"), jv_number(score));
	r = jv_object_set(r, jv_string("path"), jv_string(PQgetvalue(res, row, C_PATH)));
	r = jv_object_set(r, jv_string("seq"), jv_number(h->seq));
	r = jv_object_set(r, jv_string("heading"), heading);
	for (int i = 0; i < 6; i++)
		r = jv_object_set(r, jv_string(range_names[i]),
				  PQgetisnull(res, row, C_RANGE + i) ? jv_null()
				  : jv_number(strtod(PQgetvalue(res, row, C_RANGE + i), NULL)));
	r = jv_object_set(r, jv_string("vector_rank"), number_or_null(h->vrank, h->vrank > 0));
	r = jv_object_set(r, jv_string("vector_score"), number_or_null(h->vscore, h->vrank > 0));
	r = jv_object_set(r, jv_string("text_rank"), number_or_null(h->trank, h->trank > 0));
	r = jv_object_set(r, jv_string("text_score"), number_or_null(h->tscore, h->trank > 0));
	/* Texts another program stored in a SQL_ASCII database may hold bytes
	 * that are not UTF-8: jv_string makes each U+FFFD, the snippet is cut
	 * from the repaired text. */
	jv headline = jv_string(PQgetvalue(res, row, C_HEADLINE)), highlights;
	r = jv_object_set(r, jv_string("snippet"), query_snippet(jv_string_value(headline),
								  SNIPPET_MAX, &highlights));
	r = jv_object_set(r, jv_string("highlights"), highlights);
	jv_free(headline);
	r = jv_object_set(r, jv_string("content"), jv_string(PQgetvalue(res, row, C_CONTENT)));
	r = jv_object_set(r, jv_string("summary"), text_or_null(res, row, C_DSUMMARY));
	r = jv_object_set(r, jv_string("chunk_summary"), text_or_null(res, row, C_CSUMMARY));
	return r;
}

jv query_results(PGconn *db, const query_fused *hits, size_t n, enum query_mode mode,
		 const char *cfg, const char *terms, dp_err *err)
{
	int64_t *ids = malloc((n > 0 ? n : 1) * sizeof *ids), *seqs = malloc((n > 0 ? n : 1) * sizeof *seqs);
	char *idl = NULL, *seql = NULL;
	jv out = jv_invalid();

	if (ids != NULL && seqs != NULL) {
		for (size_t i = 0; i < n; i++) {
			ids[i] = hits[i].doc_id;
			seqs[i] = hits[i].seq;
		}
		idl = query_int_array(ids, n);
		seql = query_int_array(seqs, n);
	}
	if (idl == NULL || seql == NULL) {
		dp_err_set(err, "out of memory");
		goto done;
	}
	const char *params[] = {idl, seql, cfg[0] != '\0' ? cfg : "simple", terms};
	PGresult *res = dp_db_query(db, details_sql, 4, params, err);
	if (res == NULL)
		goto done;
	out = jv_array();
	for (int r = 0; r < PQntuples(res); r++) {
		const query_fused *h = &hits[atoi(PQgetvalue(res, r, C_ORD)) - 1];
		jv first = jv_object_set(jv_object(), jv_string("rank"),
					 jv_number(jv_array_length(jv_copy(out)) + 1));
		out = jv_array_append(out, jv_object_merge(first, result_object(res, r, h, mode)));
	}
	PQclear(res);
done:
	free(ids);
	free(seqs);
	free(idl);
	free(seql);
	return out;
}

/* The bytes a mark takes, and the least room a term's start needs: its
 * marks and one byte of it. */
#define MARK_LEN (sizeof QUERY_MARK - 1)
#define TERM_ROOM (2 * MARK_LEN + 1)

/* Appends [start, end] to the array *highlights. */
static void add_highlight(jv *highlights, size_t start, size_t end)
{
	jv place = jv_array_append(jv_array_append(jv_array(), jv_number((double)start)),
				   jv_number((double)end));

	*highlights = jv_array_append(*highlights, place);
}

jv query_snippet(const char *s, size_t max, jv *highlights)
{
	size_t len = strlen(s), o = 0, from = 0, start = 0;
	const char *mark = strchr(s, QUERY_HL_START[0]);
	char *out = malloc(max + 7);
	int space = 0, open = 0, cut = 0;

	*highlights = jv_array();
	if (out == NULL)
		return jv_string("");
	/* The question's first term past two thirds of the room (after a long
	 * token: a URL, base64, a CJK run without spaces) would be cut off,
	 * and the snippet show no term: it starts a third of the room before
	 * the term instead (after the first space there, if any, else on a
	 * code point). */
	if (mark != NULL && (size_t)(mark - s) > max / 3 * 2) {
		from = (size_t)(mark - s) - max / 3;
		const char *sp = memchr(s + from, ' ', (size_t)(mark - s) - from);
		if (sp != NULL)
			from = (size_t)(sp - s) + 1;
		while (from > 0 && ((unsigned char)s[from] & 0xc0) == 0x80)
			from--;
		memcpy(out, "...", 3);
		o = 3;
		max += 3;
	}
	for (size_t i = from; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r') {
			space = o > 0;
			continue;
		}
		/* A term's marks are written whole; the room for its stop mark
		 * is kept while it is open. */
		int is_start = ch == (unsigned char)QUERY_HL_START[0];
		int is_stop = ch == (unsigned char)QUERY_HL_STOP[0];
		size_t need = (space ? 1 : 0) + (is_start ? TERM_ROOM : is_stop ? 0 : 1);
		if (o + need + (open ? MARK_LEN : 0) > max) {
			cut = 1;
			break;
		}
		if (space)
			out[o++] = ' ';
		space = 0;
		if (!is_start && !is_stop) {
			out[o++] = (char)ch;
			continue;
		}
		if (is_start == open)
			continue; /* a stray mark (ts_headline writes none) */
		if (open)
			add_highlight(highlights, start, o);
		memcpy(out + o, QUERY_MARK, MARK_LEN);
		o += MARK_LEN;
		open = !open;
		start = o;
	}
	/* dp_utf8_floor steps back over continuation bytes only: never into
	 * an open term's start mark. */
	o = dp_utf8_floor(out, o);
	if (open && o == start) { /* no character of the term: left out */
		o -= MARK_LEN;
		o -= o > 0 && out[o - 1] == ' ';
	} else if (open) {
		add_highlight(highlights, start, o);
		memcpy(out + o, QUERY_MARK, MARK_LEN);
		o += MARK_LEN;
	}
	if (cut) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	jv r = jv_string_sized(out, (int)o);
	free(out);
	return r;
}

/* "path", or "path:L1-L2" when the chunk's lines are known. */
static void print_place(FILE *out, jv r)
{
	jv path = jv_object_get(jv_copy(r), jv_string("path"));
	jv l1 = jv_object_get(jv_copy(r), jv_string("line_start"));
	jv l2 = jv_object_get(r, jv_string("line_end"));

	dp_put_shown(out, jv_string_value(path), 0);
	if (jv_get_kind(l1) == JV_KIND_NUMBER && jv_get_kind(l2) == JV_KIND_NUMBER)
		fprintf(out, ":%.0f-%.0f", jv_number_value(l1), jv_number_value(l2));
	jv_free(path);
	jv_free(l1);
	jv_free(l2);
}

void query_print_text(FILE *out, jv results)
{
	int n = jv_array_length(jv_copy(results));

	for (int i = 0; i < n; i++) {
		jv r = jv_array_get(jv_copy(results), i);
		jv heading = jv_object_get(jv_copy(r), jv_string("heading"));
		jv snippet = jv_object_get(jv_copy(r), jv_string("snippet"));
		jv score = jv_object_get(jv_copy(r), jv_string("score"));
		fprintf(out, "%d. %.4f  ", i + 1, jv_number_value(score));
		jv_free(score);
		print_place(out, r);
		int nh = jv_array_length(jv_copy(heading));
		for (int h = 0; h < nh; h++) {
			jv part = jv_array_get(jv_copy(heading), h);
			fputs(h == 0 ? "  (" : " > ", out);
			dp_put_shown(out, jv_string_value(part), 0);
			jv_free(part);
		}
		fprintf(out, "%s\n   ", nh > 0 ? ")" : "");
		dp_put_shown(out, jv_string_value(snippet), 0);
		putc('\n', out);
		jv_free(snippet);
		jv_free(heading);
	}
	jv_free(results);
}
