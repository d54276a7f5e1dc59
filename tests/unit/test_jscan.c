/* JSON text read in place (src/lib/jscan.c) and a record's head
 * (dp_record_head). */
#include <stdio.h>
#include <string.h>

#include "jscan.h"
#include "record.h"
#include "t.h"

/* 1 when text is one valid JSON value (whitespace around it allowed). */
static int valid(const char *text)
{
	size_t at = 0, n = strlen(text);

	if (dp_jscan_value(text, n, &at) < 0)
		return 0;
	while (at < n && strchr(" \t\r\n", text[at]))
		at++;
	return at == n;
}

static void test_syntax(void)
{
	static const char *const good[] = {
		"{}", "[]", " {\"a\" : [1, -2.5e+3, 0, true, false, null, \"x\\\"y\\u00e9\\n\"]} ",
		"{\"a\":{\"b\":{}},\"c\":[[],[{}]]}", "\"\"", "0", "-0.0E-0", "\"\xc3\xa9\"",
		"\"\\ud83d\\ude00\"", "\"\\uDBFF\\uDFFF\"", "\"a lone low \\udc00\"",
	};
	static const char *const bad[] = {
		"", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "[1,]", "[1 2]", "{a:1}", "01", "1.",
		"-", "1e", "tru", "\"abc", "\"a\\x\"", "\"\\u12g4\"", "\"a\tb\"", "{\"a\":1}}", "[}",
		"{\"a\":1]",
		/* A high surrogate without its low half: jq refuses it. */
		"\"\\ud800\"", "\"\\ud83d alone\"", "\"\\ud83d\\u0041\"", "\"\\ud83d\\ud83d\"",
		"\"\\ud83d\\ude0\"", "\"\\ud83d\\", "\"\\ud83d\\u\"",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		T_OK(valid(good[i]), good[i]);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		T_OK(!valid(bad[i]), bad[i]);

	char deep[2 * DP_JSCAN_DEPTH + 3];
	memset(deep, '[', DP_JSCAN_DEPTH);
	memset(deep + DP_JSCAN_DEPTH, ']', DP_JSCAN_DEPTH);
	deep[2 * DP_JSCAN_DEPTH] = '\0';
	T_OK(valid(deep), "nested DP_JSCAN_DEPTH deep");
	memmove(deep + 1, deep, 2 * DP_JSCAN_DEPTH + 1);
	deep[0] = '[';
	strcat(deep, "]");
	T_OK(!valid(deep), "one deeper: refused");
}

static void test_members(void)
{
	const char *obj = "{\"a\":1, \"b\" : [2,3] ,\"c\":{\"d\":\"e\"}}";
	dp_jscan it;
	dp_jspan k, v;

	T_OK(dp_jscan_open(&it, dp_jspan_of(obj)) == 0, "an object opens");
	T_OK(dp_jscan_next(&it, &k, &v) == 1 && k.n == 3 && memcmp(k.p, "\"a\"", 3) == 0 && v.n == 1 &&
		     v.p[0] == '1', "its first member");
	T_OK(dp_jscan_next(&it, &k, &v) == 1 && v.n == 5 && memcmp(v.p, "[2,3]", 5) == 0, "its second");
	T_OK(dp_jscan_next(&it, &k, &v) == 1 && v.n == 9, "its third");
	T_OK(dp_jscan_next(&it, &k, &v) == 0, "then the end");
	T_OK(dp_jscan_open(&it, dp_jspan_of(" [ 1 , \"x\" ] ")) == 0 && dp_jscan_next(&it, &k, &v) == 1 &&
		     k.p == NULL && dp_jscan_next(&it, &k, &v) == 1 && v.n == 3 &&
		     dp_jscan_next(&it, &k, &v) == 0, "an array's elements");
	T_OK(dp_jscan_open(&it, dp_jspan_of("3")) < 0, "a number does not open");
	T_OK(dp_jscan_get(dp_jspan_of(obj), dp_jspan_of("\"c\""), &v) == 1 && v.p[0] == '{', "get");
	T_OK(dp_jscan_get(dp_jspan_of(obj), dp_jspan_of("\"z\""), &v) == 0, "get of none");
	T_OK(dp_jscan_get(dp_jspan_of(obj), dp_jspan_of("\"\\u0062\""), &v) == 1 && v.p[0] == '[',
	     "get of an escaped key");
	T_OK(dp_jscan_key_eq(dp_jspan_of("\"a/\""), dp_jspan_of("\"a\\/\"")), "keys equal decoded");
	T_OK(!dp_jscan_key_eq(dp_jspan_of("\"ab\""), dp_jspan_of("\"a\\u0063\"")), "and differ so");
	T_OK(dp_jscan_equal(dp_jspan_of("1"), dp_jspan_of("1.0")), "values: 1 is 1.0");
	T_OK(!dp_jscan_equal(dp_jspan_of("1"), dp_jspan_of("\"1\"")), "but not \"1\"");
	T_OK(dp_jscan_equal((dp_jspan){0}, (dp_jspan){0}) && !dp_jscan_equal((dp_jspan){0}, dp_jspan_of("1")),
	     "absent equals absent only");
}

static void test_head(void)
{
	const char *doc = "{\"v\":1,\"kind\":\"document\",\"run\":\"R\",\"seq\":3,"
			  "\"chunks\":[{\"seq\":0,\"text\":\"x\"}],\"summary\":\"S\"}";
	dp_err err;
	jv h = dp_record_head(doc, strlen(doc), &err);
	jv s = jv_dump_string(jv_copy(h), JV_PRINT_SORTED);

	T_EQ_STR(jv_string_value(s), "{\"kind\":\"document\",\"run\":\"R\",\"seq\":3,\"summary\":\"S\",\"v\":1}",
		 "the head: the record without its chunks");
	jv_free(s);
	jv_free(h);
	static const char *const bad[] = {
		"{\"kind\":\"document\",\"chunks\":[{]}", "[1]", "{\"kind\":\"x\"} x", "{\"v\":2,\"kind\":\"x\"}",
		"{\"v\":1}", "{\"kind\":\"\xff\"}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		h = dp_record_head(bad[i], strlen(bad[i]), &err);
		T_OK(!jv_is_valid(h), bad[i]);
		jv_free(h);
	}
	h = dp_record_head("{\"kind\":\"x\"}\n", 13, &err);
	T_EQ_STR(dp_record_kind(h), "x", "a record without chunks, a newline after it");
	jv_free(h);
	/* Text the scan refuses and jq reads (a number 06): a record as
	 * dp_record_parse says, parsed whole (found by fuzz_record). */
	const char *lenient = "{\"v\":1,\"kind\":\"receipt\",\"chunks\":06,\"id\":42}";
	h = dp_record_head(lenient, strlen(lenient), &err);
	T_OK(jv_is_valid(h) && !jv_object_has(jv_copy(h), jv_string("chunks")),
	     "text jq reads but the scan does not: the record's head all the same");
	jv_free(h);
}

/* dp_jscan_parse gives jq's jv_parse_sized: the same value, by its dump
 * (which tells -0 from 0 and keeps the keys' order), or the same error. */
static void parse_as_jq(const char *text, size_t n, const char *what)
{
	jv mine = dp_jscan_parse(text, n), jqs = jv_parse_sized(text, (int)n);

	T_EQ_INT(jv_is_valid(mine), jv_is_valid(jqs), what);
	jv a = jv_is_valid(mine) ? jv_dump_string(mine, 0) : jv_invalid_get_msg(mine);
	jv b = jv_is_valid(jqs) ? jv_dump_string(jqs, 0) : jv_invalid_get_msg(jqs);
	T_EQ_STR(jv_string_value(a), jv_string_value(b), what);
	jv_free(a), jv_free(b);
}

/* dp_jscan_value takes text[0..n) whole exactly when jq parses it (fault
 * sweep 16: 129-256 nested objects were taken, which jq refuses). */
static void value_as_jq(const char *text, size_t n, const char *what)
{
	jv j = jv_parse_sized(text, (int)n);
	size_t at = 0;
	int scan_ok = dp_jscan_value(text, n, &at) == 0 && at == n;

	T_OK(scan_ok == jv_is_valid(j), what);
	jv_free(j);
}

static void test_parse(void)
{
	/* Read in one pass, and text left to jq (not RFC 8259, a lone high
	 * surrogate, a raw control character, a BOM, two values, a long
	 * number). */
	static const char *const texts[] = {
		"{}", "[]", " {\"a\" : [1, -2.5e+3, 0, true, false, null, \"x\\\"y\\u00e9\\n\"]} ",
		"\"\\b\\f\\n\\r\\t\\/\\\\\\\"\"", "\"\\ud83d\\ude00 and \\u0000\"",
		"\"a lone low \\udc00 surrogate\"", "\"bad \xff\xfe UTF-8 \xc3\"", "{\"k\xff\":1}",
		"-0", "0.1", "1e400", "-1e400", "1e-400", "4.9e-324", "2.2250738585072011e-308",
		"123456789012345", "1234567890123456789", "9007199254740993", "-0.0E-0", "1E5",
		"{\"a\":1,\"b\":2,\"a\":3}", "{\"z\":{\"y\":[{}]},\"x\":\"\"}", "\"\"", "\t[ 1 ,\r\n2 ] ",
		"", "01", "[1,]", "nan", "\"\\ud83d alone\"", "\"\\ud83d\\u0041\"", "\"tab\there\"",
		"\xef\xbb\xbf{}", "{} {}", "1 2", "0.10000000000000000000000000000000000000000000000000000000000001",
	};
	char name[64];
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		snprintf(name, sizeof name, "jq's value (text %zu)", i);
		parse_as_jq(texts[i], strlen(texts[i]), name);
	}
	parse_as_jq("\"a\0b\"", 5, "a raw NUL in a string");

	/* jq's stack counts an object's pending key: 256 arrays open at
	 * most; objects with their keys half as deep. */
	static char deep[2 * 2048];
	for (int levels = 255; levels <= 257; levels++) {
		memset(deep, '[', (size_t)levels);
		memset(deep + levels, ']', (size_t)levels);
		parse_as_jq(deep, 2 * (size_t)levels, "arrays nested at jq's limit");
		value_as_jq(deep, 2 * (size_t)levels, "arrays nested at jq's limit: the scan as jq");
	}
	for (int levels = 127; levels <= 129; levels++) {
		size_t n = 0;
		for (int k = 0; k < levels; k++)
			n += (size_t)sprintf(deep + n, "{\"a\":");
		n += (size_t)sprintf(deep + n, "1");
		for (int k = 0; k < levels; k++)
			deep[n++] = '}';
		parse_as_jq(deep, n, "objects nested at jq's limit");
		value_as_jq(deep, n, "objects nested at jq's limit: the scan as jq");
	}
}

/* dp_jscan_number(text) and jq's number for it: the same double, bit
 * for bit (the sign of a zero too). */
static void number_as_jq(const char *text, const char *what)
{
	double mine = 0;
	jv jqs = jv_parse(text);
	int ok = dp_jscan_number((dp_jspan){text, strlen(text)}, &mine) == 0;

	T_OK(ok && jv_get_kind(jqs) == JV_KIND_NUMBER &&
		     memcmp(&mine, &(double){jv_number_value(jqs)}, sizeof mine) == 0,
	     what);
	if (!ok || jv_get_kind(jqs) != JV_KIND_NUMBER || mine != jv_number_value(jqs))
		fprintf(stderr, "# %s: %.17g, jq %.17g\n", text, mine,
			jv_get_kind(jqs) == JV_KIND_NUMBER ? jv_number_value(jqs) : -1.0);
	jv_free(jqs);
}

static void test_number(void)
{
	/* The fast path's edges (15 significant digits, 1e22) and past them. */
	static const char *const texts[] = {
		"0", "-0", "0.0", "-0.0", "7", "-12", "0.1", "-0.0123456789", "3.14159265358979",
		"123456789012345", "1234567890123456", "0.000000000000000000001",
		"0.0000000000000000000001", "0.00000000000000000000001", "999999999999999",
		"9999999999999999", "1.5e3", "-2E-5", "100000000000000000000000", "4.9e-324",
		"0.30000000000000004", "1e400", "12345678901234567890.5",
		"0.100000000000000000000000000000000000000000000000000000000000001",
	};
	char name[96], text[64];
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		snprintf(name, sizeof name, "jq's number for %s", texts[i]);
		number_as_jq(texts[i], name);
	}
	/* What embedding APIs write: float32 values at %.9g, and decimals
	 * of every length the fast path takes. */
	unsigned long long x = 0x9e3779b97f4a7c15ULL;
	int differ = 0;
	for (int i = 0; i < 20000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		float f = (float)((double)(x >> 11) / 9007199254740992.0 - 0.5) /
			  (float)(1 << (x % 8));
		if (i % 2 == 0)
			snprintf(text, sizeof text, "%.9g", f);
		else
			snprintf(text, sizeof text, "%s0.%0*llu", x & 1 ? "-" : "", (int)(1 + x % 22),
				 (x >> 8) % 1000000000000000ULL);
		double mine = 0;
		jv jqs = jv_parse(text);
		differ += dp_jscan_number((dp_jspan){text, strlen(text)}, &mine) != 0 ||
			  jv_get_kind(jqs) != JV_KIND_NUMBER || mine != jv_number_value(jqs);
		jv_free(jqs);
	}
	T_EQ_INT(differ, 0, "20,000 numbers as embedding answers write them: jq's doubles");
	T_OK(dp_jscan_number(dp_jspan_of("\"1\""), &(double){0}) < 0, "a string is no number");
	T_OK(dp_jscan_number(dp_jspan_of("null"), &(double){0}) < 0, "null is no number");
	T_OK(dp_jscan_number(dp_jspan_of("[1]"), &(double){0}) < 0, "an array is no number");
}

static void test_members_last(void)
{
	static const char *const keys[] = {"\"a\"", "\"b\"", "\"c\""};
	dp_jspan v[3];

	dp_jscan_members(dp_jspan_of("{\"a\":1,\"b\":[2],\"a\":3}"), keys, v, 3);
	T_OK(v[0].p != NULL && v[0].n == 1 && v[0].p[0] == '3', "members: the last of a repeated key, as jq");
	T_OK(v[1].p != NULL && v[1].n == 3, "members: a value as its span");
	T_OK(v[2].p == NULL, "members: a key not there is none");
	dp_jscan_members(dp_jspan_of("[1]"), keys, v, 3);
	T_OK(v[0].p == NULL && v[1].p == NULL, "members: none in an array");
}

/* dp_jscan_error: jq's reason without the text it quotes after it. */
static void test_error(void)
{
	const char *nb = "{\n \"cells\": [\n";
	jv msg = dp_jscan_error(dp_jscan_parse(nb, strlen(nb)));
	T_EQ_STR(jv_string_value(msg), "Unfinished JSON term at EOF at line 3, column 0",
		 "a notebook cut short: where, not its lines");
	jv_free(msg);
	msg = dp_jscan_error(jv_invalid());
	T_EQ_STR(jv_string_value(msg), "not JSON", "no message: not JSON");
	jv_free(msg);
}

int main(void)
{
	test_members_last();
	test_number();
	test_syntax();
	test_members();
	test_head();
	test_parse();
	test_error();
	return t_done();
}
