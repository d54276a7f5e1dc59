/* Unit tests for docpipe-chunk: sections and heading paths, the token cap
 * and overlap, blocks kept whole or split at lines, UTF-8 boundaries,
 * plain text, the file checks and the document record. */
#include <stdlib.h>

#include "../../src/chunk/chunk_stage.h"
#include "../../src/chunk/chunker.h"
#include "hash.h"
#include "json.h"
#include "record.h"
#include "t.h"
#include "text.h"

static chunk_doc doc;

static int split(const char *text, enum chunk_format f, size_t max, size_t overlap)
{
	chunk_opts o = {.max_tokens = max, .overlap = overlap};
	dp_err err;
	int rc = chunk_split(&doc, text, strlen(text), f, &o, NULL, 0, &err);

	if (rc < 0)
		printf("# chunk_split: %s\n", err.msg);
	return rc;
}

/* The heading path of chunk i joined with '/', in a static buffer. */
static const char *path_of(size_t i)
{
	static char buf[256];
	const chunk_section *s = &doc.sections[doc.chunks[i].section];
	size_t n = 0;

	buf[0] = '\0';
	for (int d = 0; d < s->depth; d++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%.*s", d ? "/" : "",
				      (int)s->path[d].len, s->path[d].len ? doc.names + s->path[d].off : "");
	return buf;
}

static char *text_of(const char *src, size_t i)
{
	static char buf[1 << 16];

	size_t n;
	const char *t = chunk_text(&doc, &doc.chunks[i], src, &n);

	snprintf(buf, sizeof buf, "%.*s", (int)n, t);
	return buf;
}

static int all_within_cap(const char *src, size_t max)
{
	for (size_t i = 0; i < doc.n_chunks; i++) {
		const chunk_span *c = &doc.chunks[i];
		size_t n;
		const char *t = chunk_text(&doc, c, src, &n);
		if (c->tokens > max || c->tokens != dp_tokens_estimate(t, n))
			return 0;
	}
	return 1;
}

static void test_heading_paths(void)
{
	const char *md = "Lead text.\n\n# A\n\ntext a\n\n## B `x` *y*\n\ntext b\n\n### C\n\ntext c\n\n"
			 "## D\n\ntext d\n\n# E\n\ntext e\n\n#### F\n\ntext f\n\nSetext\n======\n\nlast\n";

	T_EQ_INT(split(md, CHUNK_MARKDOWN, 512, 64), 0, "markdown split");
	T_EQ_INT(doc.n_chunks, 8, "one chunk per section");
	T_EQ_STR(path_of(0), "", "text before the first heading has an empty path");
	T_EQ_STR(text_of(md, 0), "Lead text.", "lead chunk text");
	T_EQ_STR(path_of(1), "A", "level 1");
	T_EQ_STR(text_of(md, 1), "# A\n\ntext a", "heading line starts its section's chunk");
	T_EQ_STR(path_of(2), "A/B x y", "level 2 with inline markup as plain text");
	T_EQ_STR(path_of(3), "A/B x y/C", "level 3");
	T_EQ_STR(path_of(4), "A/D", "same level replaces and forgets deeper levels");
	T_EQ_STR(path_of(5), "E", "higher level resets the path");
	T_EQ_STR(path_of(6), "E/F", "skipped levels are left out");
	T_EQ_STR(path_of(7), "Setext", "setext heading");
	T_EQ_STR(text_of(md, 7), "Setext\n======\n\nlast", "setext underline kept in the text");
}

/* A document of many headings: the sections no chunk refers to are
 * dropped as they pile up (a 16 MiB file of 4M headings held 1 GB of
 * them); the chunks' paths stay right. */
static void test_many_headings(void)
{
	static const char head[] = "# A\n\ntext a\n\n", tail[] = "\ntext\n\n# B\n\ntext b\n";
	size_t n = 100000, len = strlen(head) + 5 * n + strlen(tail);
	char *md = malloc(len + 1), *w = md;

	w += sprintf(w, "%s", head);
	for (size_t i = 0; i < n; i++)
		w += sprintf(w, "## %c\n", 'a' + (int)(i % 26));
	sprintf(w, "%s", tail);
	T_EQ_INT(split(md, CHUNK_MARKDOWN, 512, 0), 0, "100,000 headings split");
	T_OK(doc.n_chunks > 100 && doc.n_chunks < 1000, "their lines packed into chunks");
	T_OK(doc.cap_sections <= 4 * doc.n_chunks + 64, "sections held for the chunks, not per heading");
	T_EQ_STR(path_of(0), "A", "the first chunk's path");
	T_EQ_STR(text_of(md, 0), "# A\n\ntext a", "the first chunk's text");
	T_EQ_STR(path_of(1), "A", "a chunk of headings: the path they share");
	T_EQ_STR(path_of(doc.n_chunks - 2), "A", "the chunk of the last ones and their text: the path they share");
	T_EQ_STR(path_of(doc.n_chunks - 1), "B", "the last chunk's path");
	T_EQ_STR(text_of(md, doc.n_chunks - 1), "# B\n\ntext b", "the last chunk's text");
	free(md);
}

static void test_cap_and_overlap(void)
{
	char md[8192];
	size_t n = (size_t)snprintf(md, sizeof md, "# Long\n\n");

	for (int i = 0; i < 300; i++)
		n += (size_t)snprintf(md + n, sizeof md - n, "w%03d ", i);
	T_EQ_INT(split(md, CHUNK_MARKDOWN, 64, 16), 0, "long paragraph split");
	T_OK(doc.n_chunks > 3, "several chunks");
	T_OK(all_within_cap(md, 64), "every chunk within the cap, tokens exact");
	int overlaps = 1, covered = 1;
	for (size_t i = 1; i < doc.n_chunks; i++) {
		const chunk_span *prev = &doc.chunks[i - 1], *c = &doc.chunks[i];
		size_t prev_end = prev->off + prev->len;
		/* The next chunk starts inside the previous one, at a word. */
		if (!(c->off > prev->off && c->off < prev_end && md[c->off - 1] == ' '))
			overlaps = 0;
		size_t ov = dp_tokens_estimate(md + c->off, prev_end - c->off);
		if (ov > 16 || ov < 8)
			overlaps = 0;
		if (c->off > prev_end)
			covered = 0;
	}
	T_OK(overlaps, "each next chunk repeats ~16 tokens of the previous, from a word start");
	T_OK(covered, "no text lost between chunks");
	T_EQ_STR(path_of(doc.n_chunks - 1), "Long", "every piece keeps the heading path");

	T_EQ_INT(split(md, CHUNK_MARKDOWN, 64, 0), 0, "split without overlap");
	int adjacent = 1;
	for (size_t i = 1; i < doc.n_chunks; i++)
		if (doc.chunks[i].off < doc.chunks[i - 1].off + doc.chunks[i - 1].len)
			adjacent = 0;
	T_OK(adjacent, "overlap 0: chunks do not overlap");
}

static void test_blocks_whole(void)
{
	char md[8192];
	char fence[2048];
	char table[2048];
	size_t n = 0;

	n = (size_t)snprintf(fence, sizeof fence, "```c\n");
	for (int i = 0; i < 8; i++)
		n += (size_t)snprintf(fence + n, sizeof fence - n, "int x%d = %d;\n", i, i);
	snprintf(fence + n, sizeof fence - n, "```");
	n = (size_t)snprintf(table, sizeof table, "| a | b |\n|---|---|\n");
	for (int i = 0; i < 8; i++)
		n += (size_t)snprintf(table + n, sizeof table - n, "| %d | v%d |\n", i, i);
	table[n - 1] = '\0';
	snprintf(md, sizeof md,
		 "# S\n\nA paragraph of some words here.\n\n%s\n\nAnother paragraph.\n\n%s\n\nEnd.\n",
		 fence, table);

	T_EQ_INT(split(md, CHUNK_MARKDOWN, 48, 8), 0, "split code and table");
	int fence_whole = 0, table_whole = 0;
	for (size_t i = 0; i < doc.n_chunks; i++) {
		if (strstr(text_of(md, i), fence) != NULL)
			fence_whole = 1;
		if (strstr(text_of(md, i), table) != NULL)
			table_whole = 1;
	}
	T_OK(fence_whole, "fenced code block kept whole in one chunk (with its fences)");
	T_OK(table_whole, "table kept whole in one chunk");
	T_OK(all_within_cap(md, 48), "within the cap");

	/* An empty-info fence after blank code lines still starts at the fence. */
	const char *blank = "# S\n\n```\n\n\ncode\n```\n";
	T_EQ_INT(split(blank, CHUNK_MARKDOWN, 512, 0), 0, "fence with blank first lines");
	T_EQ_STR(text_of(blank, 0), "# S\n\n```\n\n\ncode\n```", "fence lines included");
}

static void test_oversized_fence(void)
{
	char md[16384];
	size_t n = (size_t)snprintf(md, sizeof md, "## Code\n\n```python\n");

	for (int i = 0; i < 120; i++)
		n += (size_t)snprintf(md + n, sizeof md - n, "value_%03d = compute(%d)\n", i, i);
	snprintf(md + n, sizeof md - n, "```\n");
	T_EQ_INT(split(md, CHUNK_MARKDOWN, 64, 8), 0, "oversized fence split");
	T_OK(doc.n_chunks > 5, "into several chunks");
	T_OK(all_within_cap(md, 64), "each within the cap");
	int at_lines = 1;
	for (size_t i = 0; i + 1 < doc.n_chunks; i++) {
		size_t end = doc.chunks[i].off + doc.chunks[i].len;
		if (md[end] != '\n')
			at_lines = 0;
	}
	T_OK(at_lines, "pieces end at line ends");
}

static void test_utf8_boundaries(void)
{
	char s[4096];
	size_t n = 0;

	/* No spaces or newlines: the cut falls between code points. 'a' costs
	 * 1/4 token, so the cap is reached at every possible byte phase. */
	for (int i = 0; i < 200; i++)
		n += (size_t)snprintf(s + n, sizeof s - n, "%s", i % 3 == 0 ? "a" : i % 3 == 1 ? "日本" : "é");
	for (size_t max = 8; max <= 12; max++) {
		for (size_t ov = 0; ov <= 4; ov += 4) {
			T_EQ_INT(split(s, CHUNK_TEXT, max, ov), 0, "split text without spaces");
			int valid = 1;
			for (size_t i = 0; i < doc.n_chunks; i++) {
				const chunk_span *c = &doc.chunks[i];
				if (dp_utf8_invalid_at(s + c->off, c->len) != c->len || c->tokens > max)
					valid = 0;
			}
			T_OK(valid, "no chunk splits a UTF-8 sequence or exceeds the cap");
		}
	}
}

static void test_plain_text(void)
{
	const char *t = "first para\nline two\n\n \t\nsecond para\n\n\n\nthird\n";

	T_EQ_INT(split(t, CHUNK_TEXT, 512, 64), 0, "text split");
	T_EQ_INT(doc.n_chunks, 1, "small paragraphs packed together");
	T_EQ_STR(text_of(t, 0), "first para\nline two\n\n \t\nsecond para\n\n\n\nthird", "whole text");
	T_EQ_STR(path_of(0), "", "no heading");
	T_EQ_INT(split(t, CHUNK_TEXT, 8, 0), 0, "text split small");
	T_EQ_INT(doc.n_chunks, 2, "split between paragraphs");
	T_EQ_STR(text_of(t, 0), "first para\nline two", "first paragraph");
	T_EQ_STR(text_of(t, 1), "second para\n\n\n\nthird", "then the others");
	T_EQ_INT(split("# not a heading\n", CHUNK_TEXT, 512, 0), 0, "text with '#'");
	T_EQ_STR(path_of(0), "", "plain text has no headings");
	T_EQ_INT(split("", CHUNK_MARKDOWN, 512, 64), 0, "empty markdown");
	T_EQ_INT(doc.n_chunks, 0, "no chunks");
	T_EQ_INT(split(" \n\n\t\n", CHUNK_TEXT, 512, 64), 0, "blank text");
	T_EQ_INT(doc.n_chunks, 0, "no chunks");
	chunk_opts bad = {.max_tokens = 100, .overlap = 60};
	dp_err err;
	T_EQ_INT(chunk_opts_check(&bad, &err), -1, "overlap over half the cap refused");
}

static void test_checks_and_record(void)
{
	dp_err err;
	wide_enc w;
	char hex[DP_HASH_HEX];
	jv rec = jv_object();

	dp_hash_hex("ab\0c", 4, hex);
	rec = jv_object_set(rec, jv_string("size"), jv_number(4));
	rec = jv_object_set(rec, jv_string("hash"), jv_string(hex));
	T_EQ_INT(chunk_check_text("ab\0c", 4, NULL, &w, &err), -1, "NUL byte refused");
	T_EQ_STR(err.msg, "binary file: NUL byte at byte 2", "NUL reason");
	/* Bytes that are not discover's: refused read through a symbolic
	 * link; else the version read, stamped on the record. */
	struct stat st = {.st_mtim = {.tv_sec = 7}};
	T_EQ_INT(chunk_check_file(&rec, "abcd", 4, &st, 1, &err), -1, "other hash through a link refused");
	T_OK(strstr(err.msg, "changed since discovery: its hash differs (read through a symbolic link")
	     != NULL, "hash reason");
	T_EQ_INT(chunk_check_file(&rec, "abcde", 5, &st, 1, &err), -1, "other size through a link refused");
	T_EQ_INT(chunk_check_file(&rec, "ab\0c", 4, &st, 1, &err), 0, "discover's bytes through a link taken");
	T_EQ_INT(chunk_check_file(&rec, "abcde", 5, &st, 0, &err), 0, "an edited file taken");
	dp_hash_hex("abcde", 5, hex);
	T_EQ_STR(dp_record_str(rec, "hash"), hex, "its hash stamped");
	double n = 0;
	T_OK(dp_record_num(rec, "size", &n) == 0 && n == 5, "its size stamped");
	T_OK(dp_record_num(rec, "mtime", &n) == 0 && n == 7, "its mtime stamped");
	jv_free(rec);
	rec = jv_object();
	T_EQ_INT(chunk_check_text("ok \xC3\xA9 \xE6\x97", 8, NULL, &w, &err), -1, "invalid UTF-8 refused");
	T_EQ_STR(err.msg, "invalid UTF-8 at byte 6", "invalid UTF-8 offset");
	/* UTF-16 and UTF-32 by their byte order marks, or without one by
	 * their code units: told (the caller decodes), not "binary". */
	T_EQ_INT(chunk_check_text("\xFF\xFE#\0 \0", 6, NULL, &w, &err), 0, "UTF-16LE read");
	T_EQ_STR(w.name, "UTF-16LE", "UTF-16LE by its BOM");
	T_EQ_INT((int)w.bom, 2, "its BOM skipped");
	T_EQ_INT(chunk_check_text("\xFE\xFF\x4e\x2d", 4, NULL, &w, &err), 0, "UTF-16BE without a NUL read");
	T_EQ_STR(w.name, "UTF-16BE", "UTF-16BE named");
	T_EQ_INT(chunk_check_text("\xFF\xFE\0\0#\0\0\0", 8, NULL, &w, &err), 0, "UTF-32LE read");
	T_EQ_STR(w.name, "UTF-32LE", "UTF-32LE, not UTF-16LE");
	T_EQ_INT(chunk_check_text("\0\0\xFE\xFF", 4, NULL, &w, &err), 0, "UTF-32BE read");
	T_EQ_STR(w.name, "UTF-32BE", "UTF-32BE named");
	T_EQ_INT(chunk_check_text("#\0 \0h\0\xe9\0l\0l\0o\0!\0", 16, NULL, &w, &err), 0, "UTF-16LE without a BOM read");
	T_EQ_STR(w.name, "UTF-16LE", "and named");
	T_EQ_INT((int)w.bom, 0, "no BOM");
	T_EQ_INT(chunk_check_text("\0#\0 \0h\0i\0 \0t\0h\0e", 16, NULL, &w, &err), 0, "UTF-16BE without a BOM read");
	T_EQ_STR(w.name, "UTF-16BE", "and named");
	T_EQ_INT(chunk_check_text("a\0\0\0b\0\0\0c\0\0\0d\0\0\0", 16, NULL, &w, &err), 0, "UTF-32LE without a BOM read");
	T_EQ_STR(w.name, "UTF-32LE", "and named");
	T_EQ_INT(chunk_check_text("a\0\0\0\x01\0\0\0c\0\0\0d\0\0\0", 16, NULL, &w, &err), -1, "a control character: binary");
	T_EQ_STR(err.msg, "binary file: NUL byte at byte 1", "as binary");
	/* Text with stray NULs read as UTF-16 is CJK: never decoded so. */
	T_EQ_INT(chunk_check_text("# Notes on the build\n\nSome text with one stray\0NUL in it.\n", 58, NULL, &w, &err), 0, "UTF-8 with a stray NUL: not UTF-16");
	T_EQ_INT((int)w.unit, 0, "but UTF-8 with a stray NUL (the caller replaces it)");
	T_EQ_INT(chunk_check_text("# Head\n\nsome\0text\0\0more\0words here.\n", 36, NULL, &w, &err), -1, "NULs over 1 byte in 32: binary");
	T_EQ_STR(err.msg, "binary file: NUL byte at byte 12", "named as such");
	T_EQ_INT(chunk_check_text("# Head\n\nsome text with a stray\0NUL and a \x01 control.\n", 52, NULL, &w, &err), -1, "a NUL beside another control byte: binary");
	T_EQ_INT(chunk_check_text("# Head\n\nsome text with a stray\0NUL and \x1b[1mbold\x1b[0m text\n", 57, NULL, &w, &err), 0, "a NUL beside a terminal's escapes: text");
	T_EQ_INT(chunk_check_text("# Head\n\nsome text with a stray\0NUL and caf\xe9 in Latin-1 text", 59, NULL, &w, &err), -1, "a NUL in text that is not UTF-8: binary");
	T_OK(strstr(err.msg, "binary") != NULL, "named as such");
	/* CJK in UTF-16 without a zero byte: a hint, never a decoding (Shift
	 * JIS or EUC-KR reads so too). */
	T_EQ_INT(chunk_check_text("\x2d\x4e\x87\x65\x87\x65\x2c\x67\x2c\x67\x2d\x4e\x87\x65\x87\x65", 16, NULL, &w, &err), -1, "UTF-16LE CJK without a zero byte refused");
	T_EQ_STR(err.msg, "invalid UTF-8 at byte 2; reads as CJK in UTF-16LE without a byte order mark (or is"
		 " Shift JIS, EUC-KR ...): convert it, e.g. iconv -f UTF-16LE -t UTF-8", "with the hint");
	T_EQ_INT(chunk_check_text("\xc7\xd1\xb1\xb9\xbe\xee\xc7\xd1\xb1\xb9\xbe\xee\xc7\xd1\xb1\xb9", 16, NULL, &w, &err), -1, "EUC-KR Hangul refused");
	T_OK(strstr(err.msg, "iconv -f UTF-16BE") != NULL, "with the same hint: its pairs are UTF-16BE Hangul");
	T_EQ_INT(chunk_check_text("caf\xe9 cr\xe8me br\xfbl\xe9" "e et caf\xe9 au lait\0 ok", 37, NULL, &w, &err), -1, "Latin-1 with a stray NUL: not UTF-16");
	T_EQ_INT(chunk_check_text("ok \xC3\xA9", 5, NULL, &w, &err), 0, "UTF-8 read");
	T_EQ_INT((int)w.unit, 0, "as UTF-8");
	T_EQ_INT(chunk_check_text("caf\xe9 cr\xe8me", 10, NULL, &w, &err), -1, "Latin-1 refused");
	T_EQ_STR(err.msg, "invalid UTF-8 at byte 3; looks like Latin-1 or Windows-1252: convert it,"
		 " e.g. iconv -f WINDOWS-1252 -t UTF-8", "with the hint");
	T_EQ_INT(chunk_check_text("caf\xe9 \xc3\xa9", 7, NULL, &w, &err), -1, "Latin-1 beside UTF-8 refused");
	T_EQ_STR(err.msg, "invalid UTF-8 at byte 3", "without the hint (a conversion would garble the UTF-8)");
	T_EQ_INT(chunk_check_text("a\x81" "b", 3, NULL, &w, &err), -1, "a byte Windows-1252 leaves undefined refused");
	T_EQ_STR(err.msg, "invalid UTF-8 at byte 1", "without the hint");

	T_EQ_INT(chunk_format_of("/a/b.MD", CHUNK_FORMAT_AUTO), CHUNK_MARKDOWN, ".MD is markdown");
	T_EQ_INT(chunk_format_of("/a.md/b.txt", CHUNK_FORMAT_AUTO), CHUNK_TEXT, ".txt is text");
	T_EQ_INT(chunk_format_of("/a/b.txt", CHUNK_FORMAT_MARKDOWN), CHUNK_MARKDOWN, "forced format");

	const char *md = "# T\n\nbody\n";
	T_EQ_INT(split(md, CHUNK_MARKDOWN, 512, 64), 0, "split for record");
	rec = jv_object_set(rec, jv_string("kind"), jv_string("file"));
	rec = jv_object_set(rec, jv_string("meta"), jv_string("kept"));
	rec = chunk_document(NULL, rec, &doc, md, 0, NULL, jv_invalid(), "markdown",
			     "md4c-v1 max=512 overlap=64");
	jv text = dp_record_dump(rec);
	T_EQ_STR(jv_string_value(text),
		 "{\"kind\":\"document\",\"meta\":\"kept\",\"format\":\"markdown\","
		 "\"chunker\":\"md4c-v1 max=512 overlap=64\",\"chunks\":[{\"seq\":0,"
		 "\"text\":\"# T\\n\\nbody\",\"heading\":[\"T\"],\"tokens\":3,\"start\":0,"
		 "\"end\":9,\"line_start\":1,\"line_end\":3}]}",
		 "document record keeps unknown fields");
	jv_free(text);
}

/* dp_json_append must write exactly what jq's jv_dump_string writes. */
static int same_as_jq(jv v)
{
	dp_json_buf b = {0};
	dp_err err;
	jv want = jv_dump_string(jv_copy(v), 0);
	int ok = dp_json_append(&b, v, &err) == 0 &&
		 b.len == (size_t)jv_string_length_bytes(jv_copy(want)) &&
		 memcmp(b.data, jv_string_value(want), b.len) == 0;

	if (!ok)
		printf("# got  %.*s\n# want %s\n", (int)b.len, b.data, jv_string_value(want));
	jv_free(want);
	jv_free(v);
	dp_json_buf_free(&b);
	return ok;
}

static void test_json(void)
{
	static const double nums[] = {0, -0.0, 1, -1, 512, 1e6, 123456789012345.0, 999999999999999.0,
				      1e15, 1e16, 1e17, 123456789012345678.0, 0.5, -2.25,
				      1795784930.9943068, 1e-7, 1e300, 3.0e-300};
	int ok = 1;

	for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
		ok &= same_as_jq(jv_number(nums[i]));
	srand(7);
	for (int i = 0; i < 2000; i++)
		ok &= same_as_jq(jv_number((double)(rand() % 2000001 - 1000000) *
					   (i % 3 == 0 ? 1 : i % 3 == 1 ? 1e8 : 0.001)));
	T_OK(ok, "numbers as jq prints them");
	char all[160];
	for (int i = 0; i < 128; i++)
		all[i] = (char)(i + 1 < 128 ? i + 1 : 0x7f);
	memcpy(all + 127, "é日本🙂\"\\/", 16);
	T_OK(same_as_jq(jv_string_sized(all, 143)), "every ASCII character, quotes, backslash, UTF-8");
	T_OK(same_as_jq(jv_string_sized("a\0b", 3)), "NUL in a string");
	/* The escape scan reads eight bytes at a time: put characters that
	 * need escapes (and bytes near them in value) at every offset of a
	 * word, between runs of every length. */
	static const char near[] = {'\n', '"', '\\', 0x7f, 0x1f, ' ', '!', '#', '[', ']', '~', 'a'};
	char mix[64];
	ok = 1;
	for (int i = 0; i < 3000; i++) {
		size_t n = (size_t)(rand() % (int)sizeof mix);
		for (size_t k = 0; k < n; k++)
			mix[k] = rand() % 4 == 0 ? near[rand() % (int)sizeof near] : (char)('a' + k % 26);
		if (n >= 4 && rand() % 2 == 0)
			memcpy(mix + rand() % (int)(n - 3), "\xe2\x82\xac", 3);
		ok &= same_as_jq(jv_string_sized(mix, (int)n));
	}
	T_OK(ok, "random strings with escapes at every offset");
	jv rec = jv_parse("{\"v\":1,\"k\":[true,false,null,[],{},\"x\"],\"m\":{\"a b\":{\"c\":[1.5]}}}");
	rec = jv_object_set(rec, jv_string("v"), jv_number(2));
	T_OK(same_as_jq(rec), "nested objects and arrays, key order after a replace");
	dp_json_buf small = {.max = 8};
	dp_err err;
	jv big = jv_string("0123456789");
	T_EQ_INT(dp_json_append(&small, big, &err), -1, "maximum size enforced");
	jv_free(big);
	dp_json_buf_free(&small);
}

/* The document record written as text (the chunk stage's hot path) is
 * what jq writes for the same record, and the record's value without out
 * is that text parsed. */
static void test_document_text(void)
{
	const char *md = "# One\n\nalpha \"quoted\" \\ tab\there \xC3\xA9t\xC3\xA9 \xF0\x9F\x99\x82.\n\n"
			 "## Two \\ \"x\"\n\nbeta gamma delta epsilon zeta eta theta iota kappa lambda mu.\n\n"
			 "beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu.\n\n"
			 "# Three\n\n\x01 control and DEL \x7f here.\n";
	dp_json_buf out = {0};
	dp_err err;

	T_EQ_INT(split(md, CHUNK_MARKDOWN, 12, 2), 0, "split");
	T_OK(doc.n_chunks >= 4, "several chunks, several sections");
	jv file = jv_parse("{\"v\":1,\"kind\":\"file\",\"path\":\"/d/a.md\",\"chunks\":7,\"size\":99}");
	dp_buf_init(&out, 1 << 20);
	jv r = chunk_document(&out, jv_copy(file), &doc, md, 0, NULL,
			      jv_parse("{\"title\":\"T\"}"), "markdown", "c");
	T_OK(!jv_is_valid(r), "with out: written, no value returned");
	jv value = chunk_document(NULL, jv_copy(file), &doc, md, 0, NULL,
				  jv_parse("{\"title\":\"T\"}"), "markdown", "c");
	jv dumped = jv_dump_string(jv_copy(value), 0);
	T_OK(out.len == (size_t)jv_string_length_bytes(jv_copy(dumped)) &&
		     memcmp(out.data, jv_string_value(dumped), out.len) == 0,
	     "the text is jq's own dump of the record");
	if (out.len != (size_t)jv_string_length_bytes(jv_copy(dumped)))
		printf("# text %.*s\n# jq   %s\n", (int)out.len, out.data, jv_string_value(dumped));
	T_EQ_INT(jv_array_length(jv_object_get(jv_copy(value), jv_string("chunks"))), (int)doc.n_chunks,
		 "an upstream \"chunks\" replaced by the chunks");
	T_OK(memcmp(out.data + out.len - 3, "}]}", 3) == 0, "... which come last");
	jv_free(dumped);
	jv_free(value);

	/* Text that is not UTF-8 (here a slice cut inside a character) is
	 * written as jq writes its string: U+FFFD for the bad bytes. */
	out.len = 0;
	T_EQ_INT(dp_json_put_string(&out, "ab\xC3\xA9\xC3", 5, &err), 0, "a cut character written");
	jv s = jv_dump_string(jv_string_sized("ab\xC3\xA9\xC3", 5), 0);
	T_EQ_INT((int)out.len, jv_string_length_bytes(jv_copy(s)), "as jq writes it");
	T_OK(memcmp(out.data, jv_string_value(s), out.len) == 0, "byte for byte");
	jv_free(s);

	/* A record over the output's max: an error record saying so. */
	dp_buf_free(&out);
	dp_buf_init(&out, 64);
	r = chunk_document(&out, jv_copy(file), &doc, md, 0, NULL, jv_invalid(), "markdown", "c");
	T_EQ_STR(dp_record_kind(r), "error", "too big for the output: an error record");
	T_OK(strstr(dp_record_str(r, "error"), "its output record: JSON text over 64 bytes (--max-record 64;") != NULL,
	     "naming the maximum and the option");
	T_EQ_STR(dp_record_str(r, "path"), "/d/a.md", "for its file");
	jv_free(r);
	jv_free(file);
	dp_buf_free(&out);
}

int main(void)
{
	chunk_doc_init(&doc);
	test_heading_paths();
	test_many_headings();
	test_cap_and_overlap();
	test_blocks_whole();
	test_oversized_fence();
	test_utf8_boundaries();
	test_plain_text();
	test_checks_and_record();
	test_json();
	test_document_text();
	chunk_doc_free(&doc);
	return t_done();
}
