/* Unit tests for docpipe-store's database-free parts: the binary COPY
 * encoding, record validation, fingerprints and receipts. */
#include <stdlib.h>
#include <string.h>

#include "../../src/store/doc.h"
#include "../../src/store/pgbin.h"
#include "record.h"
#include "t.h"
#include "vec.h"

static void test_pgbin(void)
{
	store_buf b;
	static const unsigned char header[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0";

	store_buf_init(&b, 64);
	store_copy_header(&b);
	T_OK(b.len == 19 && memcmp(b.data, header, 19) == 0, "COPY header");
	store_buf_reset(&b);
	store_field_i32(&b, 0x01020304);
	static const unsigned char i32[8] = {0, 0, 0, 4, 1, 2, 3, 4};
	T_OK(b.len == 8 && memcmp(b.data, i32, 8) == 0, "int4 field big-endian with length");
	store_buf_reset(&b);
	float v[2] = {1.0f, -2.0f};
	store_field_float4_array(&b, v, 2);
	static const unsigned char arr[] = {0, 0, 0, 36, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 2, 188,
					    0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 4, 0x3f, 0x80, 0, 0,
					    0, 0, 0, 4, 0xc0, 0, 0, 0};
	T_OK(b.len == sizeof arr && memcmp(b.data, arr, sizeof arr) == 0, "float4[] field");
	store_buf_reset(&b);
	store_field_vector(&b, v, 2);
	static const unsigned char vec[] = {0, 0, 0, 12, 0, 2, 0, 0, 0x3f, 0x80, 0, 0, 0xc0, 0, 0, 0};
	T_OK(b.len == sizeof vec && memcmp(b.data, vec, sizeof vec) == 0, "pgvector field");
	store_buf_reset(&b);
	jv h = jv_array();
	store_field_text_array(&b, h);
	T_EQ_INT(b.len, 16, "empty text[] is 12 bytes plus length");
	jv_free(h);
	store_buf_reset(&b);
	char big[100] = {0};
	store_field_text(&b, big, sizeof big);
	T_OK(b.overflow, "a field over the maximum overflows");
	store_buf_free(&b);
}

static store_item item_from(const char *json)
{
	dp_err err;
	store_item item;

	store_item_init(&item, dp_record_parse(json, strlen(json), &err));
	return item;
}

static void test_items(void)
{
	float v[2] = {0.5f, 0.25f};
	jv b64 = dp_vec_encode(v, 2);
	char json[512];

	snprintf(json, sizeof json,
		 "{\"kind\":\"document\",\"path\":\"/a\",\"hash\":\"h\",\"embedder\":\"e/m\",\"dim\":2,"
		 "\"run\":\"r\",\"seq\":3,\"chunks\":[{\"seq\":0,\"text\":\"t\",\"heading\":[\"A\"],\"vec\":\"%s\"}]}",
		 jv_string_value(b64));
	store_item it = item_from(json);
	T_EQ_INT(it.kind, STORE_ITEM_DOCUMENT, "valid document");
	T_EQ_INT(it.doc.nchunks, 1, "one chunk");
	T_OK(it.doc.chunks[0].vec != NULL && it.doc.chunks[0].vec[1] == 0.25f, "vector decoded");
	it.status = "stored";
	it.id = 7;
	it.created = 1;
	it.chunks = 1;
	jv r = dp_record_dump(store_item_receipt(&it));
	T_EQ_STR(jv_string_value(r),
		 "{\"v\":1,\"kind\":\"receipt\",\"path\":\"/a\",\"status\":\"stored\",\"chunks\":1,\"id\":7,\"created\":true,\"run\":\"r\",\"seq\":3}",
		 "stored receipt");
	jv_free(r);
	store_item_clear(&it);

	snprintf(json, sizeof json,
		 "{\"kind\":\"document\",\"path\":\"/a\",\"embedder\":\"e/m\",\"dim\":3,"
		 "\"chunks\":[{\"seq\":0,\"text\":\"t\",\"vec\":\"%s\"}]}", jv_string_value(b64));
	it = item_from(json);
	T_EQ_INT(it.kind, STORE_ITEM_FAILED, "vector of the wrong size fails");
	r = dp_record_dump(store_item_receipt(&it));
	T_OK(strstr(jv_string_value(r), "\"status\":\"failed\",\"stage\":\"test\"") != NULL, "failed receipt names the stage");
	jv_free(r);
	store_item_clear(&it);
	jv_free(b64);

	it = item_from("{\"kind\":\"document\",\"path\":\"/a\",\"chunks\":[{\"seq\":0,\"text\":\"a\\u0000b\"}]}");
	T_OK(it.kind == STORE_ITEM_FAILED && strstr(it.reason, "NUL") != NULL, "NUL in text refused");
	store_item_clear(&it);
	it = item_from("{\"kind\":\"document\",\"path\":\"/a\",\"chunks\":[{\"seq\":1,\"text\":\"a\"},{\"seq\":1,\"text\":\"b\"}]}");
	T_EQ_INT(it.kind, STORE_ITEM_FAILED, "repeated seq refused");
	store_item_clear(&it);
	it = item_from("{\"kind\":\"error\",\"path\":\"/b\",\"stage\":\"chunk\",\"error\":\"boom\"}");
	r = dp_record_dump(store_item_receipt(&it));
	T_EQ_STR(jv_string_value(r),
		 "{\"v\":1,\"kind\":\"receipt\",\"path\":\"/b\",\"status\":\"failed\",\"stage\":\"chunk\",\"error\":\"boom\"}",
		 "error record: failed receipt keeps stage and error");
	jv_free(r);
	store_item_clear(&it);
	it = item_from("{\"kind\":\"stats\",\"x\":1}");
	T_EQ_INT(it.kind, STORE_ITEM_PASS, "other kinds pass through");
	/* Under ASan this also checks that nothing is leaked on the way. */
	r = dp_record_dump(store_item_receipt(&it));
	T_EQ_STR(jv_string_value(r), "{\"kind\":\"stats\",\"x\":1}", "a passed record is put out as it came");
	jv_free(r);
	store_item_clear(&it);

	char a[DP_HASH_HEX], b[DP_HASH_HEX], c[DP_HASH_HEX];
	store_fingerprint("c", NULL, "e", 2, a);
	store_fingerprint("c", "", "e", 2, b);
	store_fingerprint("c", NULL, "e", 3, c);
	T_OK(strcmp(a, b) != 0 && strcmp(a, c) != 0, "fingerprint tells absent from empty and dims apart");
}

int main(void)
{
	dp_set_stage("test");
	test_pgbin();
	test_items();
	return t_done();
}
