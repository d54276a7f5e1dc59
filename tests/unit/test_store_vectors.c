/* Unit tests for issue 10's database-free parts: half-precision encoding
 * (halfvec), typed record accessors, zero vectors and chunk provenance. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/store/doc.h"
#include "../../src/store/pgbin.h"
#include "record.h"
#include "t.h"
#include "vec.h"

static void test_half(void)
{
	T_EQ_INT(store_half(1.0f), 0x3c00, "1.0");
	T_EQ_INT(store_half(-2.0f), 0xc000, "-2.0");
	T_EQ_INT(store_half(0.0f), 0x0000, "0");
	T_EQ_INT(store_half(65504.0f), 0x7bff, "largest half");
	T_EQ_INT(store_half(65520.0f), 0x7c00, "beyond it: infinity (the server refuses it)");
	T_EQ_INT(store_half(5.9604645e-8f), 0x0001, "smallest subnormal");
	T_EQ_INT(store_half(2.9802322e-8f), 0x0000, "half of it rounds to even (zero)");
	T_EQ_INT(store_half(6.1035156e-5f), 0x0400, "smallest normal");
	/* 1 + 2^-11 lies halfway between 1 and the next half: ties to even. */
	T_EQ_INT(store_half(1.00048828125f), 0x3c00, "tie rounds to even");
	T_EQ_INT(store_half(1.0009765625f + 0.00048828125f), 0x3c02, "tie rounds to even (up)");
	T_EQ_INT(store_half(0.333333343f), 0x3555, "1/3 rounded to nearest");

	store_buf b;
	float v[2] = {1.0f, -2.0f};
	static const unsigned char want[] = {0, 0, 0, 8, 0, 2, 0, 0, 0x3c, 0x00, 0xc0, 0x00};
	store_buf_init(&b, 64);
	store_field_halfvec(&b, v, 2);
	T_OK(b.len == sizeof want && memcmp(b.data, want, sizeof want) == 0, "halfvec field");
	store_buf_free(&b);
}

static void test_accessors(void)
{
	dp_err err;
	jv r = jv_parse("{\"s\":\"abc\",\"n\":7,\"f\":1.5,\"z\":null,\"nul\":\"a\\u0000b\",\"big\":1e300}");
	const char *s = NULL;
	size_t len = 0;
	long long n = -1;

	T_EQ_INT(dp_record_get_str(r, "s", 3, &s, &len, &err), 1, "string within its maximum");
	T_OK(s != NULL && strcmp(s, "abc") == 0 && len == 3, "string and length");
	T_EQ_INT(dp_record_get_str(r, "s", 2, &s, NULL, &err), -1, "string over its maximum refused");
	T_OK(strstr(err.msg, "\"s\"") != NULL && strstr(err.msg, "2 bytes") != NULL, "the refusal names key and maximum");
	T_EQ_INT(dp_record_get_str(r, "nul", 10, &s, NULL, &err), -1, "NUL refused");
	T_EQ_INT(dp_record_get_str(r, "n", 10, &s, NULL, &err), -1, "a number is not a string");
	T_EQ_INT(dp_record_get_str(r, "missing", 10, &s, NULL, &err), 0, "absent string");
	T_EQ_INT(dp_record_get_str(r, "z", 10, &s, NULL, &err), 0, "null is absent");
	T_EQ_INT(dp_record_get_int(r, "n", 0, 10, &n, &err), 1, "integer in range");
	T_EQ_INT(n, 7, "integer value");
	T_EQ_INT(dp_record_get_int(r, "n", 8, 10, &n, &err), -1, "integer below its range");
	T_OK(strstr(err.msg, "from 8 to 10") != NULL, "the refusal names the range");
	T_EQ_INT(dp_record_get_int(r, "f", 0, 10, &n, &err), -1, "fraction refused");
	T_EQ_INT(dp_record_get_int(r, "big", 0, 1LL << 53, &n, &err), -1, "huge number refused");
	T_EQ_INT(dp_record_get_int(r, "s", 0, 10, &n, &err), -1, "string is not an integer");
	T_EQ_INT(dp_record_get_int(r, "missing", 0, 10, &n, &err), 0, "absent integer");
	jv_free(r);
}

static store_item item_from(const char *json)
{
	dp_err err;
	store_item item;

	store_item_init(&item, dp_record_parse(json, strlen(json), &err));
	return item;
}

static void test_chunks(void)
{
	float zero[2] = {0.0f, -0.0f}, one[2] = {1.0f, 0.0f};
	jv z = dp_vec_encode(zero, 2), o = dp_vec_encode(one, 2);
	char json[1024];

	snprintf(json, sizeof json,
		 "{\"kind\":\"document\",\"path\":\"/a\",\"embedder\":\"e\",\"dim\":2,\"chunks\":["
		 "{\"seq\":0,\"text\":\"x\",\"vec\":\"%s\",\"start\":0,\"end\":10,\"line_start\":1,"
		 "\"line_end\":2,\"page_start\":3,\"page_end\":4},"
		 "{\"seq\":1,\"text\":\".\",\"vec\":\"%s\"}]}", jv_string_value(o), jv_string_value(z));
	store_item it = item_from(json);
	T_EQ_INT(it.kind, STORE_ITEM_DOCUMENT, "document with provenance and a zero vector is valid");
	if (it.kind == STORE_ITEM_DOCUMENT) {
		const store_chunk *c = it.doc.chunks;
		T_OK(c[0].byte_start == 0 && c[0].byte_end == 10 && c[0].line_start == 1 &&
		     c[0].line_end == 2 && c[0].page_start == 3 && c[0].page_end == 4, "provenance read");
		T_OK(c[1].byte_start == -1 && c[1].byte_end == -1 && c[1].line_start == -1 &&
		     c[1].page_end == -1, "absent provenance is -1 (NULL)");
		T_OK(c[0].vec != NULL, "non-zero vector kept");
		T_OK(c[1].vec == NULL, "zero vector stored as NULL (never ranked as NaN)");
	}
	store_item_clear(&it);

	static const char *const bad[] = {
		"{\"seq\":0,\"text\":\"x\",\"start\":5,\"end\":4}",
		"{\"seq\":0,\"text\":\"x\",\"start\":-1}",
		"{\"seq\":0,\"text\":\"x\",\"line_start\":0}",
		"{\"seq\":0,\"text\":\"x\",\"page_end\":1.5}",
		"{\"seq\":0,\"text\":\"x\",\"line_end\":\"3\"}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(json, sizeof json, "{\"kind\":\"document\",\"path\":\"/a\",\"chunks\":[%s]}", bad[i]);
		it = item_from(json);
		T_OK(it.kind == STORE_ITEM_FAILED && strstr(it.reason, "chunk 0") != NULL, bad[i]);
		store_item_clear(&it);
	}
	char longname[400];
	memset(longname, 'e', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	snprintf(json, sizeof json, "{\"kind\":\"document\",\"path\":\"/a\",\"embedder\":\"%s\",\"dim\":2,\"chunks\":[]}",
		 longname);
	it = item_from(json);
	T_OK(it.kind == STORE_ITEM_FAILED && strstr(it.reason, "embedder") != NULL, "over-long embedder refused");
	store_item_clear(&it);
	jv_free(z);
	jv_free(o);
}

int main(void)
{
	test_half();
	test_accessors();
	test_chunks();
	return t_done();
}
