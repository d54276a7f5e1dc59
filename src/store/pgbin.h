/* PostgreSQL's binary wire formats, written into a bounded buffer: the
 * binary COPY stream (header, rows, trailer) and the binary form of the
 * values we send (int4, int8, text, text[], float4[], pgvector's vector).
 * Everything is big-endian, as the server expects. */
#ifndef STORE_PGBIN_H
#define STORE_PGBIN_H

#include <stddef.h>
#include <stdint.h>

#include <jv.h>

#include "buf.h"
#include "lexer.h"

/* The store writes into the library's bounded buffer (buf.h): appends
 * after an overflow are dropped and the caller checks `overflow` once. */
typedef dp_buf store_buf;

static inline void store_buf_init(store_buf *b, size_t max) { dp_buf_init(b, max); }
static inline void store_buf_free(store_buf *b) { dp_buf_free(b); }
static inline void store_buf_reset(store_buf *b) { dp_buf_reset(b); }

void store_put_i16(store_buf *b, int16_t v);
void store_put_i32(store_buf *b, int32_t v);
void store_put_i64(store_buf *b, int64_t v);
void store_put_bytes(store_buf *b, const void *p, size_t n);

/* The 19-byte binary COPY header and the int16 -1 trailer. */
void store_copy_header(store_buf *b);
void store_copy_trailer(store_buf *b);
/* Starts a row of nfields fields. */
void store_copy_row(store_buf *b, int nfields);

/* One field each: int32 length (-1 for NULL), then the value. */
void store_field_null(store_buf *b);
void store_field_i32(store_buf *b, int32_t v);
void store_field_i64(store_buf *b, int64_t v);
void store_field_text(store_buf *b, const char *s, size_t len);
/* heading: a jv array of strings (borrowed); non-strings are refused by the
 * caller beforehand. */
void store_field_text_array(store_buf *b, jv strings);
void store_field_float4_array(store_buf *b, const float *v, size_t n);
/* pgvector's binary form: int16 dim, int16 unused (0), float4 values. */
void store_field_vector(store_buf *b, const float *v, size_t n);
/* pgvector's halfvec: the same with IEEE binary16 values (rounded to
 * nearest even; beyond 65504 they become infinite, which the server
 * refuses). */
void store_field_halfvec(store_buf *b, const float *v, size_t n);
/* float32 -> binary16 bits, round to nearest even. */
uint16_t store_half(float f);

/* The tsvector lexer holds (after dp_lexer_finish), in tsvectorrecv's
 * format: int32 lexeme count, then per lexeme (in byte order) its bytes
 * and a NUL, uint16 position count, uint16 positions (weight bits on top). */
void store_field_tsvector(store_buf *b, const dp_lexer *lexer);
void store_value_tsvector(store_buf *b, const dp_lexer *lexer);

/* The binary value alone (no length prefix), for binary parameters of
 * PQexecParams: an int8[] or text[] of n elements. */
void store_value_i64_array(store_buf *b, const int64_t *v, size_t n);
void store_value_text_array(store_buf *b, const char *const *s, size_t n);

#endif
