/* The derived Markdown text every converter writes, the options, the
 * dispatcher and the provenance of converted chunks (convert.h). */
#include "convert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <errno.h>
#include <unistd.h>

#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <magic.h>
#include <zip.h>

#include "chunk_stage.h"
#include "frontmatter.h"
#include "hash.h"
#include "path.h"
#include "record.h"
#include "text.h"
#include "wide.h"
#include "xmlpath.h"

void conv_opts_default(conv_opts *o, size_t max_output)
{
	static const char *const drop[] = {"script", "style",  "noscript", "template",
					   "nav",    "header", "footer",   "hidden",
					   ".navheader", ".navfooter"};
	memset(o, 0, sizeof *o);
	for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++)
		o->drop[o->n_drop++] = drop[i];
	o->timeout_s = 60;
	o->max_output = max_output;
}

int conv_opts_drop(conv_opts *o, char *list, dp_err *err)
{
	if (list[0] == '+')
		list++;
	else
		o->n_drop = 0;
	for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		if (o->n_drop == CONV_MAX_DROP) {
			dp_err_set(err, "--html-drop: at most %d entries", CONV_MAX_DROP);
			return -1;
		}
		o->drop[o->n_drop++] = tok;
	}
	return 0;
}

int conv_opts_command(conv_opts *o, const char *arg, dp_err *err)
{
	const char *eq = strchr(arg, '=');
	if (eq == NULL || eq == arg || eq[1] == '\0') {
		dp_err_set(err, "--convert: '%s' is not EXT=COMMAND", arg);
		return -1;
	}
	if (arg[0] == '.')
		arg++;
	size_t n = (size_t)(eq - arg);
	if (n == 0 || n >= sizeof o->commands[0].ext || memchr(arg, '/', n) != NULL) {
		dp_err_set(err, "--convert: bad extension in '%s'", arg);
		return -1;
	}
	if (o->n_commands == CONV_MAX_COMMANDS) {
		dp_err_set(err, "--convert: at most %d commands", CONV_MAX_COMMANDS);
		return -1;
	}
	conv_command *c = &o->commands[o->n_commands++];
	memcpy(c->ext, arg, n);
	c->ext[n] = '\0';
	c->command = eq + 1;
	return 0;
}

enum conv_kind conv_kind_of(const conv_opts *o, const char *path, const conv_command **command)
{
	static const struct {
		const char *ext;
		enum conv_kind kind;
	} known[] = {
		{"html", CONV_HTML}, {"htm", CONV_HTML},   {"xhtml", CONV_HTML},
		{"pdf", CONV_PDF},   {"docx", CONV_DOCX},  {"odt", CONV_ODT},
		{"epub", CONV_EPUB}, {"ipynb", CONV_IPYNB},
	};
	const char *dot = dp_path_extension(path);

	*command = NULL;
	if (dot == NULL)
		return CONV_NONE;
	for (size_t i = 0; i < o->n_commands; i++)
		if (strcasecmp(dot + 1, o->commands[i].ext) == 0) {
			*command = &o->commands[i];
			return CONV_COMMAND;
		}
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (strcasecmp(dot + 1, known[i].ext) == 0)
			return known[i].kind;
	return CONV_NONE;
}

void conv_global_init(void)
{
	xmlInitParser();
}

/* ---- the derived text ---- */

/* The byte buffers' maxima: the text keeps a NUL after its last byte
 * within CONV_TEXT_MAX; a locator is at most CONV_LOCATOR_MAX bytes, on
 * average 16 per mark. */
#define TEXT_MAX (CONV_TEXT_MAX - 1)
#define LOCS_MAX ((size_t)CONV_MARKS_MAX * 16)

static void out_init(conv_out *o)
{
	memset(o, 0, sizeof *o);
	dp_buf_init(&o->text, TEXT_MAX);
	dp_buf_init(&o->locs, LOCS_MAX);
}

void conv_out_init(conv_out *o)
{
	out_init(o);
	o->meta = jv_object();
	o->version = CONV_VERSION;
}

void conv_out_free(conv_out *o)
{
	for (size_t i = 0; i < o->n_docs; i++)
		xmlFreeDoc(o->docs[i]);
	free(o->docs);
	dp_buf_free(&o->text);
	free(o->marks);
	dp_buf_free(&o->locs);
	jv_free(o->meta);
	memset(o, 0, sizeof *o);
}

void conv_text_limit(conv_out *o, size_t source)
{
	if (source <= (TEXT_MAX - CONV_TEXT_FLOOR) / CONV_TEXT_PER_BYTE)
		o->text.max = CONV_TEXT_PER_BYTE * source + CONV_TEXT_FLOOR;
}

/* Grows the array *buf to hold need elements of size, doubling, never
 * beyond max.  Returns 0, or -1 with o->failed set. */
static int reserve(conv_out *o, void **buf, size_t *cap, size_t need, size_t size, size_t max)
{
	if (need <= *cap)
		return 0;
	if (o->failed)
		return -1;
	if (need > max) {
		o->failed = 1;
		dp_err_set(&o->err, "converted text over its limit (%zu)", max);
		return -1;
	}
	size_t n = *cap < 256 ? 256 : *cap;
	while (n < need)
		n = n > max / 2 ? max : n * 2;
	void *p = realloc(*buf, n * size);
	if (p == NULL) {
		o->failed = 1;
		dp_err_set(&o->err, "out of memory converting the document");
		return -1;
	}
	*buf = p;
	*cap = n;
	return 0;
}

/* Appends n bytes of s to b, one of o's byte buffers, and keeps it
 * NUL-terminated.  Returns 0, or -1 with o->failed set (limit: the
 * maximum the message names). */
static int append(conv_out *o, dp_buf *b, const void *s, size_t n, size_t limit)
{
	int over = n > b->max - b->len;

	/* dp_buf_reserve leaves room for the NUL too; inline, as a converter
	 * appends a few bytes at a time. */
	if (dp_buf_reserve(b, n) == 0) {
		memcpy(b->data + b->len, s, n);
		b->len += n;
		b->data[b->len] = '\0';
		return 0;
	}
	if (!o->failed) {
		o->failed = 1;
		if (over)
			dp_err_set(&o->err, "converted text over its limit (%zu)", limit);
		else
			dp_err_set(&o->err, "out of memory converting the document");
	}
	return -1;
}

static void put_bytes(conv_out *o, const char *s, size_t n)
{
	append(o, &o->text, s, n, o->text.max + 1);
}

void conv_put(conv_out *o, const char *s, size_t n)
{
	/* The chunker needs valid UTF-8, and libxml2 can hand over invalid
	 * bytes (a charset it cannot name, an entity cut by a bad byte: found
	 * by fuzz_html): each byte that starts no valid sequence becomes U+FFFD.
	 * So does a NUL (a notebook's "\u0000"): the store
	 * refuses text holding one (PostgreSQL's text cannot), which failed the
	 * document there, after summarize and embed had paid for it. */
	for (;;) {
		size_t ok = dp_utf8_invalid_at(s, n);
		const char *nul = ok > 0 ? memchr(s, '\0', ok) : NULL;
		if (nul != NULL)
			ok = (size_t)(nul - s);
		if (ok == n)
			break;
		put_bytes(o, s, ok);
		put_bytes(o, "\xEF\xBF\xBD", 3);
		s += ok + 1;
		n -= ok + 1;
	}
	put_bytes(o, s, n);
}

void conv_puts(conv_out *o, const char *s)
{
	conv_put(o, s, strlen(s));
}

static void add_mark(conv_out *o, const char *loc)
{
	char full[CONV_LOCATOR_MAX];
	int n = snprintf(full, sizeof full, "%s%s", o->prefix, loc != NULL ? loc : "");
	size_t flen = n < 0 ? 0 : (size_t)n >= sizeof full ? sizeof full - 1 : (size_t)n;
	conv_mark *last = o->n_marks > 0 ? &o->marks[o->n_marks - 1] : NULL;
	const void *node = o->node;

	o->node = NULL;
	if (last != NULL && last->page == o->page && last->node == node &&
	    strcmp(o->locs.data + last->loc, full) == 0)
		return;
	size_t at;
	if (last != NULL && strcmp(o->locs.data + last->loc, full) == 0) {
		at = last->loc;
	} else {
		at = o->locs.len;
		/* flen + 1: full is NUL-terminated at flen. */
		if (append(o, &o->locs, full, flen + 1, LOCS_MAX) < 0)
			return;
	}
	/* A later mark at the same offset replaces an earlier one (a block
	 * that turned out empty). */
	if (last != NULL && last->off == o->text.len) {
		last->loc = at;
		last->node = node;
		last->page = o->page;
		return;
	}
	if (reserve(o, (void **)&o->marks, &o->cap_marks, o->n_marks + 1, sizeof *o->marks,
		    CONV_MARKS_MAX) < 0)
		return;
	o->marks[o->n_marks++] = (conv_mark){.off = o->text.len, .loc = at, .node = node,
					     .page = o->page};
}

const char *conv_at(conv_out *o, const void *node)
{
	o->node = node;
	return NULL;
}

int conv_keep_xml(conv_out *o, xmlDocPtr doc, dp_err *err)
{
	if (reserve(o, (void **)&o->docs, &o->cap_docs, o->n_docs + 1, sizeof *o->docs, 1u << 16) < 0) {
		xmlFreeDoc(doc);
		*err = o->err;
		return -1;
	}
	o->docs[o->n_docs++] = doc;
	return 0;
}

void conv_mark_here(conv_out *o, const char *loc)
{
	add_mark(o, loc);
}

size_t conv_block(conv_out *o, const char *loc)
{
	if (o->text.len > 0 && o->text.data[o->text.len - 1] != '\n')
		conv_put(o, "\n", 1);
	if (o->text.len > 1 && o->text.data[o->text.len - 2] != '\n')
		conv_put(o, "\n", 1);
	add_mark(o, loc);
	o->run = o->text.len;
	return o->text.len;
}

size_t conv_line(conv_out *o, const char *loc)
{
	if (o->text.len > 0 && o->text.data[o->text.len - 1] != '\n')
		conv_put(o, "\n", 1);
	add_mark(o, loc);
	o->run = o->text.len;
	return o->text.len;
}

void conv_run(conv_out *o)
{
	o->run = o->text.len;
}

int conv_list_item(conv_out *o, int indent, long num)
{
	char marker[24];
	if (num > 999999999) /* CommonMark's numbers have at most 9 digits */
		num = 999999999;
	int width = num >= 0 ? snprintf(marker, sizeof marker, "%ld. ", num)
			     : snprintf(marker, sizeof marker, "- ");
	for (int i = 0; i < indent; i++)
		conv_put(o, " ", 1);
	conv_puts(o, marker);
	conv_run(o);
	return width;
}

static int is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

void conv_inline(conv_out *o, const char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		if (is_ws((unsigned char)s[i])) {
			while (i < n && is_ws((unsigned char)s[i]))
				i++;
			if (o->text.len > o->run && o->text.data[o->text.len - 1] != ' ')
				conv_put(o, " ", 1);
			continue;
		}
		size_t j = i;
		while (j < n && !is_ws((unsigned char)s[j]))
			j++;
		conv_put(o, s + i, j - i);
		i = j;
	}
}

/* Inserts a backslash at text offset at. */
static void insert_backslash(conv_out *o, size_t at)
{
	conv_put(o, "\\", 1);
	if (o->failed)
		return;
	memmove(o->text.data + at + 1, o->text.data + at, o->text.len - 1 - at);
	o->text.data[at] = '\\';
}

/* A run at o->run that Markdown would read as a block construct (heading,
 * quote, list, fence, HTML, table, link definition, thematic break, ordered
 * list) gets a backslash before the character that would open it. */
static void escape_start(conv_out *o)
{
	const char *t = o->text.data + o->run;
	size_t n = o->text.len - o->run;
	if (n == 0)
		return;
	if (strchr("#>-+*`~<|_=[", t[0]) != NULL) {
		insert_backslash(o, o->run);
		return;
	}
	size_t d = 0;
	while (d < n && d < 10 && t[d] >= '0' && t[d] <= '9')
		d++;
	if (d > 0 && d < n && (t[d] == '.' || t[d] == ')'))
		insert_backslash(o, o->run + d);
}

int conv_end_run(conv_out *o, size_t drop_from, int escape)
{
	while (o->text.len > o->run && o->text.data[o->text.len - 1] == ' ')
		o->text.len--;
	if (o->text.data != NULL)
		o->text.data[o->text.len] = '\0';
	if (o->text.len == o->run) {
		o->text.len = drop_from < o->text.len ? drop_from : o->text.len;
		if (o->text.data != NULL)
			o->text.data[o->text.len] = '\0';
		/* Marks of the removed block go with it: marks stay in order. */
		while (o->n_marks > 0 && o->marks[o->n_marks - 1].off > o->text.len)
			o->n_marks--;
		return 0;
	}
	if (escape)
		escape_start(o);
	return 1;
}

size_t conv_heading(conv_out *o, int level, const char *loc)
{
	static const char hashes[] = "###### ";
	size_t start = conv_block(o, loc);
	if (level < 1)
		level = 1;
	if (level > CHUNK_MAX_DEPTH)
		level = CHUNK_MAX_DEPTH;
	conv_put(o, hashes + 6 - level, (size_t)level + 1);
	conv_run(o);
	return start;
}

void conv_code(conv_out *o, const char *lang, const char *code, size_t n, const char *loc)
{
	size_t run = 0, longest = 0;
	for (size_t i = 0; i < n; i++) {
		run = code[i] == '`' ? run + 1 : 0;
		if (run > longest)
			longest = run;
	}
	char fence[64];
	size_t flen = longest < 3 ? 3 : longest + 1;
	if (flen >= sizeof fence)
		flen = sizeof fence - 1; /* a fence cannot be that long: lose it */
	memset(fence, '`', flen);
	fence[flen] = '\0';
	/* Leading and trailing blank lines are not code. */
	while (n > 0 && (code[0] == '\n' || code[0] == '\r'))
		code++, n--;
	while (n > 0 && is_ws((unsigned char)code[n - 1]))
		n--;
	if (n == 0) {
		o->node = NULL;
		return;
	}
	conv_block(o, loc);
	conv_puts(o, fence);
	if (lang != NULL && lang[0] != '\0' && strpbrk(lang, "` \n") == NULL)
		conv_puts(o, lang);
	conv_put(o, "\n", 1);
	conv_put(o, code, n);
	conv_put(o, "\n", 1);
	conv_puts(o, fence);
	conv_put(o, "\n", 1);
}

void conv_meta(conv_out *o, const char *key, const char *value)
{
	if (value == NULL)
		return;
	jv old = jv_object_get(jv_copy(o->meta), jv_string(key));
	int have = jv_is_valid(old);
	jv_free(old);
	if (have)
		return;
	/* Collapse white space with the inline writer, on a scratch output. */
	conv_out t;
	out_init(&t);
	conv_inline(&t, value, strlen(value));
	conv_end_run(&t, 0, 0);
	if (t.text.len > 0 && !t.failed)
		o->meta = jv_object_set(o->meta, jv_string(key),
					jv_string_sized(t.text.data, (int)t.text.len));
	dp_buf_free(&t.text);
	dp_buf_free(&t.locs);
}

size_t conv_front_matter(conv_out *o, const char *s, size_t n, const char **problem)
{
	size_t body = n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
	jv fm;
	size_t fm_len = fm_parse(s + body, n - body, &fm, problem);
	if (fm_len == 0) {
		jv_free(fm);
		return body;
	}
	o->meta = jv_object_merge(o->meta, fm);
	return body + fm_len;
}

/* ---- parse guard ---- */

unsigned conv_max_nodes = CONV_MAX_NODES_DEFAULT;

/* Counts k nodes the parse is about to build: past CONV_MAX_NODES the
 * parse stops (xmlStopParser: no callback is called after) and they are
 * not built.  Returns whether to build them. */
static int guard_count(void *ctx, size_t k)
{
	xmlParserCtxtPtr ctxt = ctx;
	conv_guard *g = ctxt->_private;
	if (g->stop == CONV_STOP_NONE && k > CONV_MAX_NODES - g->o->nodes) {
		g->stop = CONV_STOP_NODES;
		xmlStopParser(ctxt);
	}
	if (g->stop != CONV_STOP_NONE)
		return 0;
	g->o->nodes += k;
	return 1;
}

/* An element and its k other nodes; one deeper than CONV_HTML_MAX_DEPTH
 * stops the parse (HTML is parsed with XML_PARSE_HUGE, which lifts
 * libxml2's own limit: pathological nesting would cost quadratic time in
 * the parser and unbounded recursion in the walk; XML stops at libxml2's
 * 256 first). */
static int guard_element(void *ctx, size_t k)
{
	xmlParserCtxtPtr ctxt = ctx;
	conv_guard *g = ctxt->_private;
	if (g->stop == CONV_STOP_NONE && ctxt->nodeNr >= CONV_HTML_MAX_DEPTH) {
		g->stop = CONV_STOP_DEPTH;
		xmlStopParser(ctxt);
	}
	return guard_count(ctx, 1 + k);
}

/* Whether the node being built into has a last child of type t: text and
 * CDATA are appended to it then, no node is built. */
static int last_is(void *ctx, xmlElementType t)
{
	xmlNodePtr n = ((xmlParserCtxtPtr)ctx)->node;
	return n != NULL && n->last != NULL && n->last->type == t;
}

/* The tree-building callbacks, counted (an attribute is two nodes: it and
 * its value's text). */
static void g_start_ns(void *ctx, const xmlChar *localname, const xmlChar *prefix,
		       const xmlChar *uri, int nb_ns, const xmlChar **ns, int nb_attrs,
		       int nb_defaulted, const xmlChar **attrs)
{
	if (guard_element(ctx, (size_t)nb_ns + 2 * (size_t)nb_attrs))
		xmlSAX2StartElementNs(ctx, localname, prefix, uri, nb_ns, ns, nb_attrs, nb_defaulted,
				      attrs);
}

/* An element's end: past it, a block (conv_block_fn) of a streamed parse
 * is handed over.  Depth 2 after the pop: the element was a grandchild of
 * the document node's element. */
static void g_end_ns(void *ctx, const xmlChar *localname, const xmlChar *prefix,
		     const xmlChar *uri)
{
	xmlParserCtxtPtr ctxt = ctx;
	conv_guard *g = ctxt->_private;
	xmlNodePtr n = ctxt->node;
	xmlSAX2EndElementNs(ctx, localname, prefix, uri);
	if (g->block != NULL && g->stop == CONV_STOP_NONE && n != NULL && ctxt->nodeNr == 2 &&
	    g->block(g, n) < 0) {
		g->stop = CONV_STOP_NODES;
		xmlStopParser(ctxt);
	}
}

static void g_start(void *ctx, const xmlChar *name, const xmlChar **atts)
{
	size_t n = 0;
	while (atts != NULL && atts[n] != NULL)
		n += 2;
	if (guard_element(ctx, n))
		xmlSAX2StartElement(ctx, name, atts);
}

static void g_characters(void *ctx, const xmlChar *ch, int len)
{
	if (guard_count(ctx, !last_is(ctx, XML_TEXT_NODE)))
		xmlSAX2Characters(ctx, ch, len);
}

static void g_cdata(void *ctx, const xmlChar *value, int len)
{
	if (guard_count(ctx, !last_is(ctx, XML_CDATA_SECTION_NODE)))
		xmlSAX2CDataBlock(ctx, value, len);
}

static void g_comment(void *ctx, const xmlChar *value)
{
	if (guard_count(ctx, 1))
		xmlSAX2Comment(ctx, value);
}

static void g_pi(void *ctx, const xmlChar *target, const xmlChar *data)
{
	if (guard_count(ctx, 1))
		xmlSAX2ProcessingInstruction(ctx, target, data);
}

static void g_reference(void *ctx, const xmlChar *name)
{
	if (guard_count(ctx, 1))
		xmlSAX2Reference(ctx, name);
}

static void g_subset(void *ctx, const xmlChar *name, const xmlChar *id, const xmlChar *sys)
{
	if (guard_count(ctx, 1))
		xmlSAX2InternalSubset(ctx, name, id, sys);
}

static void g_entity(void *ctx, const xmlChar *name, int type, const xmlChar *id,
		     const xmlChar *sys, xmlChar *content)
{
	if (guard_count(ctx, 1))
		xmlSAX2EntityDecl(ctx, name, type, id, sys, content);
}

static void g_attribute(void *ctx, const xmlChar *elem, const xmlChar *name, int type, int def,
			const xmlChar *dflt, xmlEnumerationPtr tree)
{
	size_t n = 1;
	for (xmlEnumerationPtr e = tree; e != NULL; e = e->next)
		n++;
	if (guard_count(ctx, n))
		xmlSAX2AttributeDecl(ctx, elem, name, type, def, dflt, tree);
	else
		xmlFreeEnumeration(tree); /* the callback owns it */
}

static void g_element(void *ctx, const xmlChar *name, int type, xmlElementContentPtr content)
{
	if (guard_count(ctx, 1))
		xmlSAX2ElementDecl(ctx, name, type, content);
}

static void g_notation(void *ctx, const xmlChar *name, const xmlChar *id, const xmlChar *sys)
{
	if (guard_count(ctx, 1))
		xmlSAX2NotationDecl(ctx, name, id, sys);
}

static void g_unparsed(void *ctx, const xmlChar *name, const xmlChar *id, const xmlChar *sys,
		       const xmlChar *notation)
{
	if (guard_count(ctx, 1))
		xmlSAX2UnparsedEntityDecl(ctx, name, id, sys, notation);
}

void conv_guard_parse(conv_guard *g, conv_out *o, xmlParserCtxtPtr ctxt)
{
	xmlSAXHandlerPtr sax = ctxt->sax;
	*g = (conv_guard){.o = o};
	ctxt->_private = g;
	/* Each callback the handler has (an HTML parser's has no namespaced
	 * elements, references nor DTD declarations) builds through its
	 * counted wrapper.  HTML's ignorableWhitespace builds nothing. */
	if (sax->startElementNs != NULL)
		sax->startElementNs = g_start_ns;
	if (sax->endElementNs == xmlSAX2EndElementNs)
		sax->endElementNs = g_end_ns;
	if (sax->startElement != NULL)
		sax->startElement = g_start;
	sax->characters = g_characters;
	if (sax->ignorableWhitespace == xmlSAX2Characters)
		sax->ignorableWhitespace = g_characters;
	sax->cdataBlock = g_cdata;
	sax->comment = g_comment;
	sax->processingInstruction = g_pi;
	if (sax->reference != NULL)
		sax->reference = g_reference;
	sax->internalSubset = g_subset;
	if (sax->entityDecl != NULL) {
		sax->entityDecl = g_entity;
		sax->attributeDecl = g_attribute;
		sax->elementDecl = g_element;
		sax->notationDecl = g_notation;
		sax->unparsedEntityDecl = g_unparsed;
	}
}

/* ---- elements with too many attributes ---- */

static int attr_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

/* Whether c may start an element's name (XML's NameStartChar, its ASCII
 * part, and any byte of a multibyte character). */
static int name_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || c >= 0x80;
}

size_t conv_attrs_over(const char *buf, size_t len)
{
	const unsigned char *u = (const unsigned char *)buf;
	enum { TEXT, OPEN, TAG } state = TEXT;
	unsigned char quote = 0;
	int in_name = 0, value = 0; /* in a name or an unquoted value; a value is due after '=' */
	size_t names = 0, start = 0; /* the element's name and its attributes' */

	for (size_t i = 0; i < len; i++) {
		unsigned char c = u[i];
		if (c == 0) /* UTF-16/32: ASCII's zero bytes */
			continue;
		if (state == OPEN) { /* after a '<' */
			if (c == '<') {
				start = i;
				continue;
			}
			state = name_start(c) ? TAG : TEXT;
			names = 1;
			in_name = 1;
			value = 0;
			continue;
		}
		if (state == TEXT) {
			if (c == '<') {
				state = OPEN;
				start = i;
			}
			continue;
		}
		if (quote != 0) {
			quote = c == quote ? 0 : quote;
			continue;
		}
		if (c == '>') {
			state = TEXT;
		} else if (c == '"' || c == '\'') {
			quote = c;
			in_name = value = 0;
		} else if (attr_space(c) || c == '/') {
			in_name = 0;
		} else if (c == '=') {
			in_name = 0;
			value = 1;
		} else if (!in_name) {
			in_name = 1;
			if (value) {
				value = 0;
			} else if (++names > CONV_MAX_ATTRS + 1) {
				size_t line = 1;
				for (const unsigned char *p = u; (p = memchr(p, '\n', start - (size_t)(p - u))) != NULL; p++)
					line++;
				return line;
			}
		}
	}
	return 0;
}

/* ---- dispatch and provenance ---- */

/* What libmagic says buf is, into out (only on a refusal: loading its
 * database costs ~ms). */
static void magic_says(const char *buf, size_t len, char *out, size_t size)
{
	magic_t m = magic_open(MAGIC_NONE);
	const char *what = m != NULL && magic_load(m, NULL) == 0 ? magic_buffer(m, buf, len) : NULL;
	snprintf(out, size, "%s", what != NULL ? what : "unknown");
	if (m != NULL)
		magic_close(m);
}

/* Binary formats must start like one: a PDF header in the first KiB (as
 * readers allow), a ZIP local header.  On a mismatch libmagic says what
 * the file is instead. */
static int check_content(enum conv_kind kind, const char *buf, size_t len, dp_err *err)
{
	const char *want;
	if (kind == CONV_PDF)
		want = memmem(buf, len < 1024 ? len : 1024, "%PDF-", 5) != NULL ? NULL : "PDF";
	else if (kind == CONV_DOCX || kind == CONV_ODT || kind == CONV_EPUB)
		want = len >= 4 && memcmp(buf, "PK\3\4", 4) == 0 ? NULL : "ZIP container";
	else
		return 0;
	if (want == NULL)
		return 0;
	char what[128];
	magic_says(buf, len, what, sizeof what);
	dp_err_set(err, "not a %s by its content (libmagic: %s)", want, what);
	return -1;
}

/* The first bytes of formats a text file (HTML, Markdown, a notebook) is
 * never: a signature at offset 0 (4 at least: a text cannot start with
 * them by chance).  PDF and ZIP are classified by conv_sniff itself. */
static const struct {
	const char *magic;
	size_t off, len;
	const char *what;
} binary_magic[] = {
	{"\x89PNG\r\n\x1a\n", 0, 8, "a PNG image"},
	{"\xff\xd8\xff", 0, 3, "a JPEG image"},
	{"GIF87a", 0, 6, "a GIF image"},
	{"GIF89a", 0, 6, "a GIF image"},
	{"WEBP", 8, 4, "a WebP image"},
	{"II*\0", 0, 4, "a TIFF image"},
	{"MM\0*", 0, 4, "a TIFF image"},
	{"ftyp", 4, 4, "an MP4/QuickTime or HEIF file"},
	{"OggS\0", 0, 5, "an Ogg audio/video file"},
	{"\x1f\x8b\x08", 0, 3, "gzip-compressed data"},
	{"\xfd" "7zXZ\0", 0, 6, "xz-compressed data"},
	{"\x28\xb5\x2f\xfd", 0, 4, "zstd-compressed data"},
	{"7z\xbc\xaf\x27\x1c", 0, 6, "a 7-Zip archive"},
	{"Rar!\x1a\x07", 0, 6, "a RAR archive"},
	{"\x7f" "ELF", 0, 4, "an ELF executable"},
	{"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 0, 8,
	 "an OLE2 compound file (an old Word or Excel .doc/.xls?)"},
	{"SQLite format 3", 0, 16, "an SQLite database"},
	/* ASCII headers and zero padding: a tar of a large text file is
	 * valid UTF-8 with few enough zero bytes to pass for text with stray
	 * NULs (chunk_check_text). */
	{"ustar", 257, 5, "a tar archive"},
};

/* A ZIP container's format: DOCX by its word/document.xml, EPUB and ODT
 * by their mimetype entry; else CONV_NONE (*what "a ZIP archive"). */
static enum conv_kind sniff_zip(const char *buf, size_t len, const char **what)
{
	conv_zip z;
	dp_err ignored;
	enum conv_kind kind = CONV_NONE;
	char *mime = NULL;
	size_t n;

	*what = "a ZIP archive";
	if (conv_zip_open(&z, buf, len, &ignored) < 0)
		return CONV_NONE;
	if (zip_name_locate(z.za, "word/document.xml", ZIP_FL_ENC_RAW) >= 0) {
		kind = CONV_DOCX;
		*what = "a DOCX document";
	} else if (conv_zip_read(&z, "mimetype", &mime, &n, &ignored) == 1) {
		n = strcspn(mime, " \t\r\n");
		if (n == 20 && memcmp(mime, "application/epub+zip", n) == 0) {
			kind = CONV_EPUB;
			*what = "an EPUB book";
		} else if (n == 39 && memcmp(mime, "application/vnd.oasis.opendocument.text", n) == 0) {
			kind = CONV_ODT;
			*what = "an ODT document";
		}
	}
	free(mime);
	conv_zip_close(&z);
	return kind;
}

#define SNIFF_BYTES 1024

enum conv_kind conv_sniff(const char *buf, size_t len, char *what, size_t size)
{
	const unsigned char *b = (const unsigned char *)buf;
	const char *name = NULL;
	enum conv_kind kind = CONV_NONE;

	what[0] = '\0';
	if (len >= 5 && memcmp(buf, "%PDF-", 5) == 0) {
		kind = CONV_PDF;
		name = "a PDF document";
	} else if (len >= 4 && memcmp(buf, "PK\3\4", 4) == 0) {
		kind = sniff_zip(buf, len, &name);
	}
	for (size_t i = 0; name == NULL && i < sizeof binary_magic / sizeof binary_magic[0]; i++)
		if (len >= binary_magic[i].off + binary_magic[i].len &&
		    memcmp(b + binary_magic[i].off, binary_magic[i].magic, binary_magic[i].len) == 0)
			name = binary_magic[i].what;
	if (name != NULL) {
		snprintf(what, size, "%s", name);
		return kind;
	}
	/* No signature: binary data holds zero bytes and bytes that are not
	 * UTF-8 early on (a NUL alone is not enough: a page with a stray NUL
	 * in its text is read, as is Latin-1 text).  The last 3 bytes of the
	 * sample may be a character it cuts. */
	size_t n = len < SNIFF_BYTES ? len : SNIFF_BYTES;
	wide_enc wide;
	if (memchr(buf, '\0', n) != NULL && dp_utf8_invalid_at(buf, n) + 3 < n &&
	    !wide_detect(buf, len, &wide)) {
		char magic[128];
		magic_says(buf, len, magic, sizeof magic);
		snprintf(what, size, "binary data (libmagic: %s)", magic);
	}
	return CONV_NONE;
}

int conv_file(conv_out *o, enum conv_kind kind, const conv_command *cmd, const char *path,
	      const char *buf, size_t len, const conv_opts *opts, dp_err *err)
{
	int rc;
	if (kind == CONV_HTML || kind == CONV_IPYNB) {
		/* A text format's name on a file of another kind: a format
		 * docpipe converts is converted as what it is, anything else
		 * recognised is refused as what it is (the HTML parser read a
		 * PNG as a page of garbage). */
		char what[160];
		enum conv_kind real = conv_sniff(buf, len, what, sizeof what);
		if (real != CONV_NONE) {
			kind = real;
		} else if (what[0] != '\0') {
			dp_err_set(err, "looks like %s, not %s", what,
				   kind == CONV_HTML ? "HTML" : "a Jupyter notebook");
			return -1;
		}
	}
	if (check_content(kind, buf, len, err) < 0)
		return -1;
	switch (kind) {
	case CONV_HTML:
		rc = conv_html(o, buf, len, opts, err);
		break;
	case CONV_PDF:
		rc = conv_pdf(o, buf, len, -1, err);
		break;
	case CONV_DOCX:
		rc = conv_docx(o, buf, len, err);
		break;
	case CONV_ODT:
		rc = conv_odt(o, buf, len, err);
		break;
	case CONV_EPUB:
		rc = conv_epub(o, buf, len, opts, err);
		break;
	case CONV_IPYNB:
		rc = conv_ipynb(o, buf, len, opts, err);
		break;
	case CONV_COMMAND:
		rc = conv_command_run(o, cmd, path, opts, err);
		break;
	default:
		dp_err_set(err, "no converter for this file");
		return -1;
	}
	if (rc == 0 && o->failed) {
		*err = o->err;
		return -1;
	}
	return rc;
}

/* The last mark at or before derived offset off, or NULL. */
static const conv_mark *mark_at(const conv_out *o, size_t off)
{
	size_t lo = 0, hi = o->n_marks;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (o->marks[mid].off <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 ? &o->marks[lo - 1] : NULL;
}

jv conv_provenance(jv rec, const chunk_doc *doc, const conv_out *o)
{
	jv chunks = jv_object_get(jv_copy(rec), jv_string("chunks"));
	jv k_loc = jv_string("locator"), k_ps = jv_string("page_start"), k_pe = jv_string("page_end");

	for (size_t i = 0; i < doc->n_chunks && jv_get_kind(chunks) == JV_KIND_ARRAY; i++) {
		const chunk_span *c = &doc->chunks[i];
		jv ch = jv_array_get(jv_copy(chunks), (int)i);
		const conv_mark *first = mark_at(o, c->off);
		const conv_mark *last = mark_at(o, c->off + (c->len > 0 ? c->len - 1 : 0));
		if (first != NULL && (o->locs.data[first->loc] != '\0' || first->node != NULL)) {
			xmlChar *path = first->node != NULL ? xml_node_path((xmlNodePtr)first->node) : NULL;
			ch = jv_object_set(ch, jv_copy(k_loc),
					   jv_string_fmt("%s%s", o->locs.data + first->loc,
							 path != NULL ? (const char *)path : ""));
			xmlFree(path);
		}
		if (first != NULL && first->page > 0) {
			ch = jv_object_set(ch, jv_copy(k_ps), jv_number(first->page));
			ch = jv_object_set(ch, jv_copy(k_pe), jv_number(last->page));
		}
		chunks = jv_array_set(chunks, (int)i, ch);
	}
	jv_free(k_loc);
	jv_free(k_ps);
	jv_free(k_pe);
	rec = jv_object_set(rec, jv_string("chunks"), chunks);
	return jv_object_set(rec, jv_string("converter"), jv_string(o->converter));
}

/* Splits o's text with the Markdown chunker (the same packing, merging,
 * overlap and heading rules as a Markdown file) and builds the document
 * record (rec consumed). */
static jv finish(const chunk_stage *cs, jv rec, conv_out *o)
{
	chunk_doc doc;
	dp_err err;
	const char *text = dp_buf_cstr(&o->text);
	jv title = jv_object_get(jv_copy(o->meta), jv_string("title"));
	int has_title = jv_get_kind(title) == JV_KIND_STRING;

	chunk_doc_init(&doc);
	if (chunk_split(&doc, text, o->text.len, CHUNK_MARKDOWN, &cs->opts,
			has_title ? jv_string_value(title) : NULL,
			has_title ? (size_t)jv_string_length_bytes(jv_copy(title)) : 0, &err) < 0) {
		rec = dp_record_error(rec, "chunk", err.msg);
	} else {
		/* The identity names the converter and the chunker's settings:
		 * another version of either may give other chunks, so the store
		 * must re-chunk. */
		char chunker[sizeof o->converter + sizeof cs->chunker_markdown + 32];
		snprintf(chunker, sizeof chunker, "%s-v%d (%s) %s", o->format, o->version, o->converter,
			 cs->chunker_markdown);
		rec = chunk_document_derived(rec, &doc, text, jv_copy(o->meta), o->format, chunker);
		rec = conv_provenance(rec, &doc, o);
	}
	jv_free(title);
	chunk_doc_free(&doc);
	return rec;
}

jv chunk_converted(const chunk_stage *cs, jv rec, enum conv_kind kind, const conv_command *cmd,
		   const char *path, char *buf, size_t len)
{
	dp_err err;
	conv_out o;

	conv_out_init(&o);
	int rc = conv_file(&o, kind, cmd, path, buf, len, &cs->conv, &err);
	free(buf);
	rec = rc < 0 ? dp_record_error(rec, "chunk", err.msg) : finish(cs, rec, &o);
	conv_out_free(&o);
	return rec;
}

/* Hashes the open file (at most max bytes) and checks it against *rec
 * (chunk_check_sum: a file edited since discovery is taken as read), then
 * checks its first KiB looks like a PDF.  Leaves the offset at 0.  Returns
 * 0 or -1. */
static int check_pdf_fd(jv *rec, int fd, const struct stat *st, int linked,
			unsigned long long max, dp_err *err)
{
	char got[DP_HASH_HEX], head[1024];
	unsigned long long size;
	if (dp_hash_fd(fd, max, got, &size, err) < 0 ||
	    chunk_check_sum(rec, got, (size_t)size, st, linked, err) < 0)
		return -1;
	ssize_t n = pread(fd, head, sizeof head, 0);
	if (n < 0 || lseek(fd, 0, SEEK_SET) != 0) {
		dp_err_set(err, "read: %s", strerror(errno));
		return -1;
	}
	return check_content(CONV_PDF, head, (size_t)n, err);
}

jv chunk_converted_pdf(const chunk_stage *cs, jv rec, const char *path)
{
	dp_err err;
	conv_out o;
	struct stat before;
	int linked;
	int fd = chunk_open_file(path, cs->max_size, &before, &linked, &err);

	if (fd == CHUNK_GONE)
		return chunk_gone(rec, path);
	if (fd < 0)
		return dp_record_error(rec, "chunk", err.msg);
	conv_out_init(&o);
	int rc = check_pdf_fd(&rec, fd, &before, linked, cs->max_size, &err);
	if (rc == 0)
		rc = conv_pdf(&o, NULL, 0, fd, &err);
	if (rc == 0 && !chunk_file_unchanged(fd, &before)) {
		dp_err_set(&err, "file changed while being read");
		rc = -1;
	}
	close(fd);
	if (rc == 0 && o.failed) {
		err = o.err;
		rc = -1;
	}
	rec = rc < 0 ? dp_record_error(rec, "chunk", err.msg) : finish(cs, rec, &o);
	conv_out_free(&o);
	return rec;
}
