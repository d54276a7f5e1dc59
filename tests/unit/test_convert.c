/* Unit tests of the converters' shared parts (src/chunk/convert.c): the
 * derived-Markdown writer (escapes, runs, marks), options, the dispatch by
 * extension, provenance of chunks; and small HTML and notebook inputs. */
#include <stdlib.h>
#include <string.h>

#include "../../src/chunk/chunk_stage.h"
#include "t.h"

/* Writes one paragraph run of s and returns the derived text. */
static const char *para(conv_out *o, const char *s)
{
	o->text.len = 0;
	size_t start = conv_block(o, NULL);
	conv_inline(o, s, strlen(s));
	conv_end_run(o, start, 1);
	return o->text.data != NULL ? o->text.data : "";
}

static void test_writer(void)
{
	conv_out o;
	conv_out_init(&o);
	T_EQ_STR(para(&o, "  a \n\t b  "), "a b", "inline text: white space collapsed and trimmed");
	T_EQ_STR(para(&o, "# not a heading"), "\\# not a heading", "a '#' at the start is escaped");
	T_EQ_STR(para(&o, "12. not a list"), "12\\. not a list", "an ordered-list number is escaped");
	T_EQ_STR(para(&o, "[x]: /not-a-definition"), "\\[x]: /not-a-definition",
		 "a link definition is escaped");
	T_EQ_STR(para(&o, "plain - text"), "plain - text", "other text is left alone");
	T_EQ_STR(para(&o, " \n "), "", "an empty run leaves nothing");
	o.text.len = 0;
	conv_code(&o, "c", "\nint a = `b`;\n```x\n\n", 20, NULL);
	T_EQ_STR(o.text.data, "````c\nint a = `b`;\n```x\n````\n", "code fence longer than any backtick run");
	conv_out_free(&o);
}

static void test_marks(void)
{
	conv_out o;
	conv_out_init(&o);
	conv_heading(&o, 1, "a");
	conv_puts(&o, "A");
	size_t start = conv_block(&o, "b");
	conv_run(&o);
	conv_end_run(&o, start, 1); /* an empty block: its mark goes */
	conv_heading(&o, 1, "c");
	conv_puts(&o, "C");
	T_EQ_INT(o.n_marks, 2, "the mark of an emptied block is dropped");
	T_EQ_STR(o.locs.data + o.marks[1].loc, "c", "the next block's mark replaces it");
	T_EQ_INT(o.marks[1].off, 5, "at the block's offset");

	/* Sections with text: a heading alone would merge with the next
	 * (chunker.h), leaving one chunk. */
	conv_out_free(&o);
	conv_out_init(&o);
	const char *const names[] = {"a", "A", "a2", "Alpha text here.", "c", "C", "c2", "Gamma text here."};
	for (int i = 0; i < 8; i += 4) {
		conv_heading(&o, 1, names[i]);
		conv_puts(&o, names[i + 1]);
		start = conv_block(&o, names[i + 2]);
		conv_run(&o);
		conv_inline(&o, names[i + 3], strlen(names[i + 3]));
		conv_end_run(&o, start, 1);
	}
	chunk_opts opts = {.max_tokens = 8, .overlap = 0};
	chunk_doc doc;
	dp_err err;
	chunk_doc_init(&doc);
	T_OK(chunk_split(&doc, o.text.data, o.text.len, CHUNK_MARKDOWN, &opts, NULL, 0, &err) == 0, "split");
	o.meta = jv_object_set(o.meta, jv_string("title"), jv_string("mine"));
	o.meta = jv_object_set(o.meta, jv_string("lang"), jv_string("en"));
	jv rec = chunk_document_derived(
		jv_object_set(jv_object(), jv_string("meta"),
			      jv_object_set(jv_object(), jv_string("title"), jv_string("up"))),
		&doc, o.text.data, jv_copy(o.meta), "x", "x");
	rec = conv_provenance(rec, &doc, &o);
	jv got = jv_dump_string(jv_copy(rec), JV_PRINT_SORTED);
	T_EQ_STR(jv_string_value(got),
		 "{\"chunker\":\"x\",\"chunks\":[{\"heading\":[\"A\"],\"locator\":\"a\",\"seq\":0,\"text\":\"# A\\n\\nAlpha text here.\",\"tokens\":6},"
		 "{\"heading\":[\"C\"],\"locator\":\"c\",\"seq\":1,\"text\":\"# C\\n\\nGamma text here.\",\"tokens\":6}],"
		 "\"converter\":\"\",\"format\":\"x\",\"kind\":\"document\",\"meta\":{\"lang\":\"en\",\"title\":\"up\"}}",
		 "locators per chunk; upstream meta keys win");
	jv_free(got);
	jv_free(rec);
	chunk_doc_free(&doc);
	conv_out_free(&o);
}

static void test_options(void)
{
	conv_opts c;
	const conv_command *cmd;
	dp_err err;
	conv_opts_default(&c, 100);
	T_EQ_INT(conv_kind_of(&c, "/a/B.HTML", &cmd), CONV_HTML, "extension in any case");
	T_EQ_INT(conv_kind_of(&c, "/a.d/x", &cmd), CONV_NONE, "a dot in a folder name is no extension");
	T_EQ_INT(conv_kind_of(&c, "/a/x.md", &cmd), CONV_NONE, "Markdown is not converted");
	T_OK(conv_opts_command(&c, ".html=pandoc -t gfm", &err) == 0, "--convert .EXT=COMMAND");
	T_EQ_INT(conv_kind_of(&c, "/a/x.html", &cmd), CONV_COMMAND, "--convert wins over a built-in");
	T_EQ_STR(cmd->command, "pandoc -t gfm", "its command");
	T_OK(conv_opts_command(&c, "=x", &err) < 0 && conv_opts_command(&c, "rst=", &err) < 0,
	     "--convert needs EXT and COMMAND");
	char list[] = "+aside,.toc";
	size_t before = c.n_drop;
	T_OK(conv_opts_drop(&c, list, &err) == 0 && c.n_drop == before + 2, "--html-drop +LIST adds");
	char none[] = "";
	T_OK(conv_opts_drop(&c, none, &err) == 0 && c.n_drop == 0, "--html-drop '' drops nothing");
}

static void test_small_inputs(void)
{
	conv_opts c;
	conv_out o;
	dp_err err;
	conv_opts_default(&c, 100);
	static const char html[] = "<p>one<p>two<ul><li>a<li><p>b</p><ol><li>c</ol></ul>"
				   "<table><tr><td>only</td></tr></table><h7>x</h7>";
	conv_out_init(&o);
	T_OK(conv_html(&o, html, sizeof html - 1, &c, &err) == 0, "HTML converts");
	T_EQ_STR(o.text.data, "one\n\ntwo\n\n- a\n- b\n  1. c\n\nonly\n\nx", "implied ends, nesting, a one-column table is layout");
	conv_out_free(&o);
	/* Each '|' of a cell escaped once, one already escaped kept (done in
	 * one pass from the end: a memmove per '|' was quadratic). */
	static const char pipes[] = "<table><tr><td>|a|b||</td><td>c \\| d</td></tr></table>";
	conv_out_init(&o);
	T_OK(conv_html(&o, pipes, sizeof pipes - 1, &c, &err) == 0, "a table with '|' in its cells converts");
	T_EQ_STR(o.text.data, "| \\|a\\|b\\|\\| | c \\| d |\n|---|---|", "each '|' escaped once");
	conv_out_free(&o);

	static const char nb[] = "{\"nbformat\":4,\"metadata\":{},\"cells\":"
				 "[{\"cell_type\":\"code\",\"source\":\"x = 1\"}]}";
	conv_out_init(&o);
	T_OK(conv_ipynb(&o, nb, sizeof nb - 1, &c, &err) == 0, "a notebook without a language");
	T_EQ_STR(o.text.data, "```\nx = 1\n```\n", "code cell without a language tag");
	conv_out_free(&o);
	/* Some tools write "nbformat" as a string: "4" is nbformat 4 (it was
	 * refused as having no nbformat number). */
	static const char nb_str[] = "{\"nbformat\":\"4\",\"nbformat_minor\":\"2\",\"cells\":"
				     "[{\"cell_type\":\"markdown\",\"source\":\"# Title\"}]}";
	conv_out_init(&o);
	T_OK(conv_ipynb(&o, nb_str, sizeof nb_str - 1, &c, &err) == 0, "\"nbformat\": \"4\" converts");
	T_EQ_STR(o.text.data, "# Title", "... as nbformat 4");
	conv_out_free(&o);
	/* Each refusal names its cause (all were "no \"cells\" array"). */
	static const char v3[] = "notebook of nbformat 3: docpipe reads nbformat 4 or later"
				 " (convert it: jupyter nbconvert --to notebook --nbformat 4)";
	static const char *const bad[][2] = {
		{"{\"nbformat\":3}", v3},
		{"{\"nbformat\":3,\"cells\":[]}", v3},
		{"{\"cells\":[]}", "not a Jupyter notebook: no \"nbformat\" number"},
		{"{\"nbformat\":\"four\",\"cells\":[]}",
		 "not a Jupyter notebook: \"nbformat\" is \"four\", not a number"},
		{"{\"nbformat\":\"4.x\",\"cells\":[]}",
		 "not a Jupyter notebook: \"nbformat\" is \"4.x\", not a number"},
		{"{\"nbformat\":\"\",\"cells\":[]}", "not a Jupyter notebook: \"nbformat\" is \"\", not a number"},
		{"{\"nbformat\":\"3\",\"cells\":[]}", v3},
		{"{\"nbformat\":true,\"cells\":[]}", "not a Jupyter notebook: no \"nbformat\" number"},
		{"{\"nbformat\":4,\"cells\":{}}", "damaged notebook: nbformat 4 without a \"cells\" array"},
		{"{\"nbformat\":4}", "damaged notebook: nbformat 4 without a \"cells\" array"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		conv_out_init(&o);
		T_OK(conv_ipynb(&o, bad[i][0], strlen(bad[i][0]), &c, &err) < 0, bad[i][0]);
		T_EQ_STR(err.msg, bad[i][1], "refused with its reason");
		conv_out_free(&o);
	}
}

/* <html><body>, then divs down to depth levels, text at each. */
static char *nested(int depth)
{
	size_t size = 32 + (size_t)depth * 16;
	char *s = malloc(size);
	size_t n = (size_t)snprintf(s, size, "<html><body>");
	for (int d = 3; d <= depth; d++)
		n += (size_t)snprintf(s + n, size - n, "<div>%d\n", d);
	return s;
}

/* libxml2 2.9 stops at 256 levels or a 10 MB text node unless told
 * XML_PARSE_HUGE, and returned the part it had built as the document. */
static void test_html_limits(void)
{
	conv_opts c;
	conv_out o;
	dp_err err;
	conv_opts_default(&c, 100);

	char *s = nested(CONV_HTML_MAX_DEPTH);
	conv_out_init(&o);
	T_OK(conv_html(&o, s, strlen(s), &c, &err) == 0, "HTML nested CONV_HTML_MAX_DEPTH deep converts");
	const char *end = o.text.data != NULL ? strrchr(o.text.data, '\n') : NULL;
	T_EQ_STR(end, "\n2048", "... whole, to the deepest text");
	conv_out_free(&o);
	free(s);

	s = nested(CONV_HTML_MAX_DEPTH + 1);
	conv_out_init(&o);
	err.msg[0] = '\0';
	T_OK(conv_html(&o, s, strlen(s), &c, &err) < 0, "one level deeper fails");
	T_EQ_STR(err.msg, "HTML nested deeper than 2048 levels", "with its reason");
	conv_out_free(&o);
	free(s);

	size_t n = 11u << 20;
	s = malloc(n + 64);
	memcpy(s, "<pre>", 5);
	memset(s + 5, 'x', n);
	strcpy(s + 5 + n, "</pre><p>after the log</p>");
	conv_out_init(&o);
	T_OK(conv_html(&o, s, strlen(s), &c, &err) == 0, "an 11 MB text node converts");
	T_OK(o.text.len > n && strstr(o.text.data + n, "\n\nafter the log") != NULL, "... whole, with what follows it");
	conv_out_free(&o);
	free(s);
}

/* before, then a start tag of n attributes " aI" + value, then text, into
 * a new string. */
static char *tag(int n, const char *value, const char *before)
{
	size_t size = strlen(before) + 64 + (size_t)n * (strlen(value) + 24);
	char *s = malloc(size);
	size_t k = (size_t)snprintf(s, size, "%s<p", before);
	for (int i = 0; i < n; i++)
		k += (size_t)snprintf(s + k, size - k, " a%d%s", i, value);
	snprintf(s + k, size - k, ">text</p>");
	return s;
}

/* conv_attrs_over: the lexical count before a parse (CONV_MAX_ATTRS). */
static void test_attrs_over(void)
{
	static const struct {
		const char *value, *before, *what;
		int n;
		size_t want;
	} cases[] = {
		{"", "", "names alone: at the limit, read", CONV_MAX_ATTRS, 0},
		{"", "", "one more: refused", CONV_MAX_ATTRS + 1, 1},
		{"=\"x y > z\"", "", "quoted values with spaces and '>' count once", CONV_MAX_ATTRS, 0},
		{" = 'v w'", "", "spaced '=', single quotes", CONV_MAX_ATTRS, 0},
		{"=v", "", "unquoted values", CONV_MAX_ATTRS, 0},
		{"=v", "<!-- x -->\n<b>x < y</b>\n", "after a comment and a '<' in text: the tag's line",
		 CONV_MAX_ATTRS + 1, 3},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *s = tag(cases[i].n, cases[i].value, cases[i].before);
		T_EQ_INT(conv_attrs_over(s, strlen(s)), cases[i].want, cases[i].what);
		free(s);
	}
	/* UTF-16LE: the same tag, a zero byte after each ASCII one. */
	char *s = tag(CONV_MAX_ATTRS + 1, "", "");
	size_t n = strlen(s);
	char *wide = calloc(2 * n, 1);
	for (size_t i = 0; i < n; i++)
		wide[2 * i] = s[i];
	T_EQ_INT(conv_attrs_over(wide, 2 * n), 1, "UTF-16: refused alike");
	free(wide);
	free(s);
	const char text[] = "a <b and c> d << e f";
	T_EQ_INT(conv_attrs_over(text, sizeof text - 1), 0, "text with '<': nothing");
}

int main(void)
{
	conv_global_init();
	test_writer();
	test_marks();
	test_options();
	test_small_inputs();
	test_html_limits();
	test_attrs_over();
	return t_done();
}
