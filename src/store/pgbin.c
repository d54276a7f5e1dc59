#include "pgbin.h"

#include <stdlib.h>
#include <string.h>

#include "db.h"

void store_put_bytes(store_buf *b, const void *p, size_t n)
{
	dp_buf_append(b, p, n);
}

void store_put_i16(store_buf *b, int16_t v)
{
	uint16_t u = (uint16_t)v;
	unsigned char be[2] = {(unsigned char)(u >> 8), (unsigned char)u};

	store_put_bytes(b, be, 2);
}

void store_put_i32(store_buf *b, int32_t v)
{
	uint32_t u = (uint32_t)v;
	unsigned char be[4] = {(unsigned char)(u >> 24), (unsigned char)(u >> 16),
			       (unsigned char)(u >> 8), (unsigned char)u};

	store_put_bytes(b, be, 4);
}

void store_put_i64(store_buf *b, int64_t v)
{
	store_put_i32(b, (int32_t)((uint64_t)v >> 32));
	store_put_i32(b, (int32_t)(uint32_t)v);
}

static void put_f32(store_buf *b, float f)
{
	uint32_t u;

	memcpy(&u, &f, 4);
	store_put_i32(b, (int32_t)u);
}

void store_copy_header(store_buf *b)
{
	static const unsigned char sig[11] = "PGCOPY\n\377\r\n";

	store_put_bytes(b, sig, sizeof sig);
	store_put_i32(b, 0); /* flags: no oids */
	store_put_i32(b, 0); /* header extension length */
}

void store_copy_trailer(store_buf *b) { store_put_i16(b, -1); }

void store_copy_row(store_buf *b, int nfields) { store_put_i16(b, (int16_t)nfields); }

void store_field_null(store_buf *b) { store_put_i32(b, -1); }

void store_field_i32(store_buf *b, int32_t v)
{
	store_put_i32(b, 4);
	store_put_i32(b, v);
}

void store_field_i64(store_buf *b, int64_t v)
{
	store_put_i32(b, 8);
	store_put_i64(b, v);
}

void store_field_text(store_buf *b, const char *s, size_t len)
{
	if (len > INT32_MAX) {
		b->overflow = 1;
		return;
	}
	store_put_i32(b, (int32_t)len);
	store_put_bytes(b, s, len);
}

/* Array header: ndim (0 for an empty array), no-nulls flag, element type,
 * then size and lower bound 1 of the one dimension. */
static void array_header(store_buf *b, size_t n, int32_t elem_oid)
{
	store_put_i32(b, n > 0 ? 1 : 0);
	store_put_i32(b, 0);
	store_put_i32(b, elem_oid);
	if (n > 0) {
		store_put_i32(b, (int32_t)n);
		store_put_i32(b, 1);
	}
}

/* Writes a field's length once its value is in place: the length prefix is
 * reserved first and patched, which avoids computing sizes twice. */
static size_t begin_field(store_buf *b)
{
	size_t at = b->len;

	store_put_i32(b, 0);
	return at;
}

static void end_field(store_buf *b, size_t at)
{
	if (b->overflow)
		return;
	size_t n = b->len - at - 4;
	if (n > INT32_MAX) {
		b->overflow = 1;
		return;
	}
	uint32_t u = (uint32_t)n;
	b->data[at] = (char)(u >> 24);
	b->data[at + 1] = (char)(u >> 16);
	b->data[at + 2] = (char)(u >> 8);
	b->data[at + 3] = (char)u;
}

void store_field_text_array(store_buf *b, jv strings)
{
	size_t at = begin_field(b);
	int n = jv_get_kind(strings) == JV_KIND_ARRAY ? jv_array_length(jv_copy(strings)) : 0;

	array_header(b, (size_t)n, DP_OID_TEXT);
	for (int i = 0; i < n; i++) {
		jv s = jv_array_get(jv_copy(strings), i);
		store_field_text(b, jv_string_value(s), (size_t)jv_string_length_bytes(jv_copy(s)));
		jv_free(s);
	}
	end_field(b, at);
}

void store_field_float4_array(store_buf *b, const float *v, size_t n)
{
	store_put_i32(b, (int32_t)(20 + 8 * n - (n == 0 ? 8 : 0)));
	array_header(b, n, DP_OID_FLOAT4);
	for (size_t i = 0; i < n; i++) {
		store_put_i32(b, 4);
		put_f32(b, v[i]);
	}
}

void store_field_vector(store_buf *b, const float *v, size_t n)
{
	store_put_i32(b, (int32_t)(4 + 4 * n));
	store_put_i16(b, (int16_t)n);
	store_put_i16(b, 0);
	for (size_t i = 0; i < n; i++)
		put_f32(b, v[i]);
}

uint16_t store_half(float f)
{
	uint32_t x;

	memcpy(&x, &f, 4);
	uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
	uint32_t a = x & 0x7fffffff, r, rem, halfway;
	if (a >= 0x7f800000) /* infinity, NaN */
		return (uint16_t)(sign | 0x7c00 | (a > 0x7f800000 ? 0x200 : 0));
	if (a >= 0x477ff000) /* rounds beyond 65504 */
		return (uint16_t)(sign | 0x7c00);
	if (a >= 0x38800000) { /* normal: rebias the exponent, drop 13 bits */
		r = (a - 0x38000000) >> 13;
		rem = a & 0x1fff;
		halfway = 0x1000;
	} else if (a > 0x33000000) { /* subnormal: units of 2^-24 */
		int shift = 126 - (int)(a >> 23);
		uint32_t m = (a & 0x7fffff) | 0x800000;
		r = m >> shift;
		rem = m & ((1u << shift) - 1);
		halfway = 1u << (shift - 1);
	} else { /* at most 2^-25: rounds to zero */
		return sign;
	}
	if (rem > halfway || (rem == halfway && (r & 1)))
		r++;
	return (uint16_t)(sign | r);
}

void store_field_halfvec(store_buf *b, const float *v, size_t n)
{
	store_put_i32(b, (int32_t)(4 + 2 * n));
	store_put_i16(b, (int16_t)n);
	store_put_i16(b, 0);
	for (size_t i = 0; i < n; i++)
		store_put_i16(b, (int16_t)store_half(v[i]));
}

static unsigned char *put_be16(unsigned char *o, uint16_t v)
{
	o[0] = (unsigned char)(v >> 8);
	o[1] = (unsigned char)v;
	return o + 2;
}

/* Sized first, then written in place: one reserve, not one append per
 * piece (a chunk has ~100 lexemes). */
void store_value_tsvector(store_buf *b, const dp_lexer *lexer)
{
	size_t n = dp_lexer_count(lexer), size = 4, len, npos;

	for (size_t i = 0; i < n; i++) {
		dp_lexer_lexeme(lexer, i, &len);
		dp_lexer_positions(lexer, i, &npos);
		size += len + 3 + 2 * npos;
	}
	if (dp_buf_reserve(b, size) < 0)
		return; /* overflow set */
	unsigned char *o = (unsigned char *)b->data + b->len;
	o = put_be16(put_be16(o, (uint16_t)(n >> 16)), (uint16_t)n);
	for (size_t i = 0; i < n; i++) {
		const char *w = dp_lexer_lexeme(lexer, i, &len);
		const uint16_t *pos = dp_lexer_positions(lexer, i, &npos);
		memcpy(o, w, len);
		o[len] = '\0';
		o = put_be16(o + len + 1, (uint16_t)npos);
		for (size_t k = 0; k < npos; k++)
			o = put_be16(o, pos[k]);
	}
	b->len += size;
}

void store_field_tsvector(store_buf *b, const dp_lexer *lexer)
{
	size_t at = begin_field(b);

	store_value_tsvector(b, lexer);
	end_field(b, at);
}

void store_value_i64_array(store_buf *b, const int64_t *v, size_t n)
{
	array_header(b, n, DP_OID_INT8);
	for (size_t i = 0; i < n; i++)
		store_field_i64(b, v[i]);
}

void store_value_text_array(store_buf *b, const char *const *s, size_t n)
{
	array_header(b, n, DP_OID_TEXT);
	for (size_t i = 0; i < n; i++)
		store_field_text(b, s[i], strlen(s[i]));
}
