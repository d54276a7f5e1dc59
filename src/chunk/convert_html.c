/* HTML and XHTML to derived Markdown with libxml2's HTML parser
 * (convert.h).  The parser decodes entities and converts the charset a BOM,
 * an XML declaration or a <meta charset> names (else it reads UTF-8, falling
 * back to ISO-8859-1 on invalid bytes) to UTF-8.
 *
 * Blocks: h1-h6 become headings of that level; pre becomes a fenced code
 * block (language from a "language-X", "lang-X" or pandoc "sourceCode X"
 * class); a table of two or more columns becomes pipe rows with a header
 * separator after its first row (a one-column table is layout: its content
 * is read as blocks); ul/ol become list items (nested lists indented; an
 * ol numbers from its start, an li's value renumbers; a pre or table in
 * an item follows the item's line as its own block);
 * every other run of inline text inside a block element is a paragraph;
 * an img gives its alt text.
 * Elements on the drop list (conv_opts.drop) are skipped with their
 * content, as is head.  Locators are libxml2's XPath of the element that
 * starts the block (/html/body/div[2]/p[3]). */
#include "convert.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/HTMLparser.h>
#include <libxml/entities.h>
#include <libxml/hash.h>
#include <libxml/parser.h>
#include <libxml/globals.h>
#include <libxml/xmlerror.h>
#include <libxml/tree.h>
#include <libxml/xmlversion.h>

#include "text.h"
#include "wide.h"

struct walk {
	conv_out *o;
	const conv_opts *opts;
	int in_para; /* a paragraph run is open */
	size_t para_start;
};

/* libxml2's HTML parser gives element names in lowercase. */
static int is_named(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

/* The value of attribute name of n, borrowed (no copy: this runs for every
 * element), or NULL. */
static const char *attr(const xmlNode *n, const char *name)
{
	for (const xmlAttr *a = n->properties; a != NULL; a = a->next)
		if (strcmp((const char *)a->name, name) == 0)
			return a->children != NULL && a->children->content != NULL
				       ? (const char *)a->children->content
				       : "";
	return NULL;
}

/* Whether the white-space separated list v holds the token tok. */
static int has_token(const char *v, const char *tok)
{
	size_t len = strlen(tok);
	for (const char *p = v; p != NULL && *p != '\0';) {
		p += strspn(p, " \t\n\r\f");
		size_t t = strcspn(p, " \t\n\r\f");
		if (t == len && strncmp(p, tok, len) == 0)
			return 1;
		p += t;
	}
	return 0;
}

static int is_hidden(const xmlNode *n)
{
	if (n->properties == NULL)
		return 0;
	if (attr(n, "hidden") != NULL)
		return 1;
	const char *aria = attr(n, "aria-hidden");
	if (aria != NULL && strcasecmp(aria, "true") == 0)
		return 1;
	const char *style = attr(n, "style");
	if (style == NULL)
		return 0;
	/* Compare without white space and case: "display: None". */
	char flat[256];
	size_t k = 0;
	for (const char *p = style; *p != '\0' && k + 1 < sizeof flat; p++)
		if (*p != ' ' && *p != '\t' && *p != '\n')
			flat[k++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	flat[k] = '\0';
	return strstr(flat, "display:none") != NULL || strstr(flat, "visibility:hidden") != NULL;
}

static int dropped(const xmlNode *n, const conv_opts *opts)
{
	if (is_named(n, "head"))
		return 1;
	const char *cls = attr(n, "class");
	for (size_t i = 0; i < opts->n_drop; i++) {
		const char *d = opts->drop[i];
		if (d[0] == '.' ? cls != NULL && has_token(cls, d + 1)
				: strcmp(d, "hidden") == 0 ? is_hidden(n) : is_named(n, d))
			return 1;
	}
	return 0;
}

/* What an element is to the walk.  Headings are H1 + level - 1. */
enum tag { T_INLINE = 0, T_BLOCK, T_PRE, T_TABLE, T_LIST, T_BR, T_H1 };

static int tag_cmp(const void *key, const void *entry)
{
	return strcmp(key, *(const char *const *)entry);
}

/* One lookup per element (a binary search: this runs for every node). */
static enum tag tag_of(const xmlNode *n)
{
	static const char *const blocks[] = { /* sorted */
		"address", "article", "aside",   "blockquote", "body",   "caption",  "center",
		"dd",      "details", "dir",     "div",        "dl",     "dt",       "fieldset",
		"figcaption", "figure", "footer", "form",      "header", "hgroup",   "hr",
		"html",    "legend",  "li",      "listing",    "main",   "menu",     "nav",
		"noframes", "p",      "search",  "section",    "summary", "tbody",   "td",
		"tfoot",   "th",      "thead",   "tr",         "xmp",
	};
	const char *s = (const char *)n->name;
	if (n->type != XML_ELEMENT_NODE)
		return T_INLINE;
	if (s[0] == 'h' && s[1] >= '1' && s[1] <= '6' && s[2] == '\0')
		return (enum tag)(T_H1 + s[1] - '1');
	if (strcmp(s, "pre") == 0)
		return T_PRE;
	if (strcmp(s, "table") == 0)
		return T_TABLE;
	if (strcmp(s, "ul") == 0 || strcmp(s, "ol") == 0)
		return T_LIST;
	if (strcmp(s, "br") == 0)
		return T_BR;
	return bsearch(s, blocks, sizeof blocks / sizeof blocks[0], sizeof blocks[0], tag_cmp) != NULL
		       ? T_BLOCK
		       : T_INLINE;
}

/* The words leaf node n gives the text, borrowed, or NULL when n is no
 * leaf: a text or CDATA node's content; an img's alt text (a figure's only
 * words: a diagram's description, what a screenshot shows), unless the img
 * is dropped. */
static const char *leaf_text(const struct walk *w, const xmlNode *n)
{
	if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE)
		return n->content != NULL ? (const char *)n->content : "";
	return is_named(n, "img") && !dropped(n, w->opts) ? attr(n, "alt") : NULL;
}

/* Appends leaf n's text s (leaf_text) as inline text; an image's apart
 * from the words beside it, as a browser shows it in the image's place. */
static void put_leaf(struct walk *w, const xmlNode *n, const char *s)
{
	int image = n->type == XML_ELEMENT_NODE;

	if (image)
		conv_inline(w->o, " ", 1);
	conv_inline(w->o, s, strlen(s));
	if (image)
		conv_inline(w->o, " ", 1);
}

/* Appends the text under n (dropped elements skipped) as inline text. */
static void inline_text(struct walk *w, xmlNode *n)
{
	for (xmlNode *c = n->children; c != NULL; c = c->next) {
		const char *s = leaf_text(w, c);
		if (s != NULL) {
			put_leaf(w, c, s);
		} else if (c->type == XML_ELEMENT_NODE && !dropped(c, w->opts)) {
			enum tag t = tag_of(c);
			if (t != T_INLINE) /* words of two blocks or around <br> stay apart */
				conv_inline(w->o, " ", 1);
			inline_text(w, c);
			if (t != T_INLINE)
				conv_inline(w->o, " ", 1);
		}
	}
}

static void end_para(struct walk *w)
{
	if (w->in_para)
		conv_end_run(w->o, w->para_start, 1);
	w->in_para = 0;
}

static void walk_children(struct walk *w, xmlNode *n);

static void do_heading(struct walk *w, xmlNode *n, int level)
{
	size_t start = conv_heading(w->o, level, conv_at(w->o, n));
	inline_text(w, n);
	conv_end_run(w->o, start, 0);
}

/* The language a class attribute of n or of its first element child names. */
static void code_lang(xmlNode *n, char *lang, size_t size)
{
	lang[0] = '\0';
	for (int round = 0; round < 2 && n != NULL && lang[0] == '\0'; round++) {
		const char *v = attr(n, "class");
		int source_code = v != NULL && strstr(v, "sourceCode") != NULL;
		for (const char *p = v; p != NULL && *p != '\0';) {
			p += strspn(p, " \t\n");
			size_t t = strcspn(p, " \t\n");
			if (t > 9 && strncmp(p, "language-", 9) == 0)
				snprintf(lang, size, "%.*s", (int)(t - 9), p + 9);
			else if (t > 5 && strncmp(p, "lang-", 5) == 0)
				snprintf(lang, size, "%.*s", (int)(t - 5), p + 5);
			else if (source_code && t > 0 && strncmp(p, "sourceCode", t) != 0)
				snprintf(lang, size, "%.*s", (int)t, p);
			p += t;
		}
		for (n = n->children; n != NULL && n->type != XML_ELEMENT_NODE; n = n->next)
			;
	}
}

static void do_pre(struct walk *w, xmlNode *n)
{
	char lang[32];
	xmlChar *text = xmlNodeGetContent(n);
	code_lang(n, lang, sizeof lang);
	if (text != NULL)
		conv_code(w->o, lang, (const char *)text, strlen((const char *)text),
			  conv_at(w->o, n));
	xmlFree(text);
}

/* Fills rows with the rows of table t (through thead/tbody/tfoot, not into
 * nested tables), at most max; returns how many. */
static size_t table_rows(xmlNode *t, xmlNode **rows, size_t max)
{
	size_t n = 0;
	for (xmlNode *c = t->children; c != NULL; c = c->next) {
		if (is_named(c, "tr") && n < max)
			rows[n++] = c;
		else if (is_named(c, "thead") || is_named(c, "tbody") || is_named(c, "tfoot"))
			n += table_rows(c, rows + n, max - n);
	}
	return n;
}

static size_t row_cells(xmlNode *tr)
{
	size_t n = 0;
	for (xmlNode *c = tr->children; c != NULL; c = c->next)
		n += is_named(c, "td") || is_named(c, "th");
	return n;
}

/* One cell's text, '|' escaped. */
static void cell_text(struct walk *w, xmlNode *cell)
{
	conv_out *o = w->o;
	conv_put(o, " ", 1);
	conv_run(o);
	inline_text(w, cell);
	conv_end_run(o, o->run, 0);
	/* Each '|' not escaped yet gets a '\\' before it (it would end the
	 * cell), in one pass from the end once the room is made: a memmove of
	 * the rest per '|' was quadratic (a cell of 400,000 "| " took 3.5 s). */
	char backslashes[64];
	memset(backslashes, '\\', sizeof backslashes);
	size_t end = o->text.len, extra = 0;
	for (size_t i = o->run; i < end; i++)
		extra += o->text.data[i] == '|' && (i == o->run || o->text.data[i - 1] != '\\');
	for (size_t left = extra, n; left > 0 && !o->failed; left -= n)
		conv_put(o, backslashes, n = left < sizeof backslashes ? left : sizeof backslashes);
	if (o->failed)
		return;
	char *d = o->text.data;
	for (size_t src = end, dst = end + extra; src > o->run && dst > src;) {
		src--;
		d[--dst] = d[src];
		if (d[src] == '|' && (src == o->run || d[src - 1] != '\\'))
			d[--dst] = '\\';
	}
	conv_put(o, " |", 2);
}

#define TABLE_MAX_ROWS 4096

static void do_table(struct walk *w, xmlNode *t)
{
	xmlNode *rows_static[64], **rows = rows_static;
	size_t n = table_rows(t, rows, 64), cols = 0;

	if (n == 64) { /* a big table: count again into a bigger array */
		rows = malloc(TABLE_MAX_ROWS * sizeof *rows);
		n = rows != NULL ? table_rows(t, rows, TABLE_MAX_ROWS) : 0;
	}
	for (size_t r = 0; r < n; r++)
		cols = row_cells(rows[r]) > cols ? row_cells(rows[r]) : cols;
	if (cols < 2) { /* layout, not data */
		walk_children(w, t);
		goto out;
	}
	for (xmlNode *c = t->children; c != NULL; c = c->next)
		if (is_named(c, "caption")) {
			size_t start = conv_block(w->o, conv_at(w->o, c));
			inline_text(w, c);
			conv_end_run(w->o, start, 1);
		}
	conv_block(w->o, conv_at(w->o, t));
	for (size_t r = 0; r < n; r++) {
		conv_line(w->o, conv_at(w->o, rows[r]));
		conv_put(w->o, "|", 1);
		size_t k = 0;
		for (xmlNode *c = rows[r]->children; c != NULL; c = c->next)
			if (is_named(c, "td") || is_named(c, "th")) {
				cell_text(w, c);
				k++;
			}
		for (; k < cols; k++)
			conv_put(w->o, "  |", 3);
		if (r == 0) {
			conv_put(w->o, "\n|", 2);
			for (k = 0; k < cols; k++)
				conv_put(w->o, "---|", 4);
		}
	}
out:
	if (rows != rows_static)
		free(rows);
}

/* A list item being written: its inline text runs on the item's line until
 * a block that keeps its own form (a nested list, pre, a table), which
 * follows as its own block; text after such a block is a paragraph. */
struct item {
	size_t start;    /* where the open run's block starts */
	int open;        /* a run (the item's line or a paragraph) is open */
	int kept;        /* the item's line holds text */
	int on_line;     /* the open run is the item's line */
	int indent;      /* the item's indent and its marker's width: a nested */
	int width;       /* list goes under the item's text when it has some */
	int first_block; /* the next list item or nested list starts a block */
};

static void do_list(struct walk *w, xmlNode *list, int indent, int first_block);

static void item_end_run(struct walk *w, struct item *it)
{
	if (!it->open)
		return;
	int kept = conv_end_run(w->o, it->start, 1);
	if (it->on_line) {
		it->kept = kept;
		it->first_block &= !kept;
	} else {
		it->first_block |= kept;
	}
	it->open = it->on_line = 0;
}

static void item_walk(struct walk *w, xmlNode *n, struct item *it)
{
	for (xmlNode *c = n->children; c != NULL; c = c->next) {
		const char *s = leaf_text(w, c);
		if (s != NULL) {
			if (!it->open) {
				if (s[strspn(s, " \t\r\n\f")] == '\0')
					continue;
				it->start = conv_block(w->o, conv_at(w->o, n));
				conv_run(w->o);
				it->open = 1;
			}
			put_leaf(w, c, s);
			continue;
		}
		if (c->type != XML_ELEMENT_NODE || dropped(c, w->opts))
			continue;
		enum tag t = tag_of(c);
		if (t == T_LIST || t == T_PRE || t == T_TABLE) {
			item_end_run(w, it);
			if (t == T_LIST)
				do_list(w, c, it->kept ? it->indent + it->width : it->indent, it->first_block);
			else if (t == T_PRE)
				do_pre(w, c);
			else
				do_table(w, c);
			it->first_block = t != T_LIST;
			continue;
		}
		if (t != T_INLINE && it->open) /* words of two blocks or around <br> stay apart */
			conv_inline(w->o, " ", 1);
		item_walk(w, c, it);
		if (t != T_INLINE && it->open)
			conv_inline(w->o, " ", 1);
	}
}

/* n's integer attribute name (an ol's start, an li's value), or dflt when
 * absent or not a number, within Markdown's 0..999999999. */
static long int_attr(xmlNode *n, const char *name, long dflt)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
	char *end;
	long r = v != NULL ? strtol((const char *)v, &end, 10) : 0;
	if (v == NULL || end == (char *)v)
		r = dflt;
	xmlFree(v);
	return r < 0 ? 0 : r > 999999999 ? 999999999 : r;
}

static void do_list(struct walk *w, xmlNode *list, int indent, int first_block)
{
	int ordered = is_named(list, "ol");
	long num = ordered ? int_attr(list, "start", 1) : -1;

	for (xmlNode *li = list->children; li != NULL; li = li->next) {
		if (!is_named(li, "li") || dropped(li, w->opts))
			continue;
		if (ordered) /* an item's value renumbers it and the items after it */
			num = int_attr(li, "value", num);
		const char *loc = conv_at(w->o, li);
		size_t start = first_block ? conv_block(w->o, loc) : conv_line(w->o, loc);
		int width = conv_list_item(w->o, indent, ordered ? num++ : -1);
		struct item it = {.start = start, .open = 1, .on_line = 1, .indent = indent,
				  .width = width, .first_block = first_block};
		item_walk(w, li, &it);
		item_end_run(w, &it);
		first_block = it.first_block;
	}
}

static void walk_node(struct walk *w, xmlNode *n)
{
	const char *s = leaf_text(w, n);
	if (s != NULL) {
		if (!w->in_para) {
			if (s[strspn(s, " \t\r\n\f")] == '\0')
				return;
			w->para_start = conv_block(w->o, conv_at(w->o, n->parent));
			w->in_para = 1;
		}
		put_leaf(w, n, s);
		return;
	}
	if (n->type != XML_ELEMENT_NODE || dropped(n, w->opts))
		return;
	enum tag t = tag_of(n);
	if (t != T_INLINE && t != T_BR)
		end_para(w);
	if (t >= T_H1)
		do_heading(w, n, t - T_H1 + 1);
	else if (t == T_PRE)
		do_pre(w, n);
	else if (t == T_TABLE)
		do_table(w, n);
	else if (t == T_LIST)
		do_list(w, n, 0, 1);
	else if (t == T_BR) {
		if (w->in_para)
			conv_inline(w->o, " ", 1);
	} else {
		walk_children(w, n);
		if (t == T_BLOCK)
			end_para(w);
	}
}

static void walk_children(struct walk *w, xmlNode *n)
{
	for (xmlNode *c = n->children; c != NULL; c = c->next)
		walk_node(w, c);
}

/* Metadata from head: title, meta description/keywords/author, html lang. */
static void head_meta(conv_out *o, xmlNode *root)
{
	xmlChar *lang = xmlGetProp(root, (const xmlChar *)"lang");
	conv_meta(o, "language", (const char *)lang);
	xmlFree(lang);
	for (xmlNode *h = root->children; h != NULL; h = h->next) {
		if (!is_named(h, "head"))
			continue;
		for (xmlNode *m = h->children; m != NULL; m = m->next) {
			if (is_named(m, "title")) {
				xmlChar *t = xmlNodeGetContent(m);
				conv_meta(o, "title", (const char *)t);
				xmlFree(t);
			} else if (is_named(m, "meta")) {
				xmlChar *name = xmlGetProp(m, (const xmlChar *)"name");
				xmlChar *content = xmlGetProp(m, (const xmlChar *)"content");
				const char *nm = (const char *)name;
				if (nm != NULL && (strcasecmp(nm, "description") == 0 ||
						   strcasecmp(nm, "keywords") == 0 ||
						   strcasecmp(nm, "author") == 0)) {
					char key[16];
					snprintf(key, sizeof key, "%s", nm);
					for (char *k = key; *k != '\0'; k++)
						*k = (char)(*k >= 'A' && *k <= 'Z' ? *k + 32 : *k);
					conv_meta(o, key, (const char *)content);
				}
				xmlFree(name);
				xmlFree(content);
			}
		}
	}
}

#define CONV_MESSAGE 160

/* The structured error handler during a parse.  Errors about the parser
 * context are silenced by HTML_PARSE_NOERROR; a charset conversion error
 * is raised without the context and went to libxml2's generic handler,
 * stderr.  It is kept for parse()'s message instead. */
static void on_error(void *data, xmlErrorPtr e)
{
	char *conv = data; /* CONV_MESSAGE bytes */
	if (e->domain == XML_FROM_I18N && conv[0] == '\0' && e->message != NULL)
		snprintf(conv, CONV_MESSAGE, "%.*s", (int)strcspn(e->message, "\n"), e->message);
}

/* Whether p..end holds a byte other than NUL. */
static int any_byte(const xmlChar *p, const xmlChar *end)
{
	for (; p < end; p++)
		if (*p != 0)
			return 1;
	return 0;
}

/* ---- an XHTML document's internal DTD subset ---- */

/* The HTML parser does not know internal DTD subsets: it ended the DOCTYPE
 * at the first '>' and read the rest of the subset as text ("<!ENTITY ..."
 * in the chunks).  So the subset is cut out before parsing, and the
 * entities it declares with a plain text value are substituted, as an XML
 * reader would: those whose value holds markup or other entity references
 * are not (no recursion: no billion laughs), and external entities are
 * never read (XXE). */

/* The offset just past the first `end` at or after i, or len. */
static size_t after(const char *b, size_t len, size_t i, const char *end)
{
	const char *p = i < len ? memmem(b + i, len - i, end, strlen(end)) : NULL;
	return p != NULL ? (size_t)(p - b) + strlen(end) : len;
}

static int starts(const char *b, size_t len, size_t i, const char *s)
{
	size_t n = strlen(s);
	return len - i >= n && strncasecmp(b + i, s, n) == 0;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Finds the internal subset of a DOCTYPE that opens the document (after a
 * byte order mark, the XML declaration, processing instructions, comments
 * and white space): b[*open] is its '[', b[*gt] the '>' closing the
 * DOCTYPE after its ']'.  Returns 1, or 0 when there is none (or it is not
 * closed: then the parser reads the document as it is). */
static int find_subset(const char *b, size_t len, size_t *open, size_t *gt)
{
	size_t i = len >= 3 && memcmp(b, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
	for (;;) {
		while (i < len && is_space(b[i]))
			i++;
		if (starts(b, len, i, "<?"))
			i = after(b, len, i + 2, "?>");
		else if (starts(b, len, i, "<!--"))
			i = after(b, len, i + 4, "-->");
		else
			break;
	}
	if (!starts(b, len, i, "<!DOCTYPE"))
		return 0;
	for (i += 9; i < len && b[i] != '[' && b[i] != '>'; i++)
		if (b[i] == '"' || b[i] == '\'')
			i = after(b, len, i + 1, b[i] == '"' ? "\"" : "'") - 1;
	if (i >= len || b[i] != '[')
		return 0;
	*open = i;
	for (i++; i < len && b[i] != ']'; i++) {
		if (starts(b, len, i, "<!--"))
			i = after(b, len, i + 4, "-->") - 1;
		else if (starts(b, len, i, "<?"))
			i = after(b, len, i + 2, "?>") - 1;
		else if (b[i] == '"' || b[i] == '\'')
			i = after(b, len, i + 1, b[i] == '"' ? "\"" : "'") - 1;
	}
	for (i++; i < len && is_space(b[i]); i++)
		;
	if (i >= len || b[i] != '>')
		return 0;
	*gt = i;
	return 1;
}

/* Whether an entity's value (libxml2 keeps character references in it) is
 * plain text: no markup, no reference but to characters. */
static int plain_value(const xmlChar *v)
{
	for (const xmlChar *p = v; *p != '\0'; p++)
		if (*p == '<' || (*p == '&' && p[1] != '#'))
			return 0;
	return 1;
}

static void add_entity(void *payload, void *data, const xmlChar *name)
{
	xmlEntityPtr e = payload;
	jv *entities = data;
	if (e->etype == XML_INTERNAL_GENERAL_ENTITY && e->content != NULL && plain_value(e->content))
		*entities = jv_object_set(*entities, jv_string((const char *)name),
					  jv_string((const char *)e->content));
}

/* The plain text entities the prolog b[0..gt] (through the DOCTYPE's '>')
 * declares, name -> value: parsed by libxml2's XML parser, guarded, with
 * no network and no external entity or DTD loaded.  A subset that is not
 * well-formed declares none (the document is still read).  Returns an
 * object, or invalid with err set (the guard's node limit). */
static jv subset_entities(conv_out *o, const char *b, size_t gt, dp_err *err)
{
	jv entities = jv_object();
	char *prolog = malloc(gt + 8);
	xmlParserCtxtPtr ctxt = prolog != NULL && gt < INT32_MAX - 8 ? xmlNewParserCtxt() : NULL;
	if (ctxt == NULL) {
		free(prolog);
		return entities;
	}
	memcpy(prolog, b, gt + 1);
	memcpy(prolog + gt + 1, "<d/>", 5);
	conv_guard g;
	conv_guard_parse(&g, o, ctxt);
	xmlDocPtr doc = xmlCtxtReadMemory(ctxt, prolog, (int)gt + 5, NULL, NULL,
					  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (g.stop == CONV_STOP_NODES) {
		jv_free(entities);
		entities = jv_invalid();
		dp_err_set(err, "HTML refused: the document holds more than %u nodes (limit)",
			   CONV_MAX_NODES);
	} else if (doc != NULL && doc->intSubset != NULL && doc->intSubset->entities != NULL) {
		xmlHashScan(doc->intSubset->entities, add_entity, &entities);
	}
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	free(prolog);
	return entities;
}

/* Appends value to out as ASCII: a character that is not (UTF-8 from
 * libxml2, whatever the document's charset) and a quote (the reference may
 * be in an attribute value) as a character reference. */
static void put_value(dp_buf *out, const char *v)
{
	char ref[16];
	const char *end = v + strlen(v);
	for (const unsigned char *p = (const unsigned char *)v; *p != '\0';) {
		uint32_t cp = *p;
		/* The length left, not strlen(p): one per character was quadratic
		 * (an entity of 100,000 characters, 1000 times: 55 s). */
		size_t n = *p < 0x80 ? 1 : dp_utf8_get((const char *)p, (size_t)(end - (const char *)p), &cp);
		if (n == 0) { /* cannot happen: libxml2 gives UTF-8 */
			p++;
			continue;
		}
		if (cp >= 0x80 || cp == '"' || cp == '\'') {
			int r = snprintf(ref, sizeof ref, "&#x%X;", (unsigned)cp);
			dp_buf_append(out, ref, (size_t)r);
		} else {
			dp_buf_append(out, p, 1);
		}
		p += n;
	}
}

static int name_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == ':' || c == '.' || c == '-' || c >= 0x80;
}

/* buf without the internal subset of its DOCTYPE, its plain text entities
 * substituted, into out (at most 4 times the document plus 1 MiB: a
 * document cannot grow without bound by its own entities).  Returns 1 when
 * out holds the document to parse, 0 when buf has no internal subset, -1
 * with err set. */
static int without_subset(conv_out *o, const char *buf, size_t len, dp_buf *out, dp_err *err)
{
	size_t open, gt;
	if (!find_subset(buf, len, &open, &gt))
		return 0;
	jv entities = subset_entities(o, buf, gt, err);
	if (!jv_is_valid(entities))
		return -1;
	size_t max = len > (INT32_MAX - (1u << 20)) / 4 ? INT32_MAX : 4 * len + (1u << 20);
	dp_buf_init(out, max);
	dp_buf_append(out, buf, open);
	int any = jv_object_length(jv_copy(entities)) > 0;
	size_t i = gt, done = gt;
	/* Stops at the bound: expanding on past it (50,000 references to an
	 * entity of 50 KB) took 19 s before the refusal. */
	while (any && !out->overflow && i < len && (i = after(buf, len, i, "&")) < len) {
		size_t n = 0;
		while (i + n < len && name_char((unsigned char)buf[i + n]))
			n++;
		if (n == 0 || i + n >= len || buf[i + n] != ';')
			continue;
		jv v = jv_object_get(jv_copy(entities), jv_string_sized(buf + i, (int)n));
		if (jv_get_kind(v) == JV_KIND_STRING) {
			dp_buf_append(out, buf + done, i - 1 - done);
			put_value(out, jv_string_value(v));
			done = i + n + 1;
		}
		jv_free(v);
		i += n;
	}
	dp_buf_append(out, buf + done, len - done);
	jv_free(entities);
	if (out->overflow) {
		dp_err_set(err, "HTML refused: its internal DTD's entities expand it beyond %zu bytes",
			   max);
		dp_buf_free(out);
		return -1;
	}
	return 1;
}

/* Parses buf as HTML, guarded (conv_guard_parse: its nodes count into
 * o->nodes): the document, or NULL with err set.  In recovery mode
 * libxml2 returns what it built whenever it stops, which would pass for the
 * whole document: a stop before the end of the input is an error. */
static htmlDocPtr parse(conv_out *o, const char *buf, size_t len, dp_err *err)
{
	dp_buf cut;
	int rc = without_subset(o, buf, len, &cut, err);
	if (rc < 0)
		return NULL;
	if (rc == 1) {
		buf = dp_buf_cstr(&cut);
		len = cut.len;
	}
	size_t over = conv_attrs_over(buf, len);
	if (over > 0) {
		dp_err_set(err, "HTML refused: an element with more than %d attributes (line %zu)",
			   CONV_MAX_ATTRS, over);
		if (rc == 1)
			dp_buf_free(&cut);
		return NULL;
	}
	htmlParserCtxtPtr ctxt = htmlNewParserCtxt();
	if (ctxt == NULL) {
		dp_err_set(err, "out of memory (HTML parser)");
		if (rc == 1)
			dp_buf_free(&cut);
		return NULL;
	}
	char conv[CONV_MESSAGE] = ""; /* libxml2's message on a failed charset conversion */
	conv_guard g;
	conv_guard_parse(&g, o, ctxt);
	/* libxml2's error handlers are per thread (LIBXML_THREAD_ENABLED):
	 * this one is seen by this thread's parse only. */
	xmlStructuredErrorFunc saved = xmlStructuredError;
	void *saved_ctx = xmlStructuredErrorContext;
	xmlSetStructuredErrorFunc(conv, on_error);
	/* HUGE: no limit on depth (the guard has one) nor on the length
	 * of a text node (10 MB otherwise); input is bounded by --max-size. */
	/* A UTF-8 byte order mark outranks a <meta charset> (the HTML
	 * standard's encoding sniffing, as browsers do); libxml2 let the meta
	 * switch the charset after it: "Café" in a BOM'd page that says
	 * iso-8859-1 became "CafÃ©" (helper's fault sweep 5). */
	/* UTF-16/32 (wide.h) is read as what it is, mark or none: libxml2
	 * took a page without a mark for ASCII ("not an HTML document"). */
	wide_enc wide;
	size_t skip = len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
	const char *enc = skip > 0 ? "UTF-8" : NULL;
	if (enc == NULL && wide_detect(buf, len, &wide)) {
		enc = wide.name;
		skip = wide.bom;
	}
	htmlDocPtr doc = htmlCtxtReadMemory(ctxt, buf + skip, (int)(len - skip), NULL, enc,
					    HTML_PARSE_RECOVER | HTML_PARSE_NOERROR |
						    HTML_PARSE_NOWARNING | HTML_PARSE_NONET |
						    HTML_PARSE_COMPACT | XML_PARSE_HUGE |
						    (enc != NULL ? HTML_PARSE_IGNORE_ENC : 0));
	xmlSetStructuredErrorFunc(saved_ctx, saved);
	xmlParserInputPtr in = ctxt->input;
	int line = in != NULL ? in->line : 0;
	if (g.stop == CONV_STOP_DEPTH) {
		dp_err_set(err, "HTML nested deeper than %d levels", CONV_HTML_MAX_DEPTH);
	} else if (g.stop == CONV_STOP_NODES) {
		dp_err_set(err, "HTML refused: the document holds more than %u nodes (limit)",
			   CONV_MAX_NODES);
	} else if (doc == NULL || xmlDocGetRootElement(doc) == NULL) {
		dp_err_set(err, "not an HTML document (nothing could be parsed)");
	} else if (ctxt->disableSAX) {
		/* With HTML_PARSE_RECOVER only a stop sets disableSAX: out of
		 * memory, a libxml2 limit. */
		const char *why = ctxt->lastError.message;
		if (ctxt->errNo == XML_ERR_NO_MEMORY)
			dp_err_set(err, "out of memory (HTML parser)");
		else
			dp_err_set(err, "HTML parser stopped on line %d: %.*s", ctxt->lastError.line,
				   why != NULL ? (int)strcspn(why, "\n") : 7, why != NULL ? why : "unknown");
	} else if (in != NULL && in->buf != NULL && in->buf->error != 0) {
		/* Bytes the charset it declares cannot convert end the input. */
		dp_err_set(err, "HTML not valid in its charset %s on line %d: %s",
			   in->buf->encoder != NULL ? in->buf->encoder->name : "(unknown)", line,
			   conv[0] != '\0' ? conv : "input conversion failed");
	} else if (in != NULL && in->cur < in->end && any_byte(in->cur, in->end)) {
		/* The parser takes a NUL byte for the end of its input. */
		if (*in->cur == 0)
			dp_err_set(err, "NUL byte on line %d of the HTML: the parser reads no further",
				   line);
		else
			dp_err_set(err, "HTML parser stopped on line %d, before the end", line);
	} else {
		htmlFreeParserCtxt(ctxt);
		if (rc == 1)
			dp_buf_free(&cut);
		return doc;
	}
	xmlFreeDoc(doc);
	htmlFreeParserCtxt(ctxt);
	if (rc == 1)
		dp_buf_free(&cut);
	return NULL;
}

int conv_html_part(conv_out *o, const char *buf, size_t len, const conv_opts *opts, dp_err *err)
{
	if (len > INT32_MAX) {
		dp_err_set(err, "HTML document too large");
		return -1;
	}
	htmlDocPtr doc = parse(o, buf, len, err);
	if (doc == NULL)
		return -1;
	xmlNode *root = xmlDocGetRootElement(doc);
	head_meta(o, root);
	struct walk w = {.o = o, .opts = opts};
	walk_node(&w, root);
	end_para(&w);
	return conv_keep_xml(o, doc, err);
}

int conv_html(conv_out *o, const char *buf, size_t len, const conv_opts *opts, dp_err *err)
{
	o->format = "html";
	o->version = CONV_HTML_VERSION;
	snprintf(o->converter, sizeof o->converter, "libxml2 %s", LIBXML_DOTTED_VERSION);
	return conv_html_part(o, buf, len, opts, err);
}
