/* The one bounded byte buffer (after curl's dynbuf): a maximum fixed at
 * init, geometric growth up to it, and a sticky overflow flag, so a writer
 * can append many pieces and check once at the end (the store's COPY rows,
 * a JSON text, an HTTP response).
 *
 * Contract: len <= max always; data has room for a NUL after len (see
 * dp_buf_cstr), so cap may reach max + 1.  Once an append or reserve fails
 * (over max, or out of memory) `overflow` stays set and the contents are
 * unspecified until dp_buf_reset.  Not thread-safe: one writer at a time. */
#ifndef DP_BUF_H
#define DP_BUF_H

#include <stddef.h>

typedef struct dp_buf {
	char *data;   /* NULL until the first growth */
	size_t len, cap;
	size_t max;   /* len never exceeds this */
	int overflow; /* sticky: an append did not fit under max or malloc failed */
} dp_buf;

/* An empty buffer holding at most max bytes; allocates nothing.  A zeroed
 * dp_buf is a buffer with max 0 (every append overflows). */
void dp_buf_init(dp_buf *b, size_t max);
/* Frees the memory; b is then as after dp_buf_init(b, 0). */
void dp_buf_free(dp_buf *b);
/* Empties b and clears overflow; keeps the memory and max. */
void dp_buf_reset(dp_buf *b);

/* The slow path of dp_buf_reserve. */
int dp_buf_grow(dp_buf *b, size_t n);

/* Makes room for n more bytes at data + len (the caller writes them and
 * adds n to len).  Returns 0, or -1 with overflow set. */
static inline int dp_buf_reserve(dp_buf *b, size_t n)
{
	return !b->overflow && n < b->cap - b->len ? 0 : dp_buf_grow(b, n);
}

/* Gives back memory beyond max(len, keep) bytes when b holds more than
 * twice that (after a big record, so a long-lived buffer does not keep its
 * high-water mark).  The contents stay; a failed realloc keeps the old
 * block, so it cannot fail. */
void dp_buf_trim(dp_buf *b, size_t keep);

/* Appends n bytes of p.  Returns 0, or -1 with overflow set (nothing
 * appended). */
int dp_buf_append(dp_buf *b, const void *p, size_t n);

/* The contents as a NUL-terminated string ("" when nothing was ever
 * appended); valid until the next append, reset or free. */
const char *dp_buf_cstr(dp_buf *b);
/* Hands over b's bytes, NUL-terminated (owned: free()), and their count in
 * *len; b is then empty with its max.  NULL when b holds nothing. */
char *dp_buf_take(dp_buf *b, size_t *len);

#endif
