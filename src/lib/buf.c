#include "buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The first allocation: most records and responses fit, so they need no
 * realloc (capped by max). */
#define DP_BUF_FIRST_CAP ((size_t)16 << 10)

void dp_buf_init(dp_buf *b, size_t max)
{
	memset(b, 0, sizeof *b);
	b->max = max;
}

void dp_buf_free(dp_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof *b);
}

void dp_buf_reset(dp_buf *b)
{
	b->len = 0;
	b->overflow = 0;
}

int dp_buf_grow(dp_buf *b, size_t n)
{
	size_t max = b->max < SIZE_MAX / 2 ? b->max : SIZE_MAX / 2; /* max + 1 never wraps */

	if (b->overflow)
		return -1;
	if (b->len > max || n > max - b->len) {
		b->overflow = 1;
		return -1;
	}
	size_t need = b->len + n + 1; /* <= max + 1: room for dp_buf_cstr's NUL */
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap > 0 ? b->cap : DP_BUF_FIRST_CAP;
	while (cap < need)
		cap = cap > max / 2 ? max + 1 : cap * 2;
	if (cap > max + 1)
		cap = max + 1;
	char *p = realloc(b->data, cap);
	if (p == NULL) {
		b->overflow = 1;
		return -1;
	}
	b->data = p;
	b->cap = cap;
	return 0;
}

void dp_buf_trim(dp_buf *b, size_t keep)
{
	size_t want = (b->len > keep ? b->len : keep) + 1; /* + dp_buf_cstr's NUL */

	if (b->data == NULL || b->overflow || b->cap / 2 <= want)
		return;
	char *p = realloc(b->data, want);
	if (p != NULL) {
		b->data = p;
		b->cap = want;
	}
}

int dp_buf_append(dp_buf *b, const void *p, size_t n)
{
	if (n == 0)
		return b->overflow ? -1 : 0;
	if (dp_buf_reserve(b, n) < 0)
		return -1;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

const char *dp_buf_cstr(dp_buf *b)
{
	if (b->data == NULL)
		return "";
	b->data[b->len] = '\0'; /* cap > len always once allocated */
	return b->data;
}

char *dp_buf_take(dp_buf *b, size_t *len)
{
	char *data = b->data;
	size_t max = b->max;

	*len = b->len;
	if (data != NULL)
		data[b->len] = '\0';
	memset(b, 0, sizeof *b);
	b->max = max;
	return data;
}
