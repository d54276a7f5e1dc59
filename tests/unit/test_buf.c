/* Unit tests for the bounded buffer (buf.h): growth up to the maximum and
 * never beyond, the sticky overflow flag, reset, the NUL dp_buf_cstr
 * may always add, and trimming after a big record. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "t.h"

static void test_growth(void)
{
	dp_buf b;
	char big[100000];

	memset(big, 'x', sizeof big);
	dp_buf_init(&b, 1 << 20);
	T_EQ_STR(dp_buf_cstr(&b), "", "empty buffer: the empty string, nothing allocated");
	T_OK(b.data == NULL, "init allocates nothing");
	for (int i = 0; i < 10; i++)
		dp_buf_append(&b, big, sizeof big);
	T_OK(!b.overflow && b.len == 10 * sizeof big, "1 MB appended in pieces under a 1 MiB max");
	T_OK(b.cap <= b.max + 1 && b.cap > b.len, "capacity within max + 1 and above len");
	T_OK(memcmp(b.data + 999999, "x", 1) == 0, "contents kept across growth");
	dp_buf_free(&b);
	T_OK(b.data == NULL && b.len == 0 && b.max == 0, "free leaves an empty buffer");
}

static void test_overflow(void)
{
	dp_buf b;

	dp_buf_init(&b, 8);
	T_EQ_INT(dp_buf_append(&b, "12345678", 8), 0, "exactly max fits");
	T_EQ_STR(dp_buf_cstr(&b), "12345678", "and still has room for the NUL");
	T_EQ_INT(dp_buf_append(&b, "9", 1), -1, "one byte over max fails");
	T_OK(b.overflow && b.len == 8, "overflow set, nothing appended");
	T_EQ_INT(dp_buf_append(&b, "", 0), -1, "sticky: even an empty append reports it");
	dp_buf_reset(&b);
	T_OK(!b.overflow && b.len == 0, "reset clears len and overflow");
	T_EQ_INT(dp_buf_append(&b, "ab", 2), 0, "appends again after reset");
	T_EQ_INT(dp_buf_reserve(&b, 7), -1, "reserve past max fails");
	T_EQ_INT(dp_buf_reserve(&b, 1), -1, "and stays failed until reset");
	dp_buf_reset(&b);
	T_EQ_INT(dp_buf_reserve(&b, 8), 0, "reserve up to max succeeds");
	memcpy(b.data, "abcdefgh", 8);
	b.len = 8;
	T_EQ_STR(dp_buf_cstr(&b), "abcdefgh", "reserved bytes written by the caller");
	dp_buf_free(&b);

	dp_buf z = {0};
	T_EQ_INT(dp_buf_append(&z, "a", 1), -1, "a zeroed buffer has max 0");
	dp_buf_free(&z);

	dp_buf h;
	dp_buf_init(&h, (size_t)-1);
	T_EQ_INT(dp_buf_append(&h, "a", 1), 0, "a max of SIZE_MAX does not wrap");
	T_EQ_INT(dp_buf_reserve(&h, (size_t)-1), -1, "an impossible size fails cleanly");
	dp_buf_free(&h);
}

static void test_trim(void)
{
	dp_buf b;
	char big[100000];

	memset(big, 'y', sizeof big);
	dp_buf_init(&b, 1 << 24);
	for (int i = 0; i < 40; i++)
		dp_buf_append(&b, big, sizeof big);
	size_t grown = b.cap;
	b.len = 10;
	dp_buf_trim(&b, 4096);
	T_OK(grown >= (1 << 22) && b.cap == 4097, "trim gives back all but keep (+ the NUL's byte)");
	T_OK(memcmp(b.data, "yyyyyyyyyy", 10) == 0, "contents kept");
	dp_buf_trim(&b, 4096);
	T_EQ_INT((long)b.cap, 4097, "a buffer already small is left alone");
	b.len = 3000;
	dp_buf_trim(&b, 100);
	T_EQ_INT((long)b.cap, 4097, "never below twice what it holds: no realloc churn");
	T_EQ_INT(dp_buf_append(&b, big, sizeof big), 0, "grows again after a trim");
	dp_buf_free(&b);
}

static void test_take(void)
{
	dp_buf b;
	size_t len = 1;

	dp_buf_init(&b, 64);
	T_OK(dp_buf_take(&b, &len) == NULL && len == 0, "take of an empty buffer: NULL, 0 bytes");
	dp_buf_append(&b, "abc", 3);
	char *data = dp_buf_take(&b, &len);
	T_OK(data != NULL && len == 3 && strcmp(data, "abc") == 0, "take hands over the bytes, NUL-terminated");
	T_OK(b.data == NULL && b.len == 0 && b.max == 64, "... and leaves the buffer empty, its max kept");
	free(data);
	T_OK(dp_buf_append(&b, "de", 2) == 0 && strcmp(dp_buf_cstr(&b), "de") == 0, "the buffer is used again");
	dp_buf_free(&b);
}

int main(void)
{
	test_growth();
	test_overflow();
	test_trim();
	test_take();
	return t_done();
}
