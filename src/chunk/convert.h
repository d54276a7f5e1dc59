/* Documents that are not Markdown or plain text: HTML/XHTML, PDF, DOCX,
 * ODT, EPUB, Jupyter notebooks and anything an external --convert command
 * turns into Markdown or HTML.
 *
 * Design (docs: man/docpipe-chunk.1 FORMATS, docs/protocol.md): a converter
 * turns the file into a derived Markdown text (headings as `#` lines, code
 * as fenced blocks, tables as pipe rows, lists, paragraphs) plus marks that
 * map derived byte offsets back to the source (a locator string, a PDF
 * page), plus document metadata.  The derived text then goes through the
 * same chunk_split() as a Markdown file, so every packing and overlap rule
 * applies unchanged, and each chunk's offset finds its mark.  Chunks of
 * converted documents carry `locator` (and `page_start`/`page_end` for PDF)
 * instead of `start`/`end`, which would be offsets into the derived text,
 * not into the file.  Front matter is parsed where the format's own tools
 * look for it: at the start of a --convert command's Markdown output
 * (pandoc -s writes one) and of a notebook's first cell, Markdown or raw
 * (Quarto, MyST, Jekyll); nowhere else in a derived text. */
#ifndef DP_CHUNK_CONVERT_H
#define DP_CHUNK_CONVERT_H

#include <stddef.h>

#include <jv.h>

#include "buf.h"
#include "chunker.h"
#include "err.h"

struct _xmlDoc;
struct _xmlNode;
struct _xmlParserCtxt;

/* Limits of the derived text and its marks: converters stop with an error
 * beyond them (a derived text is at most a few times its source). */
#define CONV_TEXT_MAX (256u << 20)
#define CONV_MARKS_MAX (4u << 20)
#define CONV_LOCATOR_MAX 240

/* ZIP containers (DOCX, ODT, EPUB): documents with more entries, or whose
 * entries declare more bytes in total, are refused before inflating, and an
 * entry inflating to more than it declares when it does: zip bombs.  Entries named with "..", a leading '/' or
 * a backslash are refused wherever a document refers to them. */
#define CONV_ZIP_MAX_ENTRIES 10000
#define CONV_ZIP_MAX_BYTES (64ull << 20)

/* HTML nested deeper than this many elements is refused (libxml2 2.9's own
 * limit is 256 unless XML_PARSE_HUGE, which lifts it entirely; later
 * releases allow 2048 with it).  It bounds the converter's recursion and
 * the length of locators, which are XPaths. */
#define CONV_HTML_MAX_DEPTH 2048

/* An element with more attributes than this is refused before libxml2
 * parses the text (conv_attrs_over): libxml2 2.9 checks each attribute
 * against every one before it in the element, in the HTML and the XML
 * parser alike, so one element of 300,000 attributes (a 4 MB page, or a
 * DOCX of a few KB) took more than 2 minutes of CPU; 40,000 took 7 s.  At
 * this bound (Word's root element declares ~35 namespaces, HTML elements a
 * few attributes) 60 MB of XML made of such elements parses in about the
 * time of plain paragraphs (4 s; at 1024, 11 s). */
#define CONV_MAX_ATTRS 256

/* The nodes (elements, attributes, texts, comments, DTD declarations) the
 * libxml2 parses of one document may hold at a time, all its parts
 * together (a DOCX's styles, notes and body; an EPUB's package and
 * chapters).  The byte limits (--max-size, CONV_ZIP_MAX_BYTES) do not
 * bound the trees: a node costs 100-200 bytes and can take 4 bytes of XML,
 * so 64 MiB of "<w:p/>" took 1.4 GB.  At this limit the trees hold at most
 * ~300 MB.  A streamed parse (conv_block_fn: a DOCX body) takes the nodes
 * it frees off the count. */
#define CONV_MAX_NODES_DEFAULT (2u << 20)
/* The limit in force: CONV_MAX_NODES_DEFAULT, unless a test set it lower
 * before any conversion (docpipe-chunk's test hook DOCPIPE_TEST_MAX_NODES:
 * the ASan pass reaches the refusals over documents a hundredth the size). */
extern unsigned conv_max_nodes;
#define CONV_MAX_NODES conv_max_nodes

#define CONV_MAX_COMMANDS 16
#define CONV_MAX_DROP 32

/* One --convert EXT=COMMAND. */
typedef struct conv_command {
	char ext[16];        /* without the dot, compared ignoring case */
	const char *command; /* borrowed from argv */
} conv_command;

typedef struct conv_opts {
	/* HTML elements dropped with their content: tag names, ".class" or
	 * "hidden" (the hidden attribute, aria-hidden="true", inline
	 * display:none or visibility:hidden).  Strings borrowed. */
	const char *drop[CONV_MAX_DROP];
	size_t n_drop;
	conv_command commands[CONV_MAX_COMMANDS];
	size_t n_commands;
	int timeout_s;           /* for --convert commands */
	int notebook_outputs;    /* 1: keep text outputs of code cells */
	size_t max_output;       /* bytes a --convert command may print */
} conv_opts;

/* Fills the defaults (drop list: script, style, noscript, template, nav,
 * header, footer, hidden; timeout 60 s; outputs dropped). */
void conv_opts_default(conv_opts *o, size_t max_output);

/* Parses a --html-drop LIST (comma separated, borrowed: the entries point
 * into list, which must outlive o).  A leading '+' adds to the current list,
 * otherwise the list replaces it; an empty LIST drops nothing.  Returns 0,
 * or -1 with err set. */
int conv_opts_drop(conv_opts *o, char *list, dp_err *err);

/* Parses a --convert EXT=COMMAND (borrowed).  Returns 0, or -1 with err. */
int conv_opts_command(conv_opts *o, const char *arg, dp_err *err);

enum conv_kind {
	CONV_NONE = 0, /* Markdown or plain text: not converted */
	CONV_HTML,
	CONV_PDF,
	CONV_DOCX,
	CONV_ODT,
	CONV_EPUB,
	CONV_IPYNB,
	CONV_COMMAND,
};

/* The converter for a path, by extension (any case); --convert commands
 * win over built-in converters.  *command is set for CONV_COMMAND. */
enum conv_kind conv_kind_of(const conv_opts *o, const char *path, const conv_command **command);

/* What a file's first bytes say it is, whatever its name: for a format
 * docpipe converts (PDF, and a ZIP holding a DOCX, an ODT or an EPUB) its
 * kind, else CONV_NONE.  what (size bytes) gets what the file is ("a PDF
 * document", "a PNG image", "binary data (libmagic: ...)"), or "" when
 * the bytes may be text: no known signature, and no NUL among bytes that
 * are not UTF-8 in the first KiB (UTF-16 and UTF-32 text,
 * wide_detect, is not binary). */
enum conv_kind conv_sniff(const char *buf, size_t len, char *what, size_t size);

/* Must run once before threads start (libxml2's global set-up). */
void conv_global_init(void);

/* Where a part of the derived text came from. */
typedef struct conv_mark {
	size_t off;       /* first derived byte this mark covers */
	size_t loc;       /* offset of its NUL-terminated locator in conv_out.locs */
	const void *node; /* an xmlNode of a kept document whose XPath ends the
			   * locator, or NULL (see conv_at) */
	int page;         /* 1-based PDF page, 0 when not paged */
} conv_mark;

/* A converter's result.  Buffers are bounded (CONV_TEXT_MAX,
 * CONV_MARKS_MAX); meta is an object owned by the conv_out, and its
 * "title" (the document's own: HTML <title>, EPUB dc:title, DOCX/ODT
 * dc:title, PDF Title, a notebook's, front matter's) heads the heading
 * paths of a text without H1, as a Markdown file's front matter title
 * does; without one the paths start at the text's headings.  The byte
 * buffers are dp_bufs; marks and docs are arrays of their own type. */
typedef struct conv_out {
	dp_buf text; /* the derived Markdown, NUL-terminated once written to */
	conv_mark *marks;
	size_t n_marks, cap_marks;
	dp_buf locs; /* the marks' NUL-terminated locators, end to end */
	struct _xmlDoc **docs; /* parsed documents the marks point into */
	size_t n_docs, cap_docs;
	const void *node;    /* for the next mark (conv_at) */
	jv meta;
	const char *format;  /* "html", "pdf", ...: static or from conv_command */
	char converter[96];  /* library or command and its version */
	int version;         /* the converter's own, in the chunker identity:
			      * raised when its output changes, so that stored
			      * documents of its formats only are chunked again
			      * (CONV_VERSION unless the converter sets it) */
	char prefix[CONV_LOCATOR_MAX]; /* prepended to locators (EPUB: the entry) */
	size_t run;          /* where the current inline run began */
	int page;            /* current page for new marks */
	size_t nodes;        /* built by its parses so far (CONV_MAX_NODES) */
	int failed;          /* sticky: a limit was hit, error in err */
	dp_err err;
} conv_out;

/* Every converter's version but HTML's and EPUB's: 2 when versions became
 * each converter's own; 3: the document's title (meta's "title") heads the
 * heading paths, and DOCX and ODT number their ordered lists. */
#define CONV_VERSION 3
/* conv_docx's own: 4 writes a note's text after its first citation only. */
#define CONV_DOCX_VERSION 4

void conv_out_init(conv_out *o);
void conv_out_free(conv_out *o);

/* A ZIP container's derived text is at most CONV_TEXT_PER_BYTE times what
 * its entries declare plus CONV_TEXT_FLOOR (conv_text_limit; Markdown from
 * XML is shorter than the XML): ODT's <text:s text:c="1000"/> writes 1000
 * spaces for 23 bytes, so a 17 KB ODT made 256 MiB of text (400 MB of
 * memory, 7 s) before failing over CONV_TEXT_MAX. */
#define CONV_TEXT_PER_BYTE 4
#define CONV_TEXT_FLOOR ((size_t)1 << 20)
/* Lowers o's text limit to CONV_TEXT_PER_BYTE * source + CONV_TEXT_FLOOR,
 * never above CONV_TEXT_MAX; before anything is written. */
void conv_text_limit(conv_out *o, size_t source);

/* Appending to the derived text.  These never fail; past a limit they set
 * o->failed and drop the text (the converter checks o->failed at the end).
 * Bytes that are not valid UTF-8 are written as U+FFFD. */
void conv_put(conv_out *o, const char *s, size_t n);
void conv_puts(conv_out *o, const char *s);
/* Starts a block: a blank line after the previous one, and a mark with the
 * locator `o->prefix` + loc (loc may be NULL: prefix only).  Returns the
 * offset the block starts at. */
size_t conv_block(conv_out *o, const char *loc);
/* Starts a line of the current block (a list item, a table row) with a
 * mark; returns its offset. */
size_t conv_line(conv_out *o, const char *loc);
/* Makes the next mark's locator end with the XPath of node (an xmlNode of
 * a document given to conv_keep_xml).  The path is computed only for the
 * marks chunks start at (xmlpath.h: paths cost as much as parsing when
 * done for every block).  Returns NULL, to be passed as loc. */
const char *conv_at(conv_out *o, const void *node);
/* Keeps doc (an xmlDocPtr) alive until conv_out_free.  Returns 0, or -1
 * with err set to o->err (out of memory, or a limit the conversion hit
 * before: o->failed is sticky; doc is freed). */
int conv_keep_xml(conv_out *o, struct _xmlDoc *doc, dp_err *err);
/* Adds a mark at the end of the text without starting a line. */
void conv_mark_here(conv_out *o, const char *loc);
/* Starts an inline run at the end of the text. */
void conv_run(conv_out *o);
/* Writes a list item's marker after conv_block or conv_line: indent
 * spaces, then "N. " for num >= 0 (an ordered list's item; at most
 * 999999999, CommonMark's 9 digits) or "- " for num < 0, and starts the
 * run of the item's text.  Returns the marker's width: a list nested in
 * the item is indented by indent + width, under the item's text.  Every
 * converter writes its lists with it (HTML ul/ol, DOCX numbering, ODT list
 * styles), so they read alike. */
int conv_list_item(conv_out *o, int indent, long num);
/* Inline text, whitespace collapsed to single spaces (none at the start of
 * a run, none doubled). */
void conv_inline(conv_out *o, const char *s, size_t n);
/* Ends the inline run: strips trailing spaces; with escape, a run that
 * would open a Markdown construct ('#', '>', '-', "1." ...) gets a
 * backslash.  Returns 1 if the run holds text; else truncates the text
 * back to drop_from (removing the block's prefix) and returns 0. */
int conv_end_run(conv_out *o, size_t drop_from, int escape);
/* Writes "### " for a heading of level 1..6 (deeper levels as 6) after
 * conv_block, and starts the run of its text; returns the block start. */
size_t conv_heading(conv_out *o, int level, const char *loc);
/* A fenced code block holding code[0..n) verbatim, fence longer than any
 * backtick run in it; lang may be NULL. */
void conv_code(conv_out *o, const char *lang, const char *code, size_t n, const char *loc);
/* Sets meta[key] = value (whitespace collapsed) unless empty or already set. */
void conv_meta(conv_out *o, const char *key, const char *value);

/* What stopped a guarded parse. */
enum conv_stop { CONV_STOP_NONE = 0, CONV_STOP_NODES, CONV_STOP_DEPTH };

/* A libxml2 parse's limits (conv_guard_parse). */
typedef struct conv_guard conv_guard;
/* Called as an XML parse ends an element whose parent is a child of the
 * root element (a DOCX body's paragraph or table): it may convert the
 * element, then unlink and free it (and its earlier siblings), taking the
 * nodes freed off o->nodes, so a document streams through a tree that
 * never holds more than one such element.  Returns 0, or -1 to stop the
 * parse as over CONV_MAX_NODES. */
typedef int (*conv_block_fn)(conv_guard *g, struct _xmlNode *n);
struct conv_guard {
	conv_out *o;         /* counts into o->nodes */
	enum conv_stop stop; /* the limit that stopped the parse, if one did */
	conv_block_fn block; /* or NULL: the whole tree is built */
	void *data;          /* for block */
};

/* Guards the parse ctxt is about to do (a tree built by libxml2's SAX2
 * callbacks, XML or HTML): the nodes it builds are counted into o->nodes
 * and an element deeper than CONV_HTML_MAX_DEPTH or past CONV_MAX_NODES
 * stops it, with g->stop saying why.  Sets ctxt->_private to g, which
 * must outlive the parse. */
void conv_guard_parse(conv_guard *g, conv_out *o, struct _xmlParserCtxt *ctxt);

/* The line (from 1) of the first start tag in buf[0..len) (XML or HTML
 * text, ASCII-compatible or UTF-16/32: zero bytes are skipped) that holds
 * more than CONV_MAX_ATTRS attributes, or 0.  A linear scan by lexical
 * rules only (a '<' and a name start a tag, quoted values are skipped, a
 * '>' ends it), run before the parse: it may count a stray '<' in text or
 * a script as a tag, which matters only past that many names. */
size_t conv_attrs_over(const char *buf, size_t len);

/* Front matter (frontmatter.h) at the start of s[0..n) (valid UTF-8), after
 * a byte order mark: its fields go into o->meta (over keys already there).
 * Returns the bytes to skip (mark and block), 0 without front matter;
 * *problem as fm_parse gives it (malformed: the block stays text; over FM_MAX_BYTES: its fields are not read). */
size_t conv_front_matter(conv_out *o, const char *s, size_t n, const char **problem);

/* Converters.  Each reads buf[0..len) (the file's bytes, NUL-terminated at
 * len) and fills o.  Return 0, or -1 with err saying why the document
 * cannot be read (damaged, encrypted, a zip bomb ...). */
int conv_html(conv_out *o, const char *buf, size_t len, const conv_opts *opts, dp_err *err);
/* conv_html's version, and EPUB's (its chapters are HTML): 3 keeps an
 * img's alt text; 4: the title heads the heading paths (CONV_VERSION 3). */
#define CONV_HTML_VERSION 4

/* conv_html without setting format and converter: one part of a document
 * (an EPUB chapter, a --convert command's output). */
int conv_html_part(conv_out *o, const char *buf, size_t len, const conv_opts *opts, dp_err *err);
/* conv_pdf reads buf[0..len), or when buf is NULL the file open on fd
 * (borrowed; poppler reads what it needs as it goes). */
int conv_pdf(conv_out *o, const char *buf, size_t len, int fd, dp_err *err);
int conv_docx(conv_out *o, const char *buf, size_t len, dp_err *err);
int conv_odt(conv_out *o, const char *buf, size_t len, dp_err *err);
int conv_epub(conv_out *o, const char *buf, size_t len, const conv_opts *opts, dp_err *err);
int conv_ipynb(conv_out *o, const char *buf, size_t len, const conv_opts *opts, dp_err *err);
/* Runs cmd on path (see convert_exec.c); its output, Markdown or HTML
 * (output starting with '<' after white space), is converted into o. */
int conv_command_run(conv_out *o, const conv_command *cmd, const char *path,
		     const conv_opts *opts, dp_err *err);

/* ---- shared by the ZIP-based converters (convert_zip.c) ---- */

typedef struct conv_zip {
	struct zip *za;
	size_t budget; /* uncompressed bytes still allowed (CONV_ZIP_MAX_BYTES) */
	size_t declared; /* uncompressed bytes its entries declare, in total */
} conv_zip;

/* Opens the ZIP archive buf[0..len) (borrowed; must outlive z).  Refuses
 * (-1, err) a damaged archive, more than CONV_ZIP_MAX_ENTRIES entries,
 * entries declaring more than CONV_ZIP_MAX_BYTES in total, and entry names
 * that are absolute or hold a ".." component or a backslash. */
int conv_zip_open(conv_zip *z, const char *buf, size_t len, dp_err *err);
void conv_zip_close(conv_zip *z);
/* Reads entry name into a malloc'ed NUL-terminated *out.  Returns 1, 0 when
 * there is no such entry, -1 with err set (damaged, over the budget). */
int conv_zip_read(conv_zip *z, const char *name, char **out, size_t *len, dp_err *err);
/* Reads and parses an XML entry (no network, no external entities),
 * guarded (conv_guard_parse: its nodes count into o->nodes; block and data,
 * or NULL, as in conv_guard).  Returns the document (xmlFreeDoc it), or
 * NULL: absent (err untouched, *rc 0) or unreadable (*rc -1, err set). */
struct _xmlDoc *conv_zip_xml(conv_zip *z, conv_out *o, const char *name, conv_block_fn block,
				 void *data, int *rc, dp_err *err);

/* Whether n is an element with local name `name` (any namespace). */
int conv_xml_is(const struct _xmlNode *n, const char *name);
/* n's first child element with local name `name`, or NULL (n may be NULL). */
struct _xmlNode *conv_xml_child(struct _xmlNode *n, const char *name);

/* Converts one file of the given kind into o (the dispatcher). */
int conv_file(conv_out *o, enum conv_kind kind, const conv_command *cmd, const char *path,
	      const char *buf, size_t len, const conv_opts *opts, dp_err *err);

/* Adds provenance to the chunks of rec (a document record made by
 * chunk_document_derived from doc over o->text, so without byte and line
 * ranges; consumed, returned): `locator` and, for paged documents,
 * `page_start`/`page_end`.  Adds `converter`. */
jv conv_provenance(jv rec, const chunk_doc *doc, const conv_out *o);

#endif
