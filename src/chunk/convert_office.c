/* DOCX (WordprocessingML) and ODT (OpenDocument text) to derived Markdown
 * (convert.h), read from their ZIP container (convert_zip.c).
 *
 * DOCX: word/document.xml's body in order.  A paragraph is a heading when
 * its style (word/styles.xml) is named "heading N" or has an outline level,
 * or when the paragraph itself has one (w:outlineLvl, 0-based); a list item
 * when it has numbering (w:numPr, indented by its level), numbered or a
 * bullet as word/numbering.xml says (docx_numbering); code when its
 * style name holds "Code" or "Preformatted" (consecutive code paragraphs
 * make one fenced block).  Tables become pipe rows.  Footnotes
 * (word/footnotes.xml) follow the paragraph that first cites them as
 * "[^N]: text" (a later citation is "[^N]" alone).
 * Metadata: docProps/core.xml (title, creator as author, subject, keywords,
 * description, language).  Locators: "word/document.xml#" + XPath.
 * word/document.xml is streamed (docx_streamed): each child of the body is
 * converted as the parser ends it, then freed, so the tree never holds
 * more than one (a 62 MB body built 900 MB of tree); marks point to shells
 * (see shell) that give the same XPaths the whole tree gave.
 *
 * ODT: content.xml's office:text in order: text:h (text:outline-level),
 * text:p (code when its style or its parent style is named like
 * "Preformatted" or "Source", in a list item too: pandoc puts an item's
 * code block there), text:list (nested; numbered as its list style says,
 * odt_list), table:table, notes (text:note: body after the paragraph).
 * Metadata: meta.xml.  Lists are written with conv_list_item, as HTML's. */
#include "convert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <zip.h>

#define MAX_STYLES 4096

/* List levels: DOCX has 9 (w:ilvl 0-8), ODT 10; deeper ODT lists are read
 * as the deepest. */
#define LIST_LEVELS 10
/* A list level's kind, as in struct office's lists: a numbered level is its
 * start value (>= 0). */
#define LIST_BULLET (-1)
#define LIST_NONE (-2) /* no label: a paragraph that continues an item */

struct office {
	conv_out *o;
	/* The styles that matter, a heading level or code: id -> level * 2 +
	 * code (level 0: not a heading).  An object, as every paragraph looks
	 * its style up: a list of 4096 styles searched per paragraph cost 6 s
	 * for 400,000 paragraphs. */
	jv styles;
	size_t n_styles; /* at most MAX_STYLES */
	jv notes;       /* note id -> text (DOCX) */
	jv pending;     /* note texts cited by the current paragraph: array */
	conv_out code;  /* consecutive code lines, not yet written */
	xmlNode *code_at; /* where they start (a shell when streamed) */
	xmlDoc *skel;   /* DOCX: the shells marks point to (see shell), or NULL */
	int no_shell;   /* sticky: a shell could not be made (CONV_MAX_NODES) */
	int in_list;    /* the last block was a list item of the same list */
	/* List definitions: DOCX abstractNumId, ODT list style name -> an
	 * array of LIST_LEVELS kinds (LIST_BULLET, LIST_NONE or a start).
	 * DOCX nums: numId -> {"a": abstractNumId, "o": [level -> start
	 * override or null]}.  counts: the numbers last given per level, per
	 * abstractNumId (DOCX: lists sharing one continue its count) or under
	 * "" (ODT: the current top-level list); null where a level starts
	 * again.  At most MAX_STYLES of each. */
	jv lists, nums, counts;
	size_t n_lists, n_nums;
	int width[LIST_LEVELS]; /* the last item's marker width per level */
	long restart;   /* ODT: the current item's text:start-value, or -1 */
	jv last_list;   /* DOCX: the abstractNumId of the last top-level item, or null */
	int docx;       /* text lives in w:t only (other text nodes are layout) */
};

/* The attribute (any namespace) as an int, or dflt. */
static int attr_int(xmlNode *n, const char *name, int dflt)
{
	xmlChar *v = n != NULL ? xmlGetProp(n, (const xmlChar *)name) : NULL;
	int r = v != NULL ? atoi((const char *)v) : dflt;
	xmlFree(v);
	return r;
}

static int name_is_code(const char *name)
{
	return name != NULL && (strstr(name, "Code") != NULL || strstr(name, "Preformatted") != NULL ||
				strstr(name, "Source") != NULL || strstr(name, "code") != NULL);
}

/* "heading 3", "Heading_20_3" -> 3; else 0. */
static int name_level(const char *name)
{
	if (name == NULL || strncasecmp(name, "heading", 7) != 0)
		return 0;
	const char *p = name + 7;
	while (*p == ' ' || *p == '_' || (*p >= 'a' && *p <= 'z') || (*p == '2' && p[1] == '0'))
		p += *p == '2' ? 2 : 1;
	int lv = atoi(p);
	return lv >= 1 && lv <= 9 ? lv : 0;
}

/* Adds style id (consumed) unless it does not matter or is known: the
 * first definition of an id wins. */
static void add_style(struct office *w, xmlChar *id, int level, int code)
{
	if (id != NULL && (level > 0 || code) && w->n_styles < MAX_STYLES &&
	    !jv_object_has(jv_copy(w->styles), jv_string((const char *)id))) {
		w->styles = jv_object_set(w->styles, jv_string((const char *)id),
					  jv_number(level * 2 + (code != 0)));
		w->n_styles++;
	}
	xmlFree(id);
}

/* Style id's level * 2 + code, or -1 when it does not matter (id may be
 * NULL). */
static int find_style(const struct office *w, const xmlChar *id)
{
	jv v = id != NULL ? jv_object_get(jv_copy(w->styles), jv_string((const char *)id))
			  : jv_invalid();
	int st = jv_get_kind(v) == JV_KIND_NUMBER ? (int)jv_number_value(v) : -1;
	jv_free(v);
	return st;
}

/* ---- shells ---- */

/* DOCX's word/document.xml is streamed (conv_block_fn): each block of its
 * body is freed once converted, so a mark cannot point into it.  It points
 * to the node's shell instead: an element of w->skel with the node's name
 * and namespace only, under the shells of its ancestors, among the shells
 * of its parent's other element children, so that xml_node_path gives the
 * shell the path the node had in the whole tree.  A live node's _private
 * holds its shell.  Shells count into o->nodes: a body of millions of
 * blocks is bounded as its tree was. */

/* A new shell of n (an element) as the last child of parent's shell ps;
 * NULL (w->no_shell set) past CONV_MAX_NODES or out of memory. */
static xmlNode *new_shell(struct office *w, xmlNode *ps, const xmlNode *n)
{
	xmlNode *s = w->o->nodes < CONV_MAX_NODES ? xmlNewDocNode(w->skel, NULL, n->name, NULL) : NULL;
	if (s == NULL) {
		w->no_shell = 1;
		return NULL;
	}
	xmlAddChild(ps, s);
	w->o->nodes++;
	if (n->ns != NULL) {
		xmlNs *ns = xmlSearchNs(w->skel, s, n->ns->prefix);
		if (ns == NULL || !xmlStrEqual(ns->href, n->ns->href))
			ns = xmlNewNs(s, n->ns->href, n->ns->prefix);
		xmlSetNs(s, ns);
	}
	return s;
}

/* n's shell (n itself when not streamed), made with its parent's element
 * children's when it has none; NULL when over the limit. */
static xmlNode *shell(struct office *w, xmlNode *n)
{
	if (w->skel == NULL || n == NULL)
		return n;
	if (n->type == XML_DOCUMENT_NODE)
		return (xmlNode *)w->skel;
	if (n->_private == NULL) {
		xmlNode *ps = shell(w, n->parent);
		for (xmlNode *c = n->parent->children; ps != NULL && c != NULL; c = c->next)
			if (c->type == XML_ELEMENT_NODE && c->_private == NULL)
				c->_private = new_shell(w, ps, c);
	}
	return n->_private;
}

/* ---- text runs ---- */

/* Appends the text under n: collapsed inline text into w->o, or (raw) the
 * verbatim lines into w->code.  Notes cited are queued in w->pending. */
static void runs(struct office *w, xmlNode *n, int raw)
{
	conv_out *o = raw ? &w->code : w->o;
	for (xmlNode *c = n->children; c != NULL; c = c->next) {
		if (c->type == XML_TEXT_NODE && (!w->docx || conv_xml_is(n, "t"))) {
			const char *s = (const char *)c->content;
			if (raw)
				conv_puts(o, s);
			else
				conv_inline(o, s, strlen(s));
		} else if (conv_xml_is(c, "tab")) {
			conv_put(o, raw ? "\t" : " ", 1);
		} else if (conv_xml_is(c, "br") || conv_xml_is(c, "cr") || conv_xml_is(c, "line-break")) {
			conv_put(o, raw ? "\n" : " ", 1);
		} else if (conv_xml_is(c, "s")) { /* ODT: text:c spaces, at most 1000 */
			/* 64 at a time: one call per space made 300,000 of
			 * <text:s text:c="1000"/> 300M calls (7 s). */
			static const char spaces[] = "                                                                ";
			int k = attr_int(c, "c", 1);
			if (k > 1000)
				k = 1000;
			for (int m; k > 0 && !o->failed; k -= m) {
				m = k < (int)sizeof spaces - 1 ? k : (int)sizeof spaces - 1;
				conv_put(o, spaces, (size_t)m);
			}
		} else if (conv_xml_is(c, "footnoteReference") || conv_xml_is(c, "endnoteReference")) {
			xmlChar *id = xmlGetProp(c, (const xmlChar *)"id");
			jv text = id != NULL ? jv_object_get(jv_copy(w->notes), jv_string((const char *)id))
					     : jv_invalid();
			conv_out *d = w->o;
			char cite[32];
			snprintf(cite, sizeof cite, "[^%s]", id != NULL ? (const char *)id : "");
			conv_inline(d, cite, strlen(cite));
			/* A note's text follows its first citation only, as a
			 * Markdown footnote is defined once: a note cited
			 * 100,000 times was written 100,000 times (a 13 KB DOCX
			 * made 256 MiB of text and 820 MB of memory). */
			if (jv_get_kind(text) == JV_KIND_STRING) {
				w->pending = jv_array_append(w->pending,
							     jv_string_fmt("%s: %s", cite, jv_string_value(text)));
				w->notes = jv_object_delete(w->notes, jv_string((const char *)id));
			}
			jv_free(text);
			xmlFree(id);
		} else if (conv_xml_is(c, "note")) { /* ODT */
			xmlNode *cit = conv_xml_child(c, "note-citation"), *body = conv_xml_child(c, "note-body");
			xmlChar *num = cit != NULL ? xmlNodeGetContent(cit) : NULL;
			char cite[32];
			snprintf(cite, sizeof cite, "[^%s]", num != NULL ? (const char *)num : "");
			conv_inline(w->o, cite, strlen(cite));
			xmlChar *t = body != NULL ? xmlNodeGetContent(body) : NULL;
			if (t != NULL)
				w->pending = jv_array_append(w->pending,
							     jv_string_fmt("%s: %s", cite, (const char *)t));
			xmlFree(num);
			xmlFree(t);
		} else if (c->type == XML_ELEMENT_NODE && !conv_xml_is(c, "delText") &&
			   !conv_xml_is(c, "instrText") && !conv_xml_is(c, "pPr") && !conv_xml_is(c, "rPr") &&
			   !conv_xml_is(c, "note-citation")) {
			runs(w, c, raw);
			if (conv_xml_is(c, "p") || conv_xml_is(c, "h")) /* paragraphs of a cell */
				conv_put(o, raw ? "\n" : " ", 1);
		}
	}
}

static void flush_code(struct office *w)
{
	if (w->code.failed && !w->o->failed) { /* a limit of the code's is the document's */
		w->o->failed = 1;
		w->o->err = w->code.err;
	}
	if (w->code.text.len > 0) {
		conv_code(w->o, NULL, w->code.text.data, w->code.text.len, conv_at(w->o, w->code_at));
		w->in_list = 0;
	}
	w->code.text.len = 0;
}

static void flush_notes(struct office *w)
{
	int n = jv_array_length(jv_copy(w->pending));
	for (int i = 0; i < n; i++) {
		jv t = jv_array_get(jv_copy(w->pending), i);
		size_t start = conv_block(w->o, NULL);
		conv_inline(w->o, jv_string_value(t), (size_t)jv_string_length_bytes(jv_copy(t)));
		conv_end_run(w->o, start, 1);
		jv_free(t);
	}
	jv_free(w->pending);
	w->pending = jv_array();
	if (n > 0)
		w->in_list = 0;
}

/* One paragraph: heading level (0: none), list level (-1: none) and its
 * item's number (LIST_BULLET: a bullet), code. */
static void paragraph(struct office *w, xmlNode *p, int level, int list, long num, int code)
{
	if (code) {
		if (w->code.text.len == 0)
			w->code_at = shell(w, p);
		runs(w, p, 1);
		conv_put(&w->code, "\n", 1);
		return;
	}
	flush_code(w);
	size_t start;
	const char *loc = conv_at(w->o, shell(w, p));
	if (level > 0) {
		start = conv_heading(w->o, level, loc);
	} else if (list >= 0) {
		start = w->in_list ? conv_line(w->o, loc) : conv_block(w->o, loc);
		int indent = 0;
		for (int i = 0; i < list; i++)
			indent += w->width[i];
		w->width[list] = conv_list_item(w->o, indent, num);
	} else {
		start = conv_block(w->o, loc);
	}
	runs(w, p, 0);
	int kept = conv_end_run(w->o, start, level == 0);
	w->in_list = list >= 0 && (kept || w->in_list);
	flush_notes(w);
}

/* ---- list numbering ---- */

/* A list level's kind from its definition (borrowed; anything but an array
 * of kinds reads as bullets, as lists without a definition are). */
static int level_kind(jv levels, int level)
{
	jv k = jv_get_kind(levels) == JV_KIND_ARRAY ? jv_array_get(jv_copy(levels), level) : jv_invalid();
	int kind = jv_get_kind(k) == JV_KIND_NUMBER ? (int)jv_number_value(k) : LIST_BULLET;
	jv_free(k);
	return kind;
}

/* The label of the next item at level of the list counted under key
 * (w->counts) whose level is of kind: LIST_BULLET, or its number: the
 * count at that level plus one, its start when the level starts again, or
 * restart (>= 0) when the document restarts it there.  Any item ends the
 * deeper levels' counts (their next item starts again). */
static long list_label(struct office *w, const char *key, int level, int kind, long restart)
{
	jv c = jv_object_get(jv_copy(w->counts), jv_string(key));
	if (jv_get_kind(c) != JV_KIND_ARRAY) {
		jv_free(c);
		c = jv_array();
	}
	jv last = jv_array_get(jv_copy(c), level);
	long num = LIST_BULLET;
	if (kind >= 0)
		num = restart >= 0 ? restart
		      : jv_get_kind(last) == JV_KIND_NUMBER ? (long)jv_number_value(last) + 1 : kind;
	jv_free(last);
	c = jv_array_slice(c, 0, level);
	while (jv_array_length(jv_copy(c)) < level)
		c = jv_array_append(c, jv_null());
	c = jv_array_append(c, num >= 0 ? jv_number((double)num) : jv_null());
	w->counts = jv_object_set(w->counts, jv_string(key), c);
	return num;
}

/* Adds the list definition id (consumed) with levels (consumed) unless
 * known or over MAX_STYLES: the first definition of an id wins. */
static void add_list(struct office *w, xmlChar *id, jv levels)
{
	if (id != NULL && w->n_lists < MAX_STYLES &&
	    !jv_object_has(jv_copy(w->lists), jv_string((const char *)id))) {
		w->lists = jv_object_set(w->lists, jv_string((const char *)id), levels);
		w->n_lists++;
	} else {
		jv_free(levels);
	}
	xmlFree(id);
}

#define TABLE_MAX_ROWS 4096

/* Fills rows with the rows of t (through row groups), at most max. */
static size_t rows_of(xmlNode *t, const char *row_name, xmlNode **rows, size_t max)
{
	size_t n = 0;
	for (xmlNode *r = t->children; r != NULL && n < max; r = r->next)
		if (conv_xml_is(r, row_name))
			rows[n++] = r;
		else if (conv_xml_is(r, "table-header-rows") || conv_xml_is(r, "table-rows"))
			n += rows_of(r, row_name, rows + n, max - n);
	return n;
}

static void table_row(struct office *w, xmlNode *row, const char *cell_name, size_t *cols)
{
	conv_line(w->o, conv_at(w->o, shell(w, row)));
	conv_put(w->o, "|", 1);
	size_t k = 0;
	for (xmlNode *c = row->children; c != NULL; c = c->next)
		if (conv_xml_is(c, cell_name)) {
			conv_put(w->o, " ", 1);
			conv_run(w->o);
			runs(w, c, 0);
			conv_end_run(w->o, w->o->run, 0);
			for (size_t i = w->o->run; i < w->o->text.len; i++)
				if (w->o->text.data[i] == '|')
					w->o->text.data[i] = '/'; /* a cell cannot hold a pipe */
			conv_put(w->o, " |", 2);
			k++;
		}
	if (*cols == 0) { /* the first row: the header */
		*cols = k > 0 ? k : 1;
		conv_put(w->o, "\n|", 2);
		for (k = 0; k < *cols; k++)
			conv_put(w->o, "---|", 4);
	}
}

/* A table: rows of cells (DOCX w:tr/w:tc, ODT table-row/table-cell), the
 * first row followed by the separator. */
static void table(struct office *w, xmlNode *t, const char *row_name, const char *cell_name)
{
	xmlNode **rows = malloc(TABLE_MAX_ROWS * sizeof *rows);
	size_t n = rows != NULL ? rows_of(t, row_name, rows, TABLE_MAX_ROWS) : 0, cols = 0;
	flush_code(w);
	conv_block(w->o, conv_at(w->o, shell(w, t)));
	for (size_t r = 0; r < n; r++)
		table_row(w, rows[r], cell_name, &cols);
	free(rows);
	w->in_list = 0;
	flush_notes(w);
}

/* ---- DOCX ---- */

static void docx_styles(struct office *w, xmlNode *root)
{
	for (xmlNode *s = root->children; s != NULL; s = s->next) {
		if (!conv_xml_is(s, "style"))
			continue;
		xmlNode *name = conv_xml_child(s, "name");
		xmlChar *nm = name != NULL ? xmlGetProp(name, (const xmlChar *)"val") : NULL;
		int level = name_level((const char *)nm);
		int outline = attr_int(conv_xml_child(conv_xml_child(s, "pPr"), "outlineLvl"), "val", -1);
		if (level == 0 && outline >= 0 && outline < 9)
			level = outline + 1;
		add_style(w, xmlGetProp(s, (const xmlChar *)"styleId"), level,
			  name_is_code((const char *)nm));
		xmlFree(nm);
	}
}

static void docx_notes(struct office *w, xmlNode *root)
{
	for (xmlNode *f = root->children; f != NULL; f = f->next) {
		if (!conv_xml_is(f, "footnote") && !conv_xml_is(f, "endnote"))
			continue;
		xmlChar *id = xmlGetProp(f, (const xmlChar *)"id");
		conv_out t;
		conv_out_init(&t);
		conv_run(&t);
		struct office tmp = {.o = &t, .notes = jv_object(), .pending = jv_array(),
				     .docx = 1};
		runs(&tmp, f, 0);
		conv_end_run(&t, 0, 0);
		if (id != NULL && t.text.len > 0)
			w->notes = jv_object_set(w->notes, jv_string((const char *)id),
						 jv_string_sized(t.text.data, (int)t.text.len));
		jv_free(tmp.notes);
		jv_free(tmp.pending);
		conv_out_free(&t);
		xmlFree(id);
	}
}

/* word/numbering.xml: each w:abstractNum's levels (w:lvl: w:numFmt, w:start,
 * w:lvlText) and each w:num's abstractNum and start overrides. */
static void docx_numbering(struct office *w, xmlNode *root)
{
	for (xmlNode *a = root->children; a != NULL; a = a->next) {
		if (!conv_xml_is(a, "abstractNum"))
			continue;
		jv levels = jv_array(); /* levels left out: bullets (level_kind) */
		for (xmlNode *l = a->children; l != NULL; l = l->next) {
			int ilvl = attr_int(l, "ilvl", -1);
			if (!conv_xml_is(l, "lvl") || ilvl < 0 || ilvl >= LIST_LEVELS)
				continue;
			xmlChar *fmt = xmlGetProp(conv_xml_child(l, "numFmt"), (const xmlChar *)"val");
			xmlChar *text = xmlGetProp(conv_xml_child(l, "lvlText"), (const xmlChar *)"val");
			/* A level without numFmt is decimal, one without w:start
			 * starts at 0 (ECMA-376 17.9.17, 17.9.27); a bullet whose
			 * text shows nothing (pandoc's continuation paragraphs:
			 * lvlText " ") labels nothing, as "none" does. */
			int kind = attr_int(conv_xml_child(l, "start"), "val", 0);
			if (kind < 0)
				kind = 0;
			if (xmlStrEqual(fmt, (const xmlChar *)"none") ||
			    (xmlStrEqual(fmt, (const xmlChar *)"bullet") &&
			     (text == NULL || text[strspn((const char *)text, " \t")] == '\0')))
				kind = LIST_NONE;
			else if (xmlStrEqual(fmt, (const xmlChar *)"bullet"))
				kind = LIST_BULLET;
			levels = jv_array_set(levels, ilvl, jv_number(kind));
			xmlFree(fmt);
			xmlFree(text);
		}
		add_list(w, xmlGetProp(a, (const xmlChar *)"abstractNumId"), levels);
	}
	for (xmlNode *n = root->children; n != NULL; n = n->next) {
		xmlChar *id = conv_xml_is(n, "num") ? xmlGetProp(n, (const xmlChar *)"numId") : NULL;
		xmlChar *abs = xmlGetProp(conv_xml_child(n, "abstractNumId"), (const xmlChar *)"val");
		if (id != NULL && abs != NULL && w->n_nums < MAX_STYLES &&
		    !jv_object_has(jv_copy(w->nums), jv_string((const char *)id))) {
			jv over = jv_array();
			for (xmlNode *o = n->children; o != NULL; o = o->next) {
				int ilvl = attr_int(o, "ilvl", -1);
				int start = attr_int(conv_xml_child(o, "startOverride"), "val", -1);
				if (conv_xml_is(o, "lvlOverride") && ilvl >= 0 && ilvl < LIST_LEVELS && start >= 0)
					over = jv_array_set(over, ilvl, jv_number(start));
			}
			w->nums = jv_object_set(w->nums, jv_string((const char *)id),
						JV_OBJECT(jv_string("a"), jv_string((const char *)abs),
							  jv_string("o"), over));
			w->n_nums++;
		}
		xmlFree(id);
		xmlFree(abs);
	}
}

/* A numbered paragraph's label (w:numPr: w:numId, w:ilvl): LIST_NONE, a
 * bullet or its number.  Items of all the nums of one abstractNum count
 * on together, as Word numbers them; a num's start override restarts the
 * count the first time the num is used at that level. */
static long docx_label(struct office *w, xmlNode *num, int ilvl)
{
	xmlChar *id = xmlGetProp(conv_xml_child(num, "numId"), (const xmlChar *)"val");
	if (id != NULL && strcmp((const char *)id, "0") == 0) { /* numbering removed */
		xmlFree(id);
		return LIST_NONE;
	}
	jv key = jv_string(id != NULL ? (const char *)id : "");
	xmlFree(id);
	jv def = jv_object_get(jv_copy(w->nums), jv_copy(key));
	if (jv_get_kind(def) != JV_KIND_OBJECT) { /* no numbering.xml entry: a bullet, as before */
		jv_free(def);
		jv_free(key);
		return LIST_BULLET;
	}
	jv abs = jv_object_get(jv_copy(def), jv_string("a"));
	jv over = jv_object_get(jv_copy(def), jv_string("o"));
	jv start = jv_array_get(jv_copy(over), ilvl);
	long restart = jv_get_kind(start) == JV_KIND_NUMBER ? (long)jv_number_value(start) : -1;
	jv_free(start);
	if (restart >= 0 && ilvl == 0) /* a list restarted: a new list */
		w->in_list = 0;
	if (restart >= 0) /* applied once: the num's later items count on */
		w->nums = jv_object_set(w->nums, key,
					jv_object_set(def, jv_string("o"), jv_array_set(over, ilvl, jv_null())));
	else {
		jv_free(key);
		jv_free(over);
		jv_free(def);
	}
	jv levels = jv_object_get(jv_copy(w->lists), jv_copy(abs));
	int kind = level_kind(levels, ilvl);
	jv_free(levels);
	long label = kind == LIST_NONE ? LIST_NONE
					: list_label(w, jv_string_value(abs), ilvl, kind, restart);
	/* A top-level item of another list starts a block, as a new HTML
	 * list does (a nested list may be another num: pandoc's are). */
	if (ilvl > 0) {
		jv_free(abs);
		return label;
	}
	if (!jv_equal(jv_copy(abs), jv_copy(w->last_list)))
		w->in_list = 0;
	jv_free(w->last_list);
	w->last_list = abs;
	return label;
}

static void docx_body(struct office *w, xmlNode *body);

/* One block of the body: a paragraph, a table or a content control. */
static void docx_block(struct office *w, xmlNode *b)
{
	if (conv_xml_is(b, "p")) {
		xmlNode *ppr = conv_xml_child(b, "pPr");
		xmlChar *sid = xmlGetProp(conv_xml_child(ppr, "pStyle"), (const xmlChar *)"val");
		int st = find_style(w, sid);
		xmlFree(sid);
		int level = st >= 0 ? st / 2 : 0;
		int outline = attr_int(conv_xml_child(ppr, "outlineLvl"), "val", -1);
		if (outline >= 0 && outline < 9)
			level = outline + 1;
		xmlNode *num = conv_xml_child(ppr, "numPr");
		int list = num != NULL && level == 0 ? attr_int(conv_xml_child(num, "ilvl"), "val", 0) : -1;
		if (list >= LIST_LEVELS)
			list = LIST_LEVELS - 1;
		long label = list >= 0 ? docx_label(w, num, list) : LIST_NONE;
		paragraph(w, b, level, label == LIST_NONE ? -1 : list, label, st >= 0 && st % 2 == 1);
	} else if (conv_xml_is(b, "tbl")) {
		table(w, b, "tr", "tc");
	} else if (conv_xml_is(b, "sdt")) {
		xmlNode *content = conv_xml_child(b, "sdtContent");
		if (content != NULL)
			docx_body(w, content);
	}
}

static void docx_body(struct office *w, xmlNode *body)
{
	for (xmlNode *b = body->children; b != NULL; b = b->next)
		docx_block(w, b);
}

/* The nodes conv_guard_parse counted for n and its subtree. */
static size_t tree_nodes(const xmlNode *n)
{
	size_t k = 1;
	if (n->type == XML_ELEMENT_NODE) {
		for (const xmlNs *ns = n->nsDef; ns != NULL; ns = ns->next)
			k++;
		for (const xmlAttr *a = n->properties; a != NULL; a = a->next)
			k += 2;
		for (const xmlNode *c = n->children; c != NULL; c = c->next)
			k += tree_nodes(c);
	}
	return k;
}

/* conv_block_fn of word/document.xml: a child of the body is converted,
 * then freed with the white space before it.  A shell that could not be
 * made (a mark without its locator) stops the parse. */
static int docx_streamed(conv_guard *g, xmlNode *n)
{
	struct office *w = g->data;
	xmlNode *body = n->parent;
	if (!conv_xml_is(body, "body") || body != conv_xml_child(body->parent, "body"))
		return 0;
	if (shell(w, n) != NULL)
		docx_block(w, n);
	for (xmlNode *c = body->children, *next; c != NULL && c != n->next; c = next) {
		next = c->next;
		size_t k = tree_nodes(c);
		w->o->nodes -= k < w->o->nodes ? k : w->o->nodes;
		xmlUnlinkNode(c);
		xmlFreeNode(c);
	}
	return w->no_shell ? -1 : 0;
}

static void core_meta(conv_out *o, xmlNode *root)
{
	static const char *const keys[][2] = {
		{"title", "title"},       {"creator", "author"},          {"initial-creator", "author"},
		{"subject", "subject"},   {"keywords", "keywords"},       {"keyword", "keywords"},
		{"description", "description"}, {"language", "language"},
	};
	for (xmlNode *m = root != NULL ? root->children : NULL; m != NULL; m = m->next)
		for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
			if (conv_xml_is(m, keys[k][0])) {
				xmlChar *v = xmlNodeGetContent(m);
				conv_meta(o, keys[k][1], (const char *)v);
				xmlFree(v);
			}
}

static void office_init(struct office *w, conv_out *o)
{
	memset(w, 0, sizeof *w);
	w->o = o;
	w->styles = jv_object();
	w->notes = jv_object();
	w->pending = jv_array();
	w->lists = jv_object();
	w->nums = jv_object();
	w->counts = jv_object();
	w->restart = -1;
	w->last_list = jv_null();
	for (int i = 0; i < LIST_LEVELS; i++) /* a level seen before its parent's: "- " */
		w->width[i] = 2;
	conv_out_init(&w->code);
}

static void office_free(struct office *w)
{
	flush_code(w);
	jv_free(w->styles);
	jv_free(w->notes);
	jv_free(w->pending);
	jv_free(w->lists);
	jv_free(w->nums);
	jv_free(w->counts);
	jv_free(w->last_list);
	conv_out_free(&w->code);
}

/* Reads an optional XML entry and hands its root to fn. */
static int optional(conv_zip *z, const char *name, struct office *w,
		    void (*fn)(struct office *, xmlNode *), dp_err *err)
{
	int rc;
	xmlDocPtr d = conv_zip_xml(z, w->o, name, NULL, NULL, &rc, err);
	if (d != NULL) {
		fn(w, xmlDocGetRootElement(d));
		xmlFreeDoc(d);
	}
	return rc < 0 ? -1 : 0;
}

static void docx_core(struct office *w, xmlNode *root)
{
	core_meta(w->o, root);
}

/* The start both ZIP office formats share: names the format and converter,
 * opens the container and readies the walker.  Returns 0, or -1 with err. */
static int office_open(conv_out *o, const char *format, conv_zip *z, struct office *w,
		       const char *buf, size_t len, dp_err *err)
{
	o->format = format;
	snprintf(o->converter, sizeof o->converter, "libzip %s, libxml2 %s", zip_libzip_version(),
		 LIBXML_DOTTED_VERSION);
	if (conv_zip_open(z, buf, len, err) < 0)
		return -1;
	office_init(w, o);
	conv_text_limit(o, z->declared);
	conv_text_limit(&w->code, z->declared);
	return 0;
}

int conv_docx(conv_out *o, const char *buf, size_t len, dp_err *err)
{
	conv_zip z;
	struct office w;
	int rc = -1;

	if (office_open(o, "docx", &z, &w, buf, len, err) < 0)
		return -1;
	o->version = CONV_DOCX_VERSION;
	w.docx = 1;
	if (optional(&z, "word/styles.xml", &w, docx_styles, err) < 0 ||
	    optional(&z, "word/numbering.xml", &w, docx_numbering, err) < 0 ||
	    optional(&z, "word/footnotes.xml", &w, docx_notes, err) < 0 ||
	    optional(&z, "docProps/core.xml", &w, docx_core, err) < 0)
		goto out;
	/* Streamed: the body's blocks are converted as the parse ends each
	 * (docx_streamed), so the tree holds one at a time (a 62 MB
	 * document.xml built 900 MB of tree). */
	w.skel = xmlNewDoc((const xmlChar *)"1.0");
	if (w.skel != NULL) /* the shells' names interned, not copied (freed with it) */
		w.skel->dict = xmlDictCreate();
	if (w.skel == NULL || w.skel->dict == NULL) {
		xmlFreeDoc(w.skel);
		dp_err_set(err, "out of memory converting the document");
		goto out;
	}
	snprintf(o->prefix, sizeof o->prefix, "word/document.xml#");
	xmlDocPtr d = conv_zip_xml(&z, o, "word/document.xml", docx_streamed, &w, &rc, err);
	flush_code(&w); /* before the shells the code block points to go */
	if (d == NULL) {
		if (rc == 0)
			dp_err_set(err, "damaged DOCX: no word/document.xml");
		rc = -1;
		xmlFreeDoc(w.skel);
		goto out;
	}
	xmlFreeDoc(d);
	rc = conv_keep_xml(o, w.skel, err);
out:
	office_free(&w);
	o->prefix[0] = '\0';
	conv_zip_close(&z);
	return rc;
}

/* ---- ODT ---- */

static void odt_styles(struct office *w, xmlNode *root)
{
	xmlNode *auto_styles = conv_xml_child(root, "automatic-styles");
	for (xmlNode *s = auto_styles != NULL ? auto_styles->children : NULL; s != NULL; s = s->next) {
		if (!conv_xml_is(s, "style"))
			continue;
		xmlChar *parent = xmlGetProp(s, (const xmlChar *)"parent-style-name");
		add_style(w, xmlGetProp(s, (const xmlChar *)"name"), 0,
			  name_is_code((const char *)parent));
		xmlFree(parent);
	}
}

static int odt_is_code(const struct office *w, xmlNode *p)
{
	xmlChar *sn = xmlGetProp(p, (const xmlChar *)"style-name");
	int st = find_style(w, sn);
	int code = st >= 0 ? st % 2 : name_is_code((const char *)sn);
	xmlFree(sn);
	return code;
}

/* text:list-style elements under parent (office:automatic-styles or
 * office:styles): each level's kind from text:list-level-style-number
 * (style:num-format, "" labelling nothing; text:start-value, 1 when
 * absent) or -bullet / -image.  A level the style leaves out is as the
 * one above it: pandoc gives a numbered list nested in a bullet its own
 * style of one level, which LibreOffice numbers too. */
static void odt_list_styles(struct office *w, xmlNode *parent)
{
	for (xmlNode *s = parent != NULL ? parent->children : NULL; s != NULL; s = s->next) {
		if (!conv_xml_is(s, "list-style"))
			continue;
		int kinds[LIST_LEVELS], set[LIST_LEVELS] = {0};
		for (xmlNode *l = s->children; l != NULL; l = l->next) {
			int lv = attr_int(l, "level", 0), number = conv_xml_is(l, "list-level-style-number");
			if ((!number && !conv_xml_is(l, "list-level-style-bullet") &&
			     !conv_xml_is(l, "list-level-style-image")) || lv < 1 || lv > LIST_LEVELS)
				continue;
			xmlChar *fmt = number ? xmlGetProp(l, (const xmlChar *)"num-format") : NULL;
			int start = attr_int(l, "start-value", 1);
			kinds[lv - 1] = !number ? LIST_BULLET
					: fmt != NULL && fmt[0] == '\0' ? LIST_NONE
					: start < 0 ? 0 : start;
			set[lv - 1] = 1;
			xmlFree(fmt);
		}
		jv levels = jv_array();
		for (int i = 0; i < LIST_LEVELS; i++) {
			if (!set[i])
				kinds[i] = i > 0 ? kinds[i - 1] : LIST_BULLET;
			levels = jv_array_append(levels, jv_number(kinds[i]));
		}
		add_list(w, xmlGetProp(s, (const xmlChar *)"name"), levels);
	}
}

/* styles.xml's list styles, common and automatic. */
static void odt_common_styles(struct office *w, xmlNode *root)
{
	odt_list_styles(w, conv_xml_child(root, "styles"));
	odt_list_styles(w, conv_xml_child(root, "automatic-styles"));
}

static void odt_list(struct office *w, xmlNode *l, int list, jv style);

/* The blocks under parent, in a list item at level list (-1: none) of the
 * list style style (borrowed).  *label is 1 while the item's label is
 * still to be given (NULL outside an item): only the item's first block
 * has one, and only a paragraph shows it; the item's other paragraphs are
 * paragraphs, as the HTML converter writes an item's text after a block. */
static void odt_blocks(struct office *w, xmlNode *parent, int list, jv style, int *label)
{
	for (xmlNode *b = parent->children; b != NULL; b = b->next) {
		int first = label != NULL && *label;
		if (conv_xml_is(b, "section") || conv_xml_is(b, "index-body")) {
			odt_blocks(w, b, list, style, label);
			continue;
		}
		if (conv_xml_is(b, "h")) {
			int lv = attr_int(b, "outline-level", 1);
			paragraph(w, b, lv < 1 ? 1 : lv, -1, 0, 0);
		} else if (conv_xml_is(b, "p")) {
			int code = odt_is_code(w, b);
			int kind = first && !code ? level_kind(style, list) : LIST_NONE;
			long num = kind == LIST_NONE ? LIST_NONE : list_label(w, "", list, kind, w->restart);
			paragraph(w, b, 0, num == LIST_NONE ? -1 : list, num, code);
		} else if (conv_xml_is(b, "list")) {
			odt_list(w, b, list + 1, style);
		} else if (conv_xml_is(b, "table")) {
			table(w, b, "table-row", "table-cell");
		} else {
			continue;
		}
		if (label != NULL)
			*label = 0;
	}
}

/* A text:list at level list (0: top), its style its own text:style-name or
 * else the enclosing list's (inherited, borrowed).  A top-level list
 * numbers from its start again unless it continues the list before it
 * (text:continue-numbering="true" or text:continue-list; the one before,
 * whichever it names); a text:list-item's text:start-value restarts the
 * count there.  A text:list-header's paragraphs have no label. */
static void odt_list(struct office *w, xmlNode *l, int list, jv inherited)
{
	xmlChar *name = xmlGetProp(l, (const xmlChar *)"style-name");
	jv style = name != NULL ? jv_object_get(jv_copy(w->lists), jv_string((const char *)name))
				: jv_copy(inherited);
	xmlFree(name);
	if (list >= LIST_LEVELS)
		list = LIST_LEVELS - 1;
	if (list == 0) {
		w->in_list = 0; /* a new list starts a block, as a new HTML list does */
		xmlChar *cont = xmlGetProp(l, (const xmlChar *)"continue-numbering");
		xmlChar *other = xmlGetProp(l, (const xmlChar *)"continue-list");
		if (!xmlStrEqual(cont, (const xmlChar *)"true") && other == NULL)
			w->counts = jv_object_delete(w->counts, jv_string(""));
		xmlFree(cont);
		xmlFree(other);
	}
	for (xmlNode *it = l->children; it != NULL; it = it->next) {
		int item = conv_xml_is(it, "list-item");
		if (!item && !conv_xml_is(it, "list-header"))
			continue;
		w->restart = attr_int(it, "start-value", -1);
		odt_blocks(w, it, list, style, &item);
	}
	w->restart = -1;
	jv_free(style);
}

int conv_odt(conv_out *o, const char *buf, size_t len, dp_err *err)
{
	conv_zip z;
	struct office w;
	int rc = -1;

	if (office_open(o, "odt", &z, &w, buf, len, err) < 0)
		return -1;
	xmlDocPtr meta = conv_zip_xml(&z, o, "meta.xml", NULL, NULL, &rc, err);
	if (rc < 0)
		goto out;
	if (meta != NULL) {
		core_meta(o, conv_xml_child(xmlDocGetRootElement(meta), "meta"));
		xmlFreeDoc(meta);
	}
	if (optional(&z, "styles.xml", &w, odt_common_styles, err) < 0)
		goto out;
	xmlDocPtr d = conv_zip_xml(&z, o, "content.xml", NULL, NULL, &rc, err);
	if (d == NULL) {
		if (rc == 0)
			dp_err_set(err, "damaged ODT: no content.xml");
		rc = -1;
		goto out;
	}
	odt_styles(&w, xmlDocGetRootElement(d));
	odt_list_styles(&w, conv_xml_child(xmlDocGetRootElement(d), "automatic-styles"));
	xmlNode *text = conv_xml_child(conv_xml_child(xmlDocGetRootElement(d), "body"), "text");
	snprintf(o->prefix, sizeof o->prefix, "content.xml#");
	if (text != NULL)
		odt_blocks(&w, text, -1, jv_null(), NULL);
	flush_code(&w);
	rc = conv_keep_xml(o, d, err);
out:
	office_free(&w);
	o->prefix[0] = '\0';
	conv_zip_close(&z);
	return rc;
}
