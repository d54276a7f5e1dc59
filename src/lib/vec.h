/* Embedding vectors on the wire: float32 little-endian, base64 encoded.
 *
 * Exact (a float32 survives the round trip bit for bit), ~2.3x smaller than
 * JSON numbers at %.9g, and far cheaper to parse than 384 jq doubles. */
#ifndef DP_VEC_H
#define DP_VEC_H

#include <stddef.h>

#include <jv.h>

#include "err.h"

/* Returns an owned jv string holding the base64 of v[0..dim). */
jv dp_vec_encode(const float *v, size_t dim);
/* The length of that string. */
size_t dp_vec_encoded_len(size_t dim);

/* Decodes s (borrowed) into out[0..dim).  Returns 0; -1 with err when its
 * length is not that of dim float32 values in base64 (a --dim that is not
 * the model's); -3 with err when s is no base64 (not a string, a
 * character out of the alphabet, padding short, long or early); -2 with
 * err when it is dim values, but one of them is not a finite number (NaN,
 * an infinity): no vector docpipe keeps or compares may hold one. */
int dp_vec_decode(jv s, float *out, size_t dim, dp_err *err);

/* dp_vec_decode of the base64 text[0..len) (borrowed). */
int dp_vec_decode_text(const char *text, size_t len, float *out, size_t dim, dp_err *err);

/* Scales v to unit length (leaves a zero vector alone). */
void dp_vec_normalize(float *v, size_t dim);
/* 1 when every value of v[0..dim) is zero: a vector of no direction,
 * whose cosine distance to any other is undefined (NaN). */
int dp_vec_zero(const float *v, size_t dim);

#endif
