/* JSON text read in place (src/lib/jscan.c) and a record's head
 * (dp_record_head). */
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
	};
	static const char *const bad[] = {
		"", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "[1,]", "[1 2]", "{a:1}", "01", "1.",
		"-", "1e", "tru", "\"abc", "\"a\\x\"", "\"\\u12g4\"", "\"a\tb\"", "{\"a\":1}}", "[}",
		"{\"a\":1]",
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

int main(void)
{
	test_syntax();
	test_members();
	test_head();
	return t_done();
}
