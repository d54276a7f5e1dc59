#include "vec.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The wire's bytes are little-endian float32s; a big-endian host swaps
 * each value's bytes in place (before encoding, after decoding). */
static void swap_to_little_endian(unsigned char *bytes, size_t dim)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	for (size_t i = 0; i < dim; i++) {
		unsigned char *w = bytes + 4 * i, t;
		t = w[0], w[0] = w[3], w[3] = t;
		t = w[1], w[1] = w[2], w[2] = t;
	}
#else
	(void)bytes;
	(void)dim;
#endif
}

size_t dp_vec_encoded_len(size_t dim)
{
	return (dim * 4 + 2) / 3 * 4;
}

jv dp_vec_encode(const float *v, size_t dim)
{
	size_t nbytes = dim * 4;
	size_t outlen = dp_vec_encoded_len(dim);
	unsigned char *bytes = malloc(nbytes + 2);
	char *out = malloc(outlen + 1);
	size_t o = 0;

	if (bytes == NULL || out == NULL) {
		free(bytes);
		free(out);
		return jv_invalid_with_msg(jv_string("out of memory"));
	}
	memcpy(bytes, v, nbytes);
	swap_to_little_endian(bytes, dim);
	bytes[nbytes] = bytes[nbytes + 1] = 0; /* the last group's padding */
	for (size_t i = 0; i < nbytes; i += 3) {
		uint32_t n = (uint32_t)bytes[i] << 16 | (uint32_t)bytes[i + 1] << 8 | bytes[i + 2];
		size_t left = nbytes - i;
		out[o++] = b64[(n >> 18) & 63];
		out[o++] = b64[(n >> 12) & 63];
		out[o++] = left > 1 ? b64[(n >> 6) & 63] : '=';
		out[o++] = left > 2 ? b64[n & 63] : '=';
	}
	jv s = jv_string_sized(out, (int)o);
	free(bytes);
	free(out);
	return s;
}

/* A base64 character's 6 bits; 0x40 for any byte that is none. */
static const unsigned char b64_bits[256] = {
#define X 0x40
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, 62, X, X, X, 63,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, X, X, X, X, X, X,
	X, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, X, X, X, X, X,
	X, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
#undef X
};

/* The 24 bits of the group of four characters at p, or -3 with err naming
 * the first character that is not base64 (at is p's index in the text).
 * pad: the '=' the group ends with (the last group's: 0, 1 or 2, as the
 * vector's byte count gives it; every other group's 0): exactly those
 * count as 0, so a group padded short or long is refused, not read as
 * zero bits (fault sweep 16: "AA==" where one '=' belongs was read). */
static long decode_group(const unsigned char *p, size_t at, int pad, dp_err *err)
{
	uint32_t n = 0;

	for (int k = 0; k < 4; k++) {
		int padding = k >= 4 - pad;
		unsigned bits = padding ? 0 : b64_bits[p[k]];
		if (padding ? p[k] != '=' : bits > 63) {
			dp_err_set(err, "vector is not valid base64 (character %zu%s)", at + (size_t)k,
				   padding ? ": '=' expected" : p[k] == '=' ? ": padding too early" : "");
			return -3;
		}
		n = n << 6 | bits;
	}
	return (long)n;
}

int dp_vec_decode(jv s, float *out, size_t dim, dp_err *err)
{
	if (jv_get_kind(s) != JV_KIND_STRING) {
		dp_err_set(err, "vector is not a base64 string");
		return -3;
	}
	return dp_vec_decode_text(jv_string_value(s), (size_t)jv_string_length_bytes(jv_copy(s)),
				  out, dim, err);
}

int dp_vec_decode_text(const char *text, size_t len, float *out, size_t dim, dp_err *err)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t nbytes = dim * 4;

	if (len != (nbytes + 2) / 3 * 4) {
		dp_err_set(err, "vector has %zu base64 characters; %zu dimensions need %zu",
			   len, dim, (nbytes + 2) / 3 * 4);
		return -1;
	}
	/* The bytes go straight into out: every group but the last yields
	 * three whole bytes, the last what is left of nbytes. */
	unsigned char *bytes = (unsigned char *)out;
	size_t b = 0;
	for (size_t i = 0; i < len; i += 4) {
		long n = decode_group(p + i, i, i + 4 == len ? (int)((3 - nbytes % 3) % 3) : 0, err);
		if (n < 0)
			return (int)n;
		for (int shift = 16; shift >= 0 && b < nbytes; shift -= 8)
			bytes[b++] = (unsigned char)(n >> shift);
	}
	swap_to_little_endian(bytes, dim);
	for (size_t k = 0; k < dim; k++) {
		if (!isfinite(out[k])) {
			dp_err_set(err, "vector value %zu is not a finite float32 number", k);
			return -2;
		}
	}
	return 0;
}

int dp_vec_zero(const float *v, size_t dim)
{
	for (size_t i = 0; i < dim; i++)
		if (v[i] != 0)
			return 0;
	return 1;
}

void dp_vec_normalize(float *v, size_t dim)
{
	double sum = 0;

	for (size_t i = 0; i < dim; i++)
		sum += (double)v[i] * v[i];
	if (sum <= 0)
		return;
	double inv = 1.0 / sqrt(sum);
	/* A vector of denormal values (a --vector of 1e-45s) has a norm
	 * whose inverse overflows a float: multiplied by that infinity it
	 * became infinities, every cosine NaN, and a search found nothing. */
	if (inv > FLT_MAX) {
		for (size_t i = 0; i < dim; i++)
			v[i] = (float)(v[i] * inv);
		return;
	}
	for (size_t i = 0; i < dim; i++)
		v[i] *= (float)inv;
}
