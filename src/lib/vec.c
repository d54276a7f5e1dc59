#include "vec.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

jv dp_vec_encode(const float *v, size_t dim)
{
	size_t nbytes = dim * 4;
	size_t outlen = (nbytes + 2) / 3 * 4;
	unsigned char *bytes = malloc(nbytes + 3);
	char *out = malloc(outlen + 1);
	size_t o = 0;

	if (bytes == NULL || out == NULL) {
		free(bytes);
		free(out);
		return jv_invalid_with_msg(jv_string("out of memory"));
	}
	for (size_t i = 0; i < dim; i++) {
		uint32_t u;
		memcpy(&u, &v[i], 4);
		bytes[4 * i] = (unsigned char)u;
		bytes[4 * i + 1] = (unsigned char)(u >> 8);
		bytes[4 * i + 2] = (unsigned char)(u >> 16);
		bytes[4 * i + 3] = (unsigned char)(u >> 24);
	}
	for (size_t i = 0; i < nbytes; i += 3) {
		uint32_t n = (uint32_t)bytes[i] << 16;
		size_t left = nbytes - i;
		if (left > 1)
			n |= (uint32_t)bytes[i + 1] << 8;
		if (left > 2)
			n |= bytes[i + 2];
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

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int dp_vec_decode(jv s, float *out, size_t dim, dp_err *err)
{
	if (jv_get_kind(s) != JV_KIND_STRING) {
		dp_err_set(err, "vector is not a base64 string");
		return -1;
	}
	const unsigned char *p = (const unsigned char *)jv_string_value(s);
	size_t len = (size_t)jv_string_length_bytes(jv_copy(s));
	size_t nbytes = dim * 4;

	if (len != (nbytes + 2) / 3 * 4) {
		dp_err_set(err, "vector has %zu base64 characters; %zu dimensions need %zu",
			   len, dim, (nbytes + 2) / 3 * 4);
		return -1;
	}
	unsigned char word[4];
	size_t b = 0; /* bytes decoded */
	for (size_t i = 0; i < len; i += 4) {
		uint32_t n = 0;
		for (int k = 0; k < 4; k++) {
			int val = p[i + k] == '=' && i + 4 == len && k >= 2 ? 0 : b64_value(p[i + k]);
			if (val < 0) {
				dp_err_set(err, "vector is not valid base64 (character %zu)", i + (size_t)k);
				return -1;
			}
			n = n << 6 | (uint32_t)val;
		}
		unsigned char three[3] = {(unsigned char)(n >> 16), (unsigned char)(n >> 8), (unsigned char)n};
		for (int k = 0; k < 3 && b < nbytes; k++, b++) {
			word[b % 4] = three[k];
			if (b % 4 == 3) {
				uint32_t u = (uint32_t)word[0] | (uint32_t)word[1] << 8 |
					     (uint32_t)word[2] << 16 | (uint32_t)word[3] << 24;
				memcpy(&out[b / 4], &u, 4);
			}
		}
	}
	for (size_t i = 0; i < dim; i++) {
		if (!isfinite(out[i])) {
			dp_err_set(err, "vector value %zu is not a finite float32 number", i);
			return -2;
		}
	}
	return 0;
}

void dp_vec_normalize(float *v, size_t dim)
{
	double sum = 0;

	for (size_t i = 0; i < dim; i++)
		sum += (double)v[i] * v[i];
	if (sum <= 0)
		return;
	float inv = (float)(1.0 / sqrt(sum));
	for (size_t i = 0; i < dim; i++)
		v[i] *= inv;
}
