/* Unit tests for Markdown as it is found in the wild (issue 9): front
 * matter (YAML, TOML, malformed, absent, `---` as a rule), fences with ~~~
 * and long backtick runs, overlap at block and fence boundaries, merging
 * of small sections, no heading-only chunks, split code and tables with
 * their fence or header repeated, clean heading paths, provenance. */
#include <stdlib.h>

#include "../../src/chunk/chunk_stage.h"
#include "../../src/chunk/chunker.h"
#include "../../src/chunk/frontmatter.h"
#include "chunk_t.h"
#include "record.h"
#include "t.h"
#include "text.h"

static chunk_doc doc;
static const char *src; /* the text of the last split_t */

static int split_t(const char *text, size_t max, size_t overlap, size_t min, const char *title)
{
	chunk_opts o = {.max_tokens = max, .overlap = overlap, .min_tokens = min};
	dp_err err;
	int rc = chunk_split(&doc, text, strlen(text), CHUNK_MARKDOWN, &o, title,
			     title ? strlen(title) : 0, &err);

	src = text;
	if (rc < 0)
		printf("# chunk_split: %s\n", err.msg);
	return rc;
}

/* The meta object of fm_parse as compact JSON, and the body offset. */
static const char *fm(const char *text, size_t *body, const char **problem)
{
	static char buf[2048];
	jv meta;

	*body = fm_parse(text, strlen(text), &meta, problem);
	jv s = jv_dump_string(meta, 0);
	snprintf(buf, sizeof buf, "%s", jv_string_value(s));
	jv_free(s);
	return buf;
}

static void test_front_matter(void)
{
	const char *problem;
	size_t body;

	const char *yaml = "---\ntitle: \"Get \\\"started\\\"\"\ndescription: >\n  Folded\n  text.\n"
			   "weight: 10\ndraft: false\ndate: 2024-01-02\ntags: [a, 'b c', \"d\"]\n"
			   "keywords:\n  - x\n  - y\nparams:\n  nested: 1\naliases: [\n  '/a/',\n  '/b/',\n]\n"
			   "# a comment\nempty:\nslug: my-page # trailing comment\n---\n# Body\n";
	T_EQ_STR(fm(yaml, &body, &problem),
		 "{\"title\":\"Get \\\"started\\\"\",\"description\":\"Folded text.\",\"weight\":10,"
		 "\"draft\":false,\"date\":\"2024-01-02\",\"tags\":[\"a\",\"b c\",\"d\"],"
		 "\"keywords\":[\"x\",\"y\"],\"aliases\":[\"/a/\",\"/b/\"],\"empty\":null,\"slug\":\"my-page\"}",
		 "YAML: scalars, quoted, folded, flow and block lists; nested mapping skipped");
	T_EQ_STR(yaml + body, "# Body\n", "YAML: body starts after the closing ---");
	T_OK(problem == NULL, "YAML: no problem");

	const char *toml = "+++\ntitle = 'Install'\nweight = 1_000\ndraft = true\nrate = 0.5\n"
			   "date = 2024-01-02T10:00:00Z\ntags = [\"a\",\n  \"b\", # note\n]\n"
			   "desc = \"\"\"\nline one\nline two\"\"\"\ninline = { a = 1 }\n[menu.main]\nparent = 'x'\n+++\nBody\n";
	T_EQ_STR(fm(toml, &body, &problem),
		 "{\"title\":\"Install\",\"weight\":1000,\"draft\":true,\"rate\":0.5,"
		 "\"date\":\"2024-01-02T10:00:00Z\",\"tags\":[\"a\",\"b\"],\"desc\":\"line one\\nline two\"}",
		 "TOML: strings, numbers, booleans, dates, arrays over lines; tables skipped");
	T_EQ_STR(toml + body, "Body\n", "TOML: body after +++");
	/* A number a double cannot hold as written stays its text. */
	T_EQ_STR(fm("---\nid: 12345678901234567891\nbig: 1e999\nneg: -9007199254740993\n"
		    "ok: 9007199254740991\nf: -2.5e3\n---\n", &body, &problem),
		 "{\"id\":\"12345678901234567891\",\"big\":\"1e999\",\"neg\":\"-9007199254740993\","
		 "\"ok\":9007199254740991,\"f\":-2500}",
		 "YAML: an integer past 2^53 or a number past a double's range stays a string");
	T_EQ_STR(fm("+++\nid = 12_345_678_901_234_567_891\n+++\n", &body, &problem),
		 "{\"id\":\"12_345_678_901_234_567_891\"}", "TOML: the same");

	T_EQ_STR(fm("---\ntitle: x\nno colon here\n---\ntext\n", &body, &problem), "{}",
		 "malformed YAML: no fields");
	T_EQ_INT(body, 0, "malformed YAML stays text");
	T_OK(problem != NULL && strstr(problem, "YAML") != NULL, "malformed YAML: a problem to warn about");
	fm("---\ntitle: x\n\ntext without end\n", &body, &problem);
	T_OK(body == 0 && problem != NULL && strstr(problem, "closing") != NULL, "unclosed front matter stays text");
	fm("+++\ntitle = \n+++\n", &body, &problem);
	T_OK(body == 0 && problem != NULL, "malformed TOML stays text");
	T_EQ_STR(fm("# Title\n\n---\n\nkey: value\n---\n", &body, &problem), "{}", "absent: nothing");
	T_OK(body == 0 && problem == NULL, "absent: no problem, body at 0");
	fm("---\n---\nx\n", &body, &problem);
	T_EQ_INT(body, 8, "empty front matter is taken out");

	/* Front matter over FM_MAX_BYTES: taken out, its fields not read (1.2M
	 * keys took 240 MB as jq values); at the bound, read. */
	for (size_t extra = 0; extra < 2; extra++) {
		size_t lines = FM_MAX_BYTES / 8, n = 4 + lines * 8 + extra + 8;
		char *big = malloc(n + 1), *o = big;
		o += sprintf(o, "---\n");
		for (size_t i = 0; i < lines; i++)
			o += sprintf(o, "k%05zu:\n", i % 100000); /* 8 bytes */
		if (extra)
			*o++ = '\n';
		o += sprintf(o, "---\nbody");
		const char *meta = fm(big, &body, &problem);
		T_EQ_INT(body, n - 4, extra ? "over FM_MAX_BYTES: the block taken out" : "at FM_MAX_BYTES: taken out");
		if (extra)
			T_OK(strcmp(meta, "{}") == 0 && problem != NULL &&
			     strcmp(problem, "front matter over 256 KiB: its fields are not read") == 0,
			     "... its fields not read, said");
		else
			T_OK(strncmp(meta, "{\"k00000\":null,", 15) == 0 && problem == NULL, "... its fields read");
		free(big);
	}

	/* `---` later in a file is a rule or a setext underline, not front matter. */
	const char *rule = "# A\n\ntext\n\n---\n\nmore\n\nSetext\n---\n\nlast\n";
	T_EQ_INT(split_t(rule, 512, 0, 0, NULL), 0, "split with rules");
	T_EQ_STR(chunk_t_path(&doc, doc.n_chunks - 1), "A/Setext", "--- after text is a setext H2; a rule is text");
	T_OK(strstr(chunk_t_text(&doc, src, 0), "---\n\nmore") != NULL, "the rule stays in the text");
}

static void test_title_and_headings(void)
{
	const char *md = "Intro words here.\n\n## Usage {/*usage*/}\n\nu\n\n## Attr {#my-id}\n\na\n\n"
			 "## Closed ##\n\nc\n\n## Note <!-- hidden --> {{< new-in 1.2 >}} {{% x %}}\n\nn\n\n"
			 "## Keep {/* two words */} #\n\nk\n";
	T_EQ_INT(split_t(md, 512, 0, 0, "Page Title"), 0, "split with a title");
	T_EQ_STR(chunk_t_path(&doc, 0), "Page Title", "the title heads a document without H1");
	T_EQ_STR(chunk_t_path(&doc, 1), "Page Title/Usage", "MDX comment dropped");
	T_EQ_STR(chunk_t_text(&doc, src, 1), "## Usage {/*usage*/}\n\nu", "kept in the chunk text");
	T_EQ_STR(chunk_t_path(&doc, 2), "Page Title/Attr", "{#id} dropped");
	T_EQ_STR(chunk_t_path(&doc, 3), "Page Title/Closed", "closing #s dropped");
	T_EQ_STR(chunk_t_path(&doc, 4), "Page Title/Note", "HTML comment and Hugo shortcodes dropped");
	T_EQ_STR(chunk_t_path(&doc, 5), "Page Title/Keep", "spaced MDX comment and a trailing # dropped");
	T_EQ_INT(split_t("# Real\n\ntext\n", 512, 0, 0, "Other"), 0, "split with H1 and title");
	T_EQ_STR(chunk_t_path(&doc, 0), "Real", "an H1 wins over the title");
	T_EQ_INT(split_t("## Same\n\ntext\n", 512, 0, 0, "Same"), 0, "title equal to the heading");
	T_EQ_STR(chunk_t_path(&doc, 0), "Same", "not repeated in the path");
}

static void test_merging(void)
{
	const char *md = "# Top\n\n## A\n\nshort a\n\n## B\n\nshort b\n\n### B1\n\nshort b1\n\n# Next\n\n"
			 "## Alone\n\n# Last\n\ntext of last\n";
	T_EQ_INT(split_t(md, 512, 0, 12, NULL), 0, "split with min 12");
	T_EQ_INT(doc.n_chunks, 2, "small sections merged under their parents");
	T_EQ_STR(chunk_t_path(&doc, 0), "Top", "merged path: what the sections share");
	T_EQ_STR(chunk_t_text(&doc, src, 0), "# Top\n\n## A\n\nshort a\n\n## B\n\nshort b\n\n### B1\n\nshort b1", "merged text");
	T_EQ_STR(chunk_t_path(&doc, 1), "", "a heading alone merges even into another parent");
	T_EQ_INT(split_t(md, 512, 0, 0, NULL), 0, "split with min 0");
	int heading_only = 0;
	for (size_t i = 0; i < doc.n_chunks; i++)
		heading_only |= strchr(chunk_t_text(&doc, src, i), '\n') == NULL && chunk_t_text(&doc, src, i)[0] == '#';
	T_OK(!heading_only, "min 0: still no heading-only chunk");
	T_EQ_STR(chunk_t_text(&doc, src, 0), "# Top\n\n## A\n\nshort a", "min 0: a heading alone joins its first section");

	/* Across the cap: small sections merge only while the cap allows. */
	char big[4096];
	size_t n = (size_t)snprintf(big, sizeof big, "# P\n\n");
	for (int s = 0; s < 6; s++) {
		n += (size_t)snprintf(big + n, sizeof big - n, "## S%d\n\n", s);
		for (int w = 0; w < 20; w++)
			n += (size_t)snprintf(big + n, sizeof big - n, "word%d ", w);
		n += (size_t)snprintf(big + n, sizeof big - n, "\n\n");
	}
	T_EQ_INT(split_t(big, 64, 0, 40, NULL), 0, "split small sections with a small cap");
	int within = 1;
	for (size_t i = 0; i < doc.n_chunks; i++)
		within &= doc.chunks[i].tokens <= 64;
	T_OK(within && doc.n_chunks >= 3 && doc.n_chunks < 7, "merged up to the cap, never over it");
	T_EQ_STR(chunk_t_path(&doc, 0), "P", "merged siblings share their parent");

	/* The last small section joins the chunk before it. */
	const char *tail = "# T\n\n## Long\n\nsome words that make this section longer than the minimum "
			   "number of tokens we set for the test here\n\n## See also\n\nlink\n";
	T_EQ_INT(split_t(tail, 512, 0, 10, NULL), 0, "split with a small last section");
	T_EQ_INT(doc.n_chunks, 1, "the last small section joins the one before");
	T_EQ_STR(chunk_t_path(&doc, 0), "T", "their shared path");
}

static void test_fences_and_overlap(void)
{
	char md[16384];
	size_t n = (size_t)snprintf(md, sizeof md, "# F\n\n");

	for (int i = 0; i < 4; i++)
		n += (size_t)snprintf(md + n, sizeof md - n, "Paragraph %d has a few words in it.\n\n", i);
	n += (size_t)snprintf(md + n, sizeof md - n, "~~~~sh\n```\nnot a close\n```\n");
	for (int i = 0; i < 6; i++)
		n += (size_t)snprintf(md + n, sizeof md - n, "echo line %d\n", i);
	n += (size_t)snprintf(md + n, sizeof md - n, "~~~~\n\n````md\n```\ninner\n```\n````\n\nAfter the fences.\n");
	T_EQ_INT(split_t(md, 48, 16, 0, NULL), 0, "split fences with overlap");
	int inside = 0, whole_tilde = 0;
	const char *tilde = strstr(md, "~~~~sh"), *tilde_end = strstr(tilde + 4, "~~~~\n") + 4;
	const char *four = strstr(md, "````md"), *four_end = strstr(four + 4, "````\n") + 4;
	for (size_t i = 0; i < doc.n_chunks; i++) {
		const char *s = md + doc.chunks[i].off;
		if ((s > tilde && s < tilde_end) || (s > four && s < four_end))
			inside |= strncmp(chunk_t_text(&doc, src, i), "~~~~", 4) != 0 && strncmp(chunk_t_text(&doc, src, i), "````", 4) != 0;
		whole_tilde |= strstr(chunk_t_text(&doc, src, i), "~~~~sh\n```\nnot a close") != NULL &&
			       strstr(chunk_t_text(&doc, src, i), "echo line 5\n~~~~") != NULL;
	}
	T_OK(!inside, "no chunk starts inside a ~~~ or ```` fence");
	T_OK(whole_tilde, "a ~~~~ fence with ``` lines inside stays whole");
	int para_starts = 1;
	for (size_t i = 1; i < doc.n_chunks; i++) {
		const char *t = chunk_t_text(&doc, src, i);
		para_starts &= strncmp(t, "Paragraph", 9) == 0 || strncmp(t, "~~~~", 4) == 0 ||
			       strncmp(t, "````", 4) == 0 || strncmp(t, "After", 5) == 0;
	}
	T_OK(para_starts, "overlaps start at a block boundary");
	T_OK(doc.chunks[1].off < doc.chunks[0].off + doc.chunks[0].len, "overlap shows as overlapping ranges");

	/* Overlap after a fence: the chunk after it does not start in it. */
	const char *fence_end = "# G\n\nSome text before the code.\n\n```\nx = 1\ny = 2\n```\n\n"
				"A paragraph after the code that is long enough to need its own chunk here.\n";
	T_EQ_INT(split_t(fence_end, 24, 12, 0, NULL), 0, "split after a fence");
	int ok = 1;
	for (size_t i = 0; i < doc.n_chunks; i++) {
		const char *t = chunk_t_text(&doc, src, i);
		ok &= strncmp(t, "x = 1", 5) != 0 && strncmp(t, "y = 2", 5) != 0 && strncmp(t, "```\n\nA", 6) != 0;
	}
	T_OK(ok, "overlap snaps past the fence's end");
}

static void test_split_blocks(void)
{
	char md[16384];
	size_t n = (size_t)snprintf(md, sizeof md, "## Code\n\n```python\n");

	for (int i = 0; i < 60; i++)
		n += (size_t)snprintf(md + n, sizeof md - n, "value_%03d = compute(%d)\n", i, i);
	n += (size_t)snprintf(md + n, sizeof md - n, "```\n\n| key | value |\n|-----|-------|\n");
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(md + n, sizeof md - n, "| k%03d | v%03d |\n", i, i);
	T_EQ_INT(split_t(md, 64, 8, 0, NULL), 0, "oversized code and table");
	int code_ok = 1, table_ok = 1, verbatim = 1, lines = 1, codes = 0, tables = 0;
	for (size_t i = 0; i < doc.n_chunks; i++) {
		const char *t = chunk_t_text(&doc, src, i);
		const chunk_span *c = &doc.chunks[i];
		if (strstr(t, "value_") != NULL) {
			codes++;
			code_ok &= (strncmp(t, "```python\n", 10) == 0 || strncmp(t, "## Code", 7) == 0) &&
				   strcmp(t + strlen(t) - 4, "\n```") == 0;
		} else if (strstr(t, "| k0") != NULL) {
			tables++;
			table_ok &= strncmp(t, "| key | value |\n|-----|-------|\n", 32) == 0;
		}
		char body[8192];
		snprintf(body, sizeof body, "%.*s", (int)c->len, src + c->off);
		verbatim &= strstr(t, body) != NULL;
		lines &= c->off == 0 || src[c->off - 1] == '\n';
		lines &= c->tokens <= 64 && c->tokens == dp_tokens_estimate(t, strlen(t));
	}
	T_OK(codes > 2 && code_ok, "each code piece has its opening and closing fence");
	T_OK(tables > 2 && table_ok, "each table piece starts with the header and delimiter rows");
	T_OK(verbatim, "the body range is in the text");
	T_OK(lines, "pieces start at line starts and stay within the cap");
}

static void test_provenance_record(void)
{
	/* BOM + front matter: offsets stay those of the file. */
	const char *file = "\xEF\xBB\xBF---\ntitle: T\n---\n\nBody line.\n\n## S\n\nmore text\n";
	size_t len = strlen(file), body = 3;
	jv meta;
	const char *problem;
	body += fm_parse(file + 3, len - 3, &meta, &problem);
	chunk_opts o = {.max_tokens = 512, .overlap = 0, .min_tokens = 0};
	dp_err err;
	T_EQ_INT(chunk_split(&doc, file + body, len - body, CHUNK_MARKDOWN, &o, "T", 1, &err), 0, "split");
	jv up = jv_object_set(jv_object(), jv_string("title"), jv_string("Upstream"));
	jv rec = jv_object_set(jv_object(), jv_string("meta"), up);
	rec = chunk_document(NULL, rec, &doc, file, body, NULL, meta, "markdown", "x");
	jv c = jv_array_get(jv_object_get(jv_copy(rec), jv_string("chunks")), 0);
	double start, end, l0, l1;
	T_OK(dp_record_num(c, "start", &start) == 0 && dp_record_num(c, "end", &end) == 0, "start, end");
	T_OK(dp_record_num(c, "line_start", &l0) == 0 && dp_record_num(c, "line_end", &l1) == 0, "lines");
	T_EQ_INT((long long)start, 21, "start is a file offset (BOM and front matter counted)");
	T_EQ_STR(dp_record_str(c, "text"), "Body line.", "text");
	T_OK(memcmp(file + (size_t)start, "Body line.", (size_t)(end - start)) == 0 && end - start == 10,
	     "file[start:end] is the text");
	T_EQ_INT((long long)l0, 5, "line_start");
	T_EQ_INT((long long)l1, 5, "line_end");
	jv m = jv_object_get(jv_copy(rec), jv_string("meta"));
	T_EQ_STR(dp_record_str(m, "title"), "Upstream", "upstream meta keys win");
	jv_free(m);
	jv_free(c);
	jv_free(rec);
}

int main(void)
{
	chunk_doc_init(&doc);
	test_front_matter();
	test_title_and_headings();
	test_merging();
	test_fences_and_overlap();
	test_split_blocks();
	test_provenance_record();
	chunk_doc_free(&doc);
	return t_done();
}
