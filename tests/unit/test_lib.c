/* Unit tests for the internal library: lines, records, hashes, vectors,
 * UTF-8 and token estimates, the local embedder, the crash journal's
 * reasons. */
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crash.h"
#include "embedder.h"
#include "hash.h"
#include "lines.h"
#include "record.h"
#include "t.h"
#include "text.h"
#include "vec.h"

static int pipe_with(const char *data, size_t len)
{
	int fds[2];

	if (pipe(fds) != 0)
		abort();
	if (write(fds[1], data, len) != (ssize_t)len)
		abort();
	close(fds[1]);
	return fds[0];
}

static void test_lines(void)
{
	const char data[] = "one\n\nthree-is-too-long\nfour";
	int fd = pipe_with(data, sizeof data - 1);
	dp_lines *l = dp_lines_new(fd, 8);
	const char *line;
	size_t len;
	unsigned long n;
	dp_err err;

	T_EQ_INT(dp_lines_next(l, &line, &len, &n, &err), DP_LINES_OK, "first line");
	T_EQ_STR(line, "one", "first line text");
	T_EQ_INT(dp_lines_next(l, &line, &len, &n, &err), DP_LINES_OK, "blank line");
	T_EQ_INT(len, 0, "blank line is empty");
	T_EQ_INT(dp_lines_next(l, &line, &len, &n, &err), DP_LINES_TOO_LONG, "over-long line reported");
	T_EQ_INT(n, 3, "over-long line numbered");
	T_EQ_INT(dp_lines_next(l, &line, &len, &n, &err), DP_LINES_OK, "line after the long one");
	T_EQ_STR(line, "four", "final line without newline");
	T_EQ_INT(dp_lines_next(l, &line, &len, &n, &err), DP_LINES_EOF, "end");
	dp_lines_free(&l);
	close(fd);

	/* A long line far beyond the buffer must be skipped in bounded memory. */
	size_t big = 1 << 20;
	char *buf = malloc(big + 8);
	memset(buf, 'x', big);
	memcpy(buf + big, "\nok\n", 4);
	int fds[2];
	if (pipe(fds) != 0)
		abort();
	if (fork() == 0) {
		close(fds[0]);
		if (write(fds[1], buf, big + 4) < 0)
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	l = dp_lines_new(fds[0], 1000);
	T_EQ_INT(dp_lines_next(l, &line, &len, &n, &err), DP_LINES_TOO_LONG, "1 MiB line skipped");
	T_EQ_INT(dp_lines_next(l, &line, &len, &n, &err), DP_LINES_OK, "next line read");
	T_EQ_STR(line, "ok", "next line intact");
	dp_lines_free(&l);
	close(fds[0]);
	free(buf);
}

/* dp_lines_set_timeout: nothing (or half a line) within the time is
 * DP_LINES_AGAIN, and what was read of the line, or of an over-long line
 * being skipped, is kept for the next call (the hub's sweep reader). */
static void test_lines_timeout(void)
{
	int fds[2];
	const char *line;
	size_t len;
	unsigned long n;
	dp_err err;

	if (pipe(fds) != 0)
		abort();
	dp_lines *l = dp_lines_new(fds[0], 8);
	dp_lines_set_timeout(l, 10);
	T_EQ_INT(dp_lines_next(l, &line, &len, &n, &err), DP_LINES_AGAIN, "nothing yet: again");
	if (write(fds[1], "ab", 2) != 2)
		abort();
	T_EQ_INT(dp_lines_next(l, &line, &len, &n, &err), DP_LINES_AGAIN, "half a line: again");
	if (write(fds[1], "c\n0123456789", 13) != 13)
		abort();
	T_EQ_INT(dp_lines_next(l, &line, &len, &n, &err), DP_LINES_OK, "the line once whole");
	T_EQ_STR(line, "abc", "its first half kept");
	T_EQ_INT(dp_lines_next(l, &line, &len, &n, &err), DP_LINES_AGAIN, "an over-long line begun: again");
	if (write(fds[1], "xyz\nok\n", 7) != 7)
		abort();
	close(fds[1]);
	T_EQ_INT(dp_lines_next(l, &line, &len, &n, &err), DP_LINES_TOO_LONG, "the over-long line skipped whole");
	T_EQ_INT(dp_lines_next(l, &line, &len, &n, &err), DP_LINES_OK, "the next line");
	T_EQ_STR(line, "ok", "intact");
	T_EQ_INT(dp_lines_next(l, &line, &len, &n, &err), DP_LINES_EOF, "end");
	dp_lines_free(&l);
	close(fds[0]);
}

static void test_records(void)
{
	dp_err err;
	jv r = dp_record_parse("{\"v\":1,\"kind\":\"file\",\"path\":\"/a\\\"b\"}", 36, &err);

	T_OK(jv_is_valid(r), "parse record");
	T_EQ_STR(dp_record_kind(r), "file", "kind");
	T_EQ_STR(dp_record_str(r, "path"), "/a\"b", "path with quote");
	jv e = dp_record_error(r, "chunk", "boom");
	T_EQ_STR(dp_record_kind(e), "error", "error kind");
	T_EQ_STR(dp_record_str(e, "path"), "/a\"b", "error carries path");
	T_EQ_STR(dp_record_str(e, "error"), "boom", "error reason");
	jv_free(e);

	r = dp_record_parse("[1]", 3, &err);
	T_OK(!jv_is_valid(r), "array rejected");
	jv_free(r);
	r = dp_record_parse("{\"kind\":\"file\"", 14, &err);
	T_OK(!jv_is_valid(r), "truncated JSON rejected");
	jv_free(r);
	r = dp_record_parse("{\"v\":2,\"kind\":\"file\"}", 21, &err);
	T_OK(!jv_is_valid(r), "future version rejected");
	jv_free(r);
	r = dp_record_parse("{\"v\":1}", 7, &err);
	T_OK(!jv_is_valid(r), "record without kind rejected");
	jv_free(r);
}

static void test_hash(void)
{
	char a[DP_HASH_HEX], b[DP_HASH_HEX];

	dp_hash_hex("hello", 5, a);
	dp_hash_hex("hello", 5, b);
	T_EQ_INT(strlen(a), 32, "hash is 32 hex digits");
	T_EQ_STR(a, b, "hash is deterministic");
	dp_hash_hex("hellp", 5, b);
	T_OK(strcmp(a, b) != 0, "hash differs for different input");

	dp_hasher h1, h2;
	dp_hasher_init(&h1);
	dp_hasher_init(&h2);
	dp_hasher_add(&h1, "ab", 2);
	dp_hasher_add(&h1, "c", 1);
	dp_hasher_add(&h2, "a", 1);
	dp_hasher_add(&h2, "bc", 2);
	dp_hasher_hex(&h1, a);
	dp_hasher_hex(&h2, b);
	T_OK(strcmp(a, b) != 0, "hasher parts are length-prefixed");

	/* dp_hash_fd reads at most its bound: a file growing while it is read
	 * (a log being written) is not read for as long as it grows. */
	static char big[200000];
	char tmp[] = "/tmp/dp_test_hash_XXXXXX";
	int fd = mkstemp(tmp);
	unsigned long long size = 0;
	dp_err err;
	memset(big, 'x', sizeof big);
	T_OK(fd >= 0 && write(fd, big, sizeof big) == (ssize_t)sizeof big, "a file of 200000 bytes");
	unlink(tmp);
	T_EQ_INT(lseek(fd, 0, SEEK_SET), 0, "rewound");
	T_EQ_INT(dp_hash_fd(fd, sizeof big, a, &size, &err), 0, "hashed within its bound");
	dp_hash_hex(big, sizeof big, b);
	T_OK(size == sizeof big && strcmp(a, b) == 0, "the whole file, hashed as its bytes");
	T_EQ_INT(lseek(fd, 0, SEEK_SET), 0, "rewound");
	T_EQ_INT(dp_hash_fd(fd, 100000, a, &size, &err), -1, "more than its bound: refused");
	T_EQ_STR(err.msg, "file grew past 100000 bytes while being read", "saying the bound");
	close(fd);
}

static void test_vec(void)
{
	float v[5] = {1.5f, -2.25f, 3.0e-7f, 0.0f, 1e30f}, w[5];
	dp_err err;

	for (size_t dim = 1; dim <= 5; dim++) {
		jv s = dp_vec_encode(v, dim);
		memset(w, 0, sizeof w);
		T_EQ_INT(dp_vec_decode(s, w, dim, &err), 0, "decode");
		T_OK(memcmp(v, w, dim * sizeof *v) == 0, "vector round-trips exactly");
		T_OK(dp_vec_decode(s, w, dim + 1, &err) < 0, "wrong dimension rejected");
		jv_free(s);
	}
	jv bad = jv_string("AAA*AAAA");
	T_OK(dp_vec_decode(bad, w, 2, &err) < 0, "bad base64 rejected");
	jv_free(bad);
	/* The wire's bytes: little-endian float32 (1.0f is 0x3f800000, 2.0f
	 * 0x40000000), whatever the host's order. */
	jv one = jv_string("AACAPw==");
	T_EQ_INT(dp_vec_decode(one, w, 1, &err), 0, "a known vector decodes");
	T_OK(w[0] == 1.0f, "as little-endian bytes");
	jv_free(one);
	jv mine = dp_vec_encode((const float[]){1.0f, 2.0f, 1.0f}, 3);
	T_EQ_STR(jv_string_value(mine), "AACAPwAAAEAAAIA/", "encoded little-endian");
	jv_free(mine);
	/* Each bad character named where it stands: a middle group, the last
	 * group, and padding anywhere but at the end. */
	static const struct {
		const char *text;
		const char *msg;
	} wrong[] = {
		{"AACAPwA*AEAAAIA/", "vector is not valid base64 (character 7)"},
		{"AACAPwAAAEAAA-A/", "vector is not valid base64 (character 13)"},
		{"AACAPwAAAEAAAIA*", "vector is not valid base64 (character 15)"},
		{"AA=APwAAAEAAAIA/", "vector is not valid base64 (character 2: padding too early)"},
		{"AACAPwAAAEAAAP9/", "vector value 2 is not a finite float32 number"},
	};
	for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
		jv text = jv_string(wrong[i].text);
		T_OK(dp_vec_decode(text, w, 3, &err) < 0, "a bad vector is refused");
		T_EQ_STR(err.msg, wrong[i].msg, wrong[i].text);
		jv_free(text);
	}
	/* Exactly the padding the length gives: one '=' for two values (8
	 * bytes), two for one; "AA==" where one belongs was read as zero bits
	 * (fault sweep 16). */
	static const struct {
		const char *text;
		size_t dim;
		const char *msg;
	} pads[] = {
		{"AACAPwAAgA==", 2, "vector is not valid base64 (character 10: padding too early)"},
		{"AACAPwAAgD8A", 2, "vector is not valid base64 (character 11: '=' expected)"},
		{"AACAPwA=", 1, "vector is not valid base64 (character 6: '=' expected)"},
	};
	for (size_t i = 0; i < sizeof pads / sizeof pads[0]; i++) {
		jv text = jv_string(pads[i].text);
		T_EQ_INT(dp_vec_decode(text, w, pads[i].dim, &err), -3, "padding that is not the length's: not base64");
		T_EQ_STR(err.msg, pads[i].msg, pads[i].text);
		jv_free(text);
	}
	jv two = jv_string("AACAPwAAgD8=");
	T_EQ_INT(dp_vec_decode(two, w, 2, &err), 0, "the length's padding decodes");
	T_OK(w[0] == 1.0f && w[1] == 1.0f, "to the values");
	jv_free(two);
	/* Valid base64, but a value that no vector may hold. */
	const float odd[] = {NAN, INFINITY, -INFINITY};
	for (size_t i = 0; i < 3; i++) {
		float x[3] = {0.5f, 0.25f, 0.125f};
		x[i] = odd[i];
		jv s = dp_vec_encode(x, 3);
		T_EQ_INT(dp_vec_decode(s, w, 3, &err), -2, "a value that is not finite is rejected");
		char want[64];
		snprintf(want, sizeof want, "vector value %zu is not a finite float32 number", i);
		T_EQ_STR(err.msg, want, "naming the value");
		jv_free(s);
	}
}

static void test_text(void)
{
	/* The stop lists' lookup: every word found, and no prefix, extension
	 * or neighbour of one. */
	static const char *const sorted[] = {"a", "an", "and", "be", "i", "in", "into", "zz"};
	static const char *const absent[] = {"", "aa", "ab", "ana", "andy", "b", "bee", "h", "inn", "int", "intoo", "z", "zzz", "{"};
	size_t nsorted = sizeof sorted / sizeof sorted[0];
	for (size_t i = 0; i < nsorted; i++)
		T_OK(dp_word_in_sorted(sorted[i], strlen(sorted[i]), sorted, nsorted), sorted[i]);
	for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++)
		T_OK(!dp_word_in_sorted(absent[i], strlen(absent[i]), sorted, nsorted), absent[i]);
	T_OK(!dp_word_in_sorted("and more", 3 + 4, sorted, nsorted), "the length counts");
	T_OK(dp_word_in_sorted("and more", 3, sorted, nsorted), "not the terminator");

	T_EQ_INT(dp_utf8_invalid_at("h\xc3\xa9llo", 6), 6, "valid UTF-8");
	T_EQ_INT(dp_utf8_invalid_at("ab\xc3", 3), 2, "truncated sequence");
	T_EQ_INT(dp_utf8_invalid_at("a\xc0\xaf", 3), 1, "overlong");
	T_EQ_INT(dp_utf8_invalid_at("\xed\xa0\x80", 3), 0, "surrogate");
	T_EQ_INT(dp_utf8_invalid_at("\xf4\x90\x80\x80", 4), 0, "above U+10FFFF");
	T_EQ_INT(dp_utf8_floor("a\xe2\x82\xac", 3), 1, "floor drops a partial sequence");
	T_EQ_INT(dp_utf8_floor("a\xe2\x82\xac", 4), 4, "floor keeps a whole sequence");
	/* What a terminal is shown: nothing in a name may act on it or make
	 * it read as another (a right-to-left override reverses what follows). */
	char shown[64];
	dp_utf8_shown("a\xe2\x80\xaegpj.exe", 11, shown, sizeof shown);
	T_EQ_STR(shown, "a\\u202egpj.exe", "a bidi override is shown escaped");
	dp_utf8_shown("\x1b]0;x\x07\xc2\x9b\x7f", 9, shown, sizeof shown);
	T_EQ_STR(shown, "\\x1b]0;x\\x07\\u009b\\x7f", "C0, C1 and DEL escaped");
	dp_utf8_shown("\xf3\xa0\x80\x81t\xe2\x80\x8b", 8, shown, sizeof shown);
	T_EQ_STR(shown, "\\U000e0001t\\u200b", "a tag character and a zero-width space escaped");
	dp_utf8_shown("caf\xc3\xa9 \xe6\x97\xa5 \xe2\x80\x8d\xff\xc3", 15, shown, sizeof shown);
	T_EQ_STR(shown, "caf\xc3\xa9 \xe6\x97\xa5 \xe2\x80\x8d\\xff\\xc3",
		 "letters and ZWJ kept, bytes that are not UTF-8 and a cut sequence escaped");
	dp_utf8_shown("a\0b", 3, shown, sizeof shown);
	T_EQ_STR(shown, "a\\x00b", "a NUL inside a counted text");
	/* Cut by out's size before 120 bytes (each escape is 4 bytes shown
	 * for 1): said with "..." as a cut at 120 is. */
	char esc[100], big[200];
	memset(esc, 0x1b, sizeof esc);
	dp_utf8_shown(esc, sizeof esc, big, sizeof big);
	T_OK(strlen(big) < sizeof big && strlen(big) > 3 && strcmp(big + strlen(big) - 3, "...") == 0 &&
	     strncmp(big, "\\x1b\\x1b", 8) == 0, "a text cut by out's size ends with \"...\"");
	dp_utf8_shown(esc, 40, big, sizeof big);
	T_OK(strlen(big) == 160 && strstr(big, "...") == NULL, "... and one that fits is whole");
	char rep[DP_SHOWN_MAX];
	T_EQ_INT(dp_shown_char("\xe2\x80\xae", 2, rep), 1, "a sequence cut by avail is one byte");
	T_EQ_STR(rep, "\\xe2", "and shown as that byte");
	T_EQ_INT(dp_tokens_estimate("abcdefgh", 8), 2, "ASCII: 4 bytes a token");
	T_EQ_INT(dp_tokens_estimate("\xe6\x97\xa5\xe6\x9c\xac", 6), 2, "CJK: a token a character");

	/* The estimate counts eight bytes at a time in lanes summed every 255
	 * words: compare with a byte loop on long mixed text. */
	static char mixed[5000];
	static const char *const pieces[] = {"a", " ", "\xc3\xa9", "\xe6\x97\xa5", "\xf0\x9f\x99\x82"};
	int ok = 1;
	srand(3);
	for (int round = 0; round < 20; round++) {
		size_t n = 0, ascii = 0, other = 0;
		while (n + 4 < sizeof mixed) {
			const char *p = pieces[rand() % 5];
			size_t k = strlen(p);
			memcpy(mixed + n, p, k);
			n += k;
			ascii += k == 1;
			other += k > 1;
		}
		ok &= dp_tokens_estimate(mixed, n) == (ascii + 3) / 4 + other;
	}
	T_OK(ok, "long mixed text counted like a byte loop");

	/* Lone surrogate escapes become \uFFFD; pairs, escaped backslashes
	 * and other escapes stay. */
	static const struct {
		const char *in, *out;
		size_t n;
		const char *what;
	} lone[] = {
		{"\"bad \\ud800 x\"", "\"bad \\uFFFD x\"", 1, "a lone high surrogate"},
		{"\"\\ud83d\\ude00\"", "\"\\ud83d\\ude00\"", 0, "a pair stays"},
		{"\"\\uD800\\uD800\\uDC00\"", "\"\\uFFFD\\uD800\\uDC00\"", 1, "a high one before a pair"},
		{"\"\\ude00\\ud83d\"", "\"\\uFFFD\\uFFFD\"", 2, "a low one then a high one at the end"},
		{"\"\\\\ud800\"", "\"\\\\ud800\"", 0, "an escaped backslash before ud800"},
		{"\"\\n\\u00e9\\ud8\"", "\"\\n\\u00e9\\ud8\"", 0, "other escapes, a cut one"},
	};
	for (size_t i = 0; i < sizeof lone / sizeof lone[0]; i++) {
		char buf[64];
		size_t len = strlen(lone[i].in);
		memcpy(buf, lone[i].in, len + 1);
		size_t n = dp_json_lone_surrogates(buf, len);
		T_OK(n == lone[i].n && strcmp(buf, lone[i].out) == 0, lone[i].what);
	}
}

static float dot(const float *a, const float *b, size_t n)
{
	float s = 0;
	for (size_t i = 0; i < n; i++)
		s += a[i] * b[i];
	return s;
}

static void test_embed_local(void)
{
	enum { D = 384 };
	static float q[D], a[D], b[D], c[D];
	const char *qa = "how do I rotate the keys";
	const char *ta = "To rotate the signing keys, run keyctl rotate and restart.";
	const char *tb = "The garden needs watering twice a week in summer.";

	dp_embed_local(qa, strlen(qa), q, D);
	dp_embed_local(ta, strlen(ta), a, D);
	dp_embed_local(tb, strlen(tb), b, D);
	dp_embed_local(ta, strlen(ta), c, D);
	T_OK(fabsf(dot(a, a, D) - 1.0f) < 1e-5f, "unit length");
	T_OK(memcmp(a, c, sizeof a) == 0, "deterministic");
	T_OK(dot(q, a, D) > dot(q, b, D) + 0.1f, "related text scores higher");
	dp_embed_local("", 0, c, D);
	T_OK(dot(c, c, D) == 0.0f, "empty text is the zero vector");
}

/* The reason a document listed in the crash journal fails with, by how
 * the supervisor (or the watchdog) listed it (crash.h). */
static void test_crash_reasons(void)
{
	char dir[] = "/tmp/dp-crash-XXXXXX", path[64], why[DP_ERR_MAX];
	dp_err err;

	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof path, "%s/crashed", dir);
	FILE *f = fopen(path, "w");
	if (f == NULL)
		abort();
	fputs("SIGSEGV \"/d/seg.pdf\"\nTIMEOUT-3 \"/d/slow.pdf\"\nSIGKILL-2 \"/d/hog.docx\"\n"
	      "SUSPECT SIGSEGV \"/d/batch 1.md\"\nSUSPECT SIGKILL \"/d/seg.pdf\"\n"
	      "SIGKILL-2:read \"/d/huge.md\"\nSIGBUS:read \"/d/odd.md\"\n", f);
	fclose(f);
	dp_crash *c = dp_crash_open(dir, &err);
	T_OK(c != NULL, "crash journal opened");
	T_OK(dp_crash_listed(c, "/d/seg.pdf", why, sizeof why) &&
		     strstr(why, "died of SIGSEGV processing this document") != NULL,
	     "a crash signal: the reason names it");
	T_OK(dp_crash_listed(c, "/d/slow.pdf", why, sizeof why) && strstr(why, "lasted over 3 s") != NULL,
	     "the watchdog's timeout: the reason gives the limit");
	T_OK(dp_crash_listed(c, "/d/hog.docx", why, sizeof why) &&
		     strcmp(why, "replicas of this stage were killed by SIGKILL twice while processing this"
				 " document (out of memory?); not tried again in this run") == 0,
	     "a second SIGKILL death on one document: the reason says twice, out of memory?");
	T_OK(!dp_crash_listed(c, "/d/fine.md", why, sizeof why), "a document not listed is processed");
	T_OK(dp_crash_listed(c, "/d/huge.md", why, sizeof why), "a record blamed as it was read: listed");
	T_EQ_STR(why, "replicas of this stage were killed by SIGKILL twice while reading (parsing) this record"
		      " (out of memory?); not tried again in this run",
		 "SIGKILL-2:read: the reason says it was being read");
	T_OK(dp_crash_listed(c, "/d/odd.md", why, sizeof why), "a crash signal as it was read: listed");
	T_EQ_STR(why, "a replica of this stage died of SIGBUS reading (parsing) this record; not tried again in this run",
		 "SIGNAL:read: the signal, and reading");
	T_OK(!dp_crash_listed(c, "/d/batch 1.md", why, sizeof why) && dp_crash_suspected(c, "/d/batch 1.md"),
	     "a suspect (in progress among others at a death) is no crashed document, but suspected");
	T_OK(!dp_crash_suspected(c, "/d/fine.md") && !dp_crash_suspected(c, "/d/hog.docx"),
	     "a document not listed as a suspect is not suspected");
	T_OK(dp_crash_listed(c, "/d/seg.pdf", why, sizeof why) && strstr(why, "SIGSEGV") != NULL,
	     "a suspect listed as crashed since: it fails, with its own signal");
	dp_crash_close(&c);
	unlink(path);
	rmdir(dir);
}

/* first_line PATH: the first line of the file at path (without its
 * newline) in buf; "" when there is none. */
static const char *first_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");

	buf[0] = '\0';
	if (f != NULL && fgets(buf, (int)size, f) != NULL)
		buf[strcspn(buf, "\n")] = '\0';
	if (f != NULL)
		fclose(f);
	return buf;
}

/* The journal line the supervisor reads (crash.h): the documents finished
 * so far and the one in progress, or the count alone between documents;
 * stale bytes of a longer line before stay after the first line. */
static void test_crash_journal(void)
{
	char dir[] = "/tmp/dp-crash-XXXXXX", path[64], line[256];
	dp_err err;

	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof path, "%s/doing.%ld", dir, (long)getpid());
	dp_crash *c = dp_crash_open(dir, &err);
	T_OK(c != NULL, "crash journal opened");
	T_OK(strcmp(first_line(path, line, sizeof line), "") == 0, "a replica that took nothing: an empty journal");
	dp_crash_doing(c, "/d/a long name.md");
	T_OK(strcmp(first_line(path, line, sizeof line), "0 \"/d/a long name.md\"") == 0,
	     "the first document: none finished, its path as JSON");
	dp_crash_done(c);
	T_OK(strcmp(first_line(path, line, sizeof line), "1") == 0, "finished: the count alone");
	dp_crash_doing(c, "/d/b.md");
	T_OK(strcmp(first_line(path, line, sizeof line), "1 \"/d/b.md\"") == 0, "the next: one finished before it");
	dp_crash_done(c);
	const char *batch[] = {"/d/x.md", "/d/y \"2\".md"};
	dp_crash_doing_all(c, batch, 2);
	char all[256] = "";
	FILE *f = fopen(path, "r");
	size_t got = f != NULL ? fread(all, 1, sizeof all - 1, f) : 0;
	all[got] = '\0';
	if (f != NULL)
		fclose(f);
	T_EQ_STR(all, "2 #2\n\"/d/x.md\"\n\"/d/y \\\"2\\\".md\"\n",
		 "a batch: the count, #N, then each document's path as JSON on a line of its own");
	dp_crash_done(c);
	T_OK(strcmp(first_line(path, line, sizeof line), "4") == 0, "a batch finished counts its documents");
	dp_crash_doing_all(c, batch, 1);
	T_OK(strcmp(first_line(path, line, sizeof line), "4 \"/d/x.md\"") == 0,
	     "a batch of one: the single document's line");
	/* The reader's mark, beside the batch's (a thread of its own). */
	char reading[64];
	snprintf(reading, sizeof reading, "%s/reading.%ld", dir, (long)getpid());
	T_OK(access(reading, F_OK) != 0, "no record read yet: no reading file");
	dp_crash_reading(c, "/d/huge \"1\".md");
	f = fopen(reading, "r");
	got = f != NULL ? fread(all, 1, sizeof all - 1, f) : 0;
	all[got] = '\0';
	if (f != NULL)
		fclose(f);
	T_EQ_STR(all, "\"/d/huge \\\"1\\\".md\"\n", "a record being read: its path as JSON, one line");
	T_OK(strcmp(first_line(path, line, sizeof line), "4 \"/d/x.md\"") == 0, "the batch's mark untouched");
	dp_crash_read(c);
	struct stat st;
	T_OK(stat(reading, &st) == 0 && st.st_size == 0, "read: the reading file empty");
	dp_crash_close(&c);
	T_OK(access(path, F_OK) != 0, "closed: the journal is removed");
	T_OK(access(reading, F_OK) != 0, "closed: the reading file is removed");
	rmdir(dir);
}

int main(void)
{
	test_lines();
	test_lines_timeout();
	test_records();
	test_hash();
	test_vec();
	test_text();
	test_embed_local();
	test_crash_reasons();
	test_crash_journal();
	return t_done();
}
