/* Unit tests for docpipe-query's hybrid parts: rank fusion, path globs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/lib/text.h"
#include "../../src/query/filter.h"
#include "../../src/query/fuse.h"
#include "t.h"

static query_hit hit(int64_t doc, double score)
{
	return (query_hit){.doc_id = doc, .seq = 0, .score = score};
}

/* Vector ranks A B C D, text ranks D E A.  With k = 1 and text weight 1:
 * A 1/2 + 1/4 = .75, D 1/5 + 1/2 = .7, B 1/3 and E 1/3 (a tie, and
 * both best single ranks are 2: document id order), C 1/4. */
static void test_fuse_hand_built(void)
{
	enum { A = 1, B, C, D, E };
	query_hit v[] = {hit(A, .9), hit(B, .8), hit(C, .7), hit(D, .6)};
	query_hit t[] = {hit(D, 7), hit(E, 5), hit(A, 1)};
	query_fused out[7];

	query_fusion rrf = {.rule = QUERY_FUSE_RRF, .rrf_k = 1, .text_weight = 1};
	size_t n = query_fuse(v, 4, t, 3, 50, &rrf, out);
	T_EQ_INT(n, 5, "five distinct chunks");
	int64_t want[] = {A, D, B, E, C};
	int order = 1;
	for (size_t i = 0; i < 5; i++)
		order &= out[i].doc_id == want[i];
	T_OK(order, "fused order A D B E C");
	T_OK(fabs(out[0].score - 0.75) < 1e-12, "A's fused score 1/2 + 1/4");
	T_OK(out[0].vrank == 1 && out[0].trank == 3 && out[0].tscore == 1, "A keeps both ranks and scores");
	T_OK(out[3].vrank == 0 && isnan(out[3].vscore) && out[3].trank == 2, "E: text only");
	/* A heavier text ranking lets D (text 1st, vector 4th) overtake A. */
	rrf.text_weight = 3;
	n = query_fuse(v, 4, t, 3, 50, &rrf, out);
	T_OK(n == 5 && out[0].doc_id == D, "text weight 3: D first (1/5 + 3/2 > 1/2 + 3/4)");
	/* One side alone keeps its order. */
	rrf = (query_fusion){.rule = QUERY_FUSE_RRF, .rrf_k = 60, .text_weight = 2};
	n = query_fuse(NULL, 0, t, 3, 50, &rrf, out);
	T_OK(n == 3 && out[0].doc_id == D && out[1].doc_id == E && out[2].doc_id == A, "text alone: its order");
	n = query_fuse(v, 4, NULL, 0, 50, &rrf, out);
	T_OK(n == 4 && out[0].doc_id == A && out[3].doc_id == D, "vector alone: its order");
}

static void test_glob(void)
{
	struct { const char *glob, *re; } cases[] = {
		{"*/guide/*.md", "^.*/guide/.*\\.md$"},
		{"/docs/a?.md", "^/docs/a.\\.md$"},
		{"/x/[!ab]*", "^/x/[^ab].*$"},
		{"/x/[^ab]*", "^/x/[^ab].*$"},
		{"/x/[a-c].txt", "^/x/[a-c]\\.txt$"},
		{"/odd(1)+$^{|}", "^/odd\\(1\\)\\+\\$\\^\\{\\|\\}$"},
		/* '\' makes the next character match itself, as in fnmatch(3). */
		{"/b\\[1\\].md", "^/b\\[1\\]\\.md$"},
		{"/lit\\*\\?\\\\x", "^/lit\\*\\?\\\\x$"},
		{"/\\a\\b", "^/ab$"}, /* never an ARE escape such as \a */
		{"\\/x", "^/x$"},
		/* A ']' first in a class belongs to it; '[' and punctuation in a
		 * class are written escaped; '-' first or last is itself. */
		{"/[]a]", "^/[\\]a]$"},
		{"/[![]", "^/[^\\[]$"},
		{"/[-a-]", "^/[\\-a\\-]$"},
		{"/[\\]x]", "^/[\\]x]$"},
		{"/[[:alpha:][:digit:]_]", "^/[[:alpha:][:digit:]\\_]$"},
		{"/[a-\xc3\xa9]", "^/[a-\xc3\xa9]$"},
		{"/\xc3\xa9*", "^/\xc3\xa9.*$"},
		/* "**" is '*'; an escaped '*' or '.' before a '*' stays. */
		{"/a***b*", "^/a.*b.*$"},
		{"/\\**\\.*", "^/\\*.*\\..*$"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		jv re = query_glob_regex(cases[i].glob);
		T_EQ_STR(jv_is_valid(re) ? jv_string_value(re) : "(invalid)", cases[i].re, cases[i].glob);
		jv_free(re);
	}
}

/* A glob that can match no stored path as written is refused, saying why. */
static void test_glob_refused(void)
{
	struct { const char *glob, *why; } cases[] = {
		{"", "an empty pattern"},
		{"/open[bracket", "the '[' at byte 5 opens a character class that is never closed"},
		{"[", "the '[' at byte 0 opens a character class that is never closed"},
		{"/[]", "the '[' at byte 1 opens"},
		{"/[!]", "the '[' at byte 1 opens"},
		{"/a\\", "it ends in a '\\' that escapes nothing"},
		{"/[a\\", "it ends in a '\\' that escapes nothing"},
		{"/[z-a]", "the range 'z-a' at byte 2 runs backwards"},
		{"/[\xc3\xa9-a]", "the range '\xc3\xa9-a' at byte 2 runs backwards"},
		{"/[[:alfa:]]", "the '[:' at byte 2 names no character class"},
		{"/[[:alpha:]", "the '[' at byte 1 opens"},
		{"/[[:alpha:]-z]", "the '-' at byte 11 follows a character class"},
		{"/[a-[:digit:]]", "the '[:' at byte 4 starts a character class, not a character"},
		{"/[[.a.]]", "the '[.' at byte 2 starts a collating element"},
		{"/[[=a=]]", "the '[=' at byte 2 starts a collating element"},
		{"docs/*.md", "stored paths are absolute, so a pattern starting with 'd' matches none"
			      " (start it with '/' or '*': '*/docs/*.md')"},
		{"\\d", "starting with 'd'"},
		{"\xc3\xa9", "starting with '\xc3\xa9'"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		jv re = query_glob_regex(cases[i].glob);
		jv msg = jv_is_valid(re) ? jv_string("(valid)") : jv_invalid_get_msg(jv_copy(re));
		int ok = strstr(jv_string_value(msg), cases[i].why) != NULL;
		T_OK(ok, cases[i].glob);
		if (!ok)
			printf("#   got '%s'\n", jv_string_value(msg));
		jv_free(msg);
		jv_free(re);
	}
}

/* What a glob may cost: characters (a stored path's bound), bracket
 * expressions (PostgreSQL's compile time), patterns (its regex cache). */
static void test_glob_bounds(void)
{
	static char g[4 * QUERY_GLOB_CHARS_MAX + 8];
	dp_err err;
	query_filter f;
	jv re;

	/* '/' and 2691 more characters: the longest path; one more is none. */
	g[0] = '/';
	memset(g + 1, 'a', QUERY_GLOB_CHARS_MAX - 1);
	g[QUERY_GLOB_CHARS_MAX] = '\0';
	re = query_glob_regex(g);
	T_OK(jv_is_valid(re), "a glob of 2692 characters");
	jv_free(re);
	strcpy(g + QUERY_GLOB_CHARS_MAX, "?");
	re = query_glob_regex(g);
	jv msg = jv_invalid_get_msg(jv_copy(re));
	T_EQ_STR(jv_is_valid(msg) ? jv_string_value(msg) : "(valid)", "it needs at least 2693 characters,"
		 " and docpipe-store keeps paths of at most 2692 bytes", "2693: refused");
	jv_free(msg);
	jv_free(re);
	/* Stars are no characters, and a run of them is one ".*". */
	memset(g + 1, '*', 4 * QUERY_GLOB_CHARS_MAX);
	g[4 * QUERY_GLOB_CHARS_MAX + 1] = '\0';
	re = query_glob_regex(g);
	T_EQ_STR(jv_is_valid(re) ? jv_string_value(re) : "(invalid)", "^/.*$", "16384 stars: one .*");
	jv_free(re);
	size_t o = 0;
	g[o++] = '/';
	for (int i = 0; i < QUERY_GLOB_CLASSES_MAX; i++)
		o += (size_t)snprintf(g + o, sizeof g - o, "[!%c]", 'a' + i % 26);
	re = query_glob_regex(g);
	T_OK(jv_is_valid(re), "64 bracket expressions");
	jv_free(re);
	strcpy(g + o, "[x]");
	re = query_glob_regex(g);
	msg = jv_invalid_get_msg(jv_copy(re));
	T_OK(jv_is_valid(msg) && strstr(jv_string_value(msg), "more than 64 bracket expressions") != NULL,
	     "65 bracket expressions: refused");
	jv_free(msg);
	jv_free(re);
	query_filter_init(&f);
	int added = 0;
	for (int i = 0; i < QUERY_PATHS_MAX; i++)
		added += query_filter_add_path(&f, "/c/*", &err) == 0;
	T_EQ_INT(added, QUERY_PATHS_MAX, "32 --path patterns");
	T_EQ_INT(query_filter_add_path(&f, "/c/*", &err), -1, "a 33rd: refused");
	T_OK(strstr(err.msg, "--path: at most 32 patterns") != NULL, "saying why");
	query_filter_free(&f);
}

/* Option values that are not UTF-8 are refused with the offset. */
static void test_utf8(void)
{
	dp_err err;
	query_filter f;

	T_EQ_INT(dp_utf8_check("the question", "caf\xc3\xa9 \xe2\x82\xac", &err), 0, "valid UTF-8 passes");
	T_EQ_INT(dp_utf8_check("the question", "caf\xc3\xa9\xff!", &err), -1, "0xff is refused");
	T_EQ_STR(err.msg, "the question is not valid UTF-8: the byte at offset 5 (0xff) begins no valid"
		 " character: 'caf\xc3\xa9\\xff!'", "the message names it, the offset and the byte");
	T_EQ_INT(dp_utf8_check("--since", "2024\xe2\x82", &err), -1, "a cut sequence is refused");
	T_OK(strstr(err.msg, "offset 4 (0xe2)") != NULL, "a cut sequence: its first byte's offset");
	T_EQ_INT(dp_utf8_check("--since", "\xed\xa0\x80", &err), -1, "a surrogate is refused");
	query_filter_init(&f);
	T_EQ_INT(query_filter_add_path(&f, "/c/\xc0\xaf*", &err), -1, "--path: an overlong '/' is refused");
	T_EQ_STR(err.msg, "--path is not valid UTF-8: the byte at offset 3 (0xc0) begins no valid"
		 " character: '/c/\\xc0\\xaf*'", "--path: named");
	T_EQ_INT(query_filter_add_where(&f, "lang=\xff", &err), -1, "--where: refused");
	T_EQ_INT(query_filter_add_path(&f, "/c/[", &err), -1, "--path: a bad glob is refused");
	T_EQ_STR(err.msg, "--path '/c/[': the '[' at byte 3 opens a character class that is never closed"
		 " (for a '[' itself write '\\[' or '[[]'; a ']' right after '[' or '[!' belongs to the"
		 " class)", "--path: the glob named in the message");
	T_EQ_INT(jv_array_length(jv_copy(f.paths)), 0, "nothing refused was added");
	query_filter_free(&f);
}

/* --where KEY=VALUE twice with one key: kept, both to hold (a list may
 * hold both values); KEY=VALUE split at the first '='. */
static void test_where(void)
{
	dp_err err;
	query_filter f;

	query_filter_init(&f);
	T_EQ_INT(query_filter_add_where(&f, "tags=a", &err), 0, "--where tags=a");
	T_EQ_INT(query_filter_add_where(&f, "tags=b", &err), 0, "--where tags=b after tags=a: kept");
	T_EQ_INT(query_filter_add_where(&f, "a=b=c", &err), 0, "a VALUE may hold '='");
	jv w = jv_dump_string(jv_copy(f.where), 0);
	T_EQ_STR(jv_string_value(w), "[[\"tags\",\"a\"],[\"tags\",\"b\"],[\"a\",\"b=c\"]]",
		 "each [KEY, VALUE] kept, split at the first '='");
	jv_free(w);
	T_EQ_INT(query_filter_add_where(&f, "=x", &err), -1, "an empty KEY: refused");
	query_filter_free(&f);
}

static void test_ids(void)
{
	int64_t v[] = {2, 5, 9};
	query_ids ids = {.ids = v, .n = 3};

	T_OK(query_ids_has(&ids, 5) && query_ids_has(&ids, 2) && query_ids_has(&ids, 9), "ids found");
	T_OK(!query_ids_has(&ids, 1) && !query_ids_has(&ids, 6) && !query_ids_has(&ids, 10), "others not");
	char *s = query_int_array(v, 3);
	T_EQ_STR(s, "{2,5,9}", "array literal");
	free(s);
	s = query_int_array(v, 0);
	T_EQ_STR(s, "{}", "empty array literal");
	free(s);
}

int main(void)
{
	test_fuse_hand_built();
	test_glob();
	test_glob_refused();
	test_glob_bounds();
	test_utf8();
	test_where();
	test_ids();
	return t_done();
}
