#include "chunker.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <md4c.h>

#include "text.h"

/* Upper bounds of the growable arrays: far beyond any real document (the
 * input itself is bounded by --max-size), but a bound all the same. */
#define CHUNK_MAX_ITEMS ((size_t)1 << 24)
#define CHUNK_MAX_NAMES ((size_t)64 << 20)
#define NO_START SIZE_MAX

struct chunk_block {
	size_t start;    /* offset of the block's first line; NO_START if md4c gave no text */
	int level;       /* heading level 1..6, or 0 */
	chunk_name name; /* heading text */
};

int chunk_opts_check(const chunk_opts *opts, dp_err *err)
{
	if (opts->max_tokens < CHUNK_MIN_TOKENS) {
		dp_err_set(err, "--max-tokens must be at least %d", CHUNK_MIN_TOKENS);
		return -1;
	}
	if (opts->overlap > opts->max_tokens / 2) {
		dp_err_set(err, "--overlap must be at most half of --max-tokens (%zu)",
			   opts->max_tokens / 2);
		return -1;
	}
	return 0;
}

void chunk_doc_init(chunk_doc *doc)
{
	memset(doc, 0, sizeof *doc);
}

void chunk_doc_free(chunk_doc *doc)
{
	free(doc->chunks);
	free(doc->sections);
	free(doc->names);
	free(doc->blocks);
	chunk_doc_init(doc);
}

/* Makes room for `need` elements of `size` bytes in *arr, at most `max`.
 * Returns 0, or -1 with err set. */
static int grow(void **arr, size_t *cap, size_t need, size_t size, size_t max, dp_err *err)
{
	if (need <= *cap)
		return 0;
	if (need > max) {
		dp_err_set(err, "document too complex: more than %zu %s", max,
			   size == 1 ? "bytes of headings" : "blocks or chunks");
		return -1;
	}
	size_t n = *cap < 16 ? 16 : *cap * 2;
	while (n < need)
		n *= 2;
	if (n > max)
		n = max;
	void *p = realloc(*arr, n * size);
	if (p == NULL) {
		dp_err_set(err, "out of memory");
		return -1;
	}
	*arr = p;
	*cap = n;
	return 0;
}

static int is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static size_t line_start(const char *text, size_t at)
{
	while (at > 0 && text[at - 1] != '\n')
		at--;
	return at;
}

static size_t line_end(const char *text, size_t len, size_t at)
{
	const char *nl = memchr(text + at, '\n', len - at);

	return nl != NULL ? (size_t)(nl - text) : len;
}

static int is_blank_line(const char *text, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (!is_space((unsigned char)text[i]))
			return 0;
	return 1;
}

/* ---- packing blocks of one section into chunks ---- */

struct packer {
	chunk_doc *doc;
	const unsigned char *u;
	const char *text;
	const chunk_opts *opts;
	dp_err *err;
	size_t section;
	int open; /* a chunk [cur_start, cur_end) is being filled */
	size_t cur_start, cur_end, cur_tokens;
	int have_prev; /* the section already has a chunk [prev_start, prev_end) */
	size_t prev_start, prev_end;
};

static size_t tokens(const struct packer *p, size_t from, size_t to)
{
	return dp_tokens_estimate(p->text + from, to - from);
}

/* Narrows [*start, *end) to leave out trailing white space and leading
 * blank lines. */
static void trim(const struct packer *p, size_t *start, size_t *end)
{
	while (*end > *start && is_space(p->u[*end - 1]))
		--*end;
	while (*start < *end) {
		size_t eol = line_end(p->text, *end, *start);
		if (eol >= *end || !is_blank_line(p->text, *start, eol))
			break;
		*start = eol + 1;
	}
}

static int emit(struct packer *p, size_t start, size_t end)
{
	chunk_doc *doc = p->doc;

	trim(p, &start, &end);
	if (start >= end)
		return 0;
	if (grow((void **)&doc->chunks, &doc->cap_chunks, doc->n_chunks + 1, sizeof *doc->chunks,
		 CHUNK_MAX_ITEMS, p->err) < 0)
		return -1;
	doc->chunks[doc->n_chunks++] = (chunk_span){
		.off = start, .len = end - start,
		.tokens = tokens(p, start, end), .section = p->section};
	p->have_prev = 1;
	p->prev_start = start;
	p->prev_end = end;
	return 0;
}

static int flush_open(struct packer *p)
{
	if (!p->open)
		return 0;
	p->open = 0;
	return emit(p, p->cur_start, p->cur_end);
}

/* Start of the overlap carried from the previous chunk: about opts->overlap
 * tokens before its end, moved forward to the next word start.  Returns
 * prev_end when there is nothing to carry, or when the whole previous chunk
 * would be repeated. */
static size_t overlap_start(const struct packer *p)
{
	size_t ascii = 0, other = 0, i = p->prev_end;
	const unsigned char *u = p->u;

	if (!p->have_prev || p->opts->overlap == 0)
		return p->prev_end;
	while (i > p->prev_start) {
		size_t j = i - 1;
		while (j > p->prev_start && (u[j] & 0xC0) == 0x80)
			j--;
		size_t a = ascii, o = other;
		if (u[j] < 0x80)
			a++;
		else
			o++;
		if ((a + 3) / 4 + o > p->opts->overlap)
			break;
		ascii = a;
		other = o;
		i = j;
	}
	if (i == p->prev_start)
		return p->prev_end; /* a chunk that small is not repeated whole */
	if (i > p->prev_start && !is_space(u[i - 1]))
		while (i < p->prev_end && !is_space(u[i]))
			i++;
	while (i < p->prev_end && is_space(u[i]))
		i++;
	return i;
}

/* Last position k in (lo, hi] with u[k-1] == a or u[k-1] == b, or 0. */
static size_t last_after(const unsigned char *u, size_t lo, size_t hi, unsigned char a,
			 unsigned char b)
{
	for (size_t k = hi; k > lo; k--)
		if (u[k - 1] == a || u[k - 1] == b)
			return k;
	return 0;
}

/* Where to end a piece that starts at `piece` and must hold new text from
 * `fresh` on (piece <= fresh < end, and tokens(piece..fresh) is at most
 * half the cap): the end of the block if it fits, else the best boundary
 * after `fresh` keeping the piece within the cap, preferring a line end,
 * then a space, in the second half of the new text; a code point boundary
 * if neither exists.  Always > fresh. */
static size_t cut(const struct packer *p, size_t piece, size_t fresh, size_t end)
{
	const unsigned char *u = p->u;
	size_t max = p->opts->max_tokens, ascii = 0, other = 0, i = piece;

	while (i < end) {
		if (u[i] < 0x80) {
			if ((ascii + 4) / 4 + other > max)
				break;
			ascii++;
			i++;
		} else {
			if ((ascii + 3) / 4 + other + 1 > max)
				break;
			other++;
			i++;
			while (i < end && (u[i] & 0xC0) == 0x80)
				i++;
		}
	}
	if (i >= end)
		return end;
	size_t half = fresh + (i - fresh) / 2;
	size_t nl = last_after(u, fresh, i, '\n', '\n');
	size_t sp = last_after(u, fresh, i, ' ', '\t');
	if (nl > half)
		return nl;
	if (sp > half)
		return sp;
	if (nl)
		return nl;
	if (sp)
		return sp;
	return i;
}

/* Adds the block [start, end) (trimmed, non-empty) to the section's chunks. */
static int add_block(struct packer *p, size_t start, size_t end)
{
	size_t max = p->opts->max_tokens;
	size_t t = tokens(p, start, end);

	size_t fresh = start, piece = NO_START;
	if (p->open) {
		size_t gap = (start - p->cur_end + 3) / 4; /* white space between blocks */
		if (p->cur_tokens + gap + t <= max) {
			p->cur_end = end;
			p->cur_tokens += gap + t;
			return 0;
		}
		/* A block too large for any chunk fills up a small open one (a
		 * heading line above a long paragraph stays with its start). */
		if (t > max && tokens(p, p->cur_start, start) <= max / 2) {
			piece = p->cur_start;
			p->open = 0;
		} else if (flush_open(p) < 0) {
			return -1;
		}
	}
	size_t ov = overlap_start(p);
	if (t <= max) {
		size_t ot = p->have_prev && ov < p->prev_end ? tokens(p, ov, start) : 0;
		int carry = ot > 0 && ot + t <= max;
		p->open = 1;
		p->cur_start = carry ? ov : start;
		p->cur_end = end;
		p->cur_tokens = carry ? ot + t : t;
		return 0;
	}
	/* Larger than the cap: pieces at line (or word) boundaries. */
	if (piece == NO_START)
		piece = p->have_prev && tokens(p, ov, fresh) <= max / 2 ? ov : fresh;
	for (;;) {
		size_t c = cut(p, piece, fresh, end);
		if (c >= end) {
			p->open = 1;
			p->cur_start = piece;
			p->cur_end = end;
			p->cur_tokens = tokens(p, piece, end);
			return 0;
		}
		if (emit(p, piece, c) < 0)
			return -1;
		fresh = c;
		ov = overlap_start(p);
		piece = p->have_prev && ov <= fresh && tokens(p, ov, fresh) <= max / 2 ? ov : fresh;
	}
}

static int new_section(struct packer *p, const chunk_name *path, const int *present)
{
	chunk_doc *doc = p->doc;

	if (flush_open(p) < 0)
		return -1;
	if (grow((void **)&doc->sections, &doc->cap_sections, doc->n_sections + 1,
		 sizeof *doc->sections, CHUNK_MAX_ITEMS, p->err) < 0)
		return -1;
	chunk_section *s = &doc->sections[doc->n_sections];
	s->depth = 0;
	for (int i = 0; i < CHUNK_MAX_DEPTH; i++)
		if (present[i])
			s->path[s->depth++] = path[i];
	p->section = doc->n_sections++;
	p->have_prev = 0;
	return 0;
}

/* Adds the source range [start, end) as one block: trailing white space
 * and leading blank lines do not belong to it. */
static int add_range(struct packer *p, size_t start, size_t end)
{
	trim(p, &start, &end);
	return start < end ? add_block(p, start, end) : 0;
}

/* ---- Markdown: top-level blocks from md4c ---- */

struct md_walk {
	chunk_doc *doc;
	const char *text;
	size_t len;
	dp_err *err;
	int failed;
	unsigned depth;   /* 1 inside MD_BLOCK_DOC, 2 inside a top-level block */
	size_t first;     /* smallest source offset seen in the current top-level block */
	int level;        /* heading level of the current top-level block, or 0 */
	char fence;       /* fence character of a top-level fenced code block, or 0 */
	size_t last_start;
	chunk_name name;
};

static void note_ptr(struct md_walk *w, const MD_CHAR *s)
{
	uintptr_t a = (uintptr_t)s, b = (uintptr_t)w->text;

	/* md4c hands out pointers into our buffer for source text and to its
	 * own constants for synthesized text ("\n", U+FFFD): keep the former. */
	if (a >= b && a < b + w->len && a - b < w->first)
		w->first = a - b;
}

static int md_enter(MD_BLOCKTYPE type, void *detail, void *ud)
{
	struct md_walk *w = ud;

	if (++w->depth != 2)
		return 0;
	w->first = NO_START;
	w->level = type == MD_BLOCK_H ? (int)((MD_BLOCK_H_DETAIL *)detail)->level : 0;
	w->fence = 0;
	w->name = (chunk_name){.off = w->doc->n_names, .len = 0};
	if (type == MD_BLOCK_CODE) {
		MD_BLOCK_CODE_DETAIL *code = detail;
		w->fence = code->fence_char;
		if (code->info.size > 0)
			note_ptr(w, code->info.text);
	}
	return 0;
}

static int is_fence_line(const struct md_walk *w, size_t at)
{
	size_t i = at, n = 0;

	while (i < w->len && i - at < 3 && w->text[i] == ' ')
		i++;
	while (i < w->len && w->text[i] == w->fence)
		i++, n++;
	return n >= 3;
}

static int md_leave(MD_BLOCKTYPE type, void *detail, void *ud)
{
	struct md_walk *w = ud;
	size_t start = NO_START;

	(void)type;
	(void)detail;
	if (w->depth-- != 2)
		return 0;
	if (w->first != NO_START) {
		start = line_start(w->text, w->first);
		/* Code text starts below the opening fence (and any blank lines). */
		if (w->fence)
			for (size_t s = start; !is_fence_line(w, s) && s > 0;) {
				s = line_start(w->text, s - 1);
				if (is_fence_line(w, s))
					start = s;
				else if (!is_blank_line(w->text, s, line_end(w->text, w->len, s)))
					break;
			}
		/* Blocks come in source order; anything else is not trusted. */
		if (w->last_start != NO_START && start <= w->last_start)
			start = NO_START;
	}
	/* A block without source text (a rule, an empty heading) belongs to
	 * the block before it; only a heading still matters for the path. */
	if (start == NO_START && w->level == 0)
		return 0;
	if (start != NO_START)
		w->last_start = start;
	chunk_doc *doc = w->doc;
	if (grow((void **)&doc->blocks, &doc->cap_blocks, doc->n_blocks + 1, sizeof *doc->blocks,
		 CHUNK_MAX_ITEMS, w->err) < 0) {
		w->failed = 1;
		return -1;
	}
	doc->blocks[doc->n_blocks++] = (chunk_block){
		.start = start, .level = w->level, .name = w->name};
	return 0;
}

static int md_span(MD_SPANTYPE type, void *detail, void *ud)
{
	(void)type;
	(void)detail;
	(void)ud;
	return 0;
}

static int append_name(struct md_walk *w, const char *s, size_t n)
{
	chunk_doc *doc = w->doc;

	if (w->name.len + n > CHUNK_HEADING_MAX)
		n = dp_utf8_floor(s, CHUNK_HEADING_MAX - w->name.len);
	if (n == 0)
		return 0;
	if (grow((void **)&doc->names, &doc->cap_names, doc->n_names + n, 1, CHUNK_MAX_NAMES,
		 w->err) < 0)
		return -1;
	memcpy(doc->names + doc->n_names, s, n);
	doc->n_names += n;
	w->name.len += n;
	return 0;
}

static int md_text(MD_TEXTTYPE type, const MD_CHAR *s, MD_SIZE size, void *ud)
{
	struct md_walk *w = ud;

	note_ptr(w, s);
	if (w->depth < 2 || w->level == 0)
		return 0;
	switch (type) {
	case MD_TEXT_NORMAL:
	case MD_TEXT_CODE:
	case MD_TEXT_ENTITY:
	case MD_TEXT_LATEXMATH:
		break;
	case MD_TEXT_BR:
	case MD_TEXT_SOFTBR:
		s = " ";
		size = 1;
		break;
	default:
		return 0; /* raw HTML and NUL replacements are not heading text */
	}
	if (append_name(w, s, size) < 0) {
		w->failed = 1;
		return -1;
	}
	return 0;
}

static int split_markdown(struct packer *p, const char *text, size_t len, dp_err *err)
{
	chunk_doc *doc = p->doc;
	struct md_walk w = {.doc = doc, .text = text, .len = len, .err = err,
			    .last_start = NO_START};
	MD_PARSER parser = {
		.abi_version = 0,
		.flags = MD_DIALECT_GITHUB,
		.enter_block = md_enter,
		.leave_block = md_leave,
		.enter_span = md_span,
		.leave_span = md_span,
		.text = md_text,
	};

	if (len > UINT32_MAX) {
		dp_err_set(err, "document too large for the Markdown parser");
		return -1;
	}
	if (md_parse(text, (MD_SIZE)len, &parser, &w) != 0) {
		if (!w.failed)
			dp_err_set(err, "the Markdown parser failed");
		return -1;
	}

	chunk_name path[CHUNK_MAX_DEPTH] = {{0, 0}};
	int present[CHUNK_MAX_DEPTH] = {0};
	int pending = 1; /* the next block starts a section */
	int first = 1;
	for (size_t i = 0; i < doc->n_blocks; i++) {
		chunk_block *b = &doc->blocks[i];
		if (b->level >= 1 && b->level <= CHUNK_MAX_DEPTH) {
			path[b->level - 1] = b->name;
			present[b->level - 1] = 1;
			for (int d = b->level; d < CHUNK_MAX_DEPTH; d++)
				present[d] = 0;
			pending = 1;
		}
		if (b->start == NO_START)
			continue;
		size_t end = len;
		for (size_t j = i + 1; j < doc->n_blocks; j++)
			if (doc->blocks[j].start != NO_START) {
				end = doc->blocks[j].start;
				break;
			}
		if (pending && new_section(p, path, present) < 0)
			return -1;
		pending = 0;
		/* Text before the first block (link definitions, rules) joins it. */
		if (add_range(p, first ? 0 : b->start, end) < 0)
			return -1;
		first = 0;
	}
	return 0;
}

/* ---- plain text: paragraphs ---- */

static int split_text(struct packer *p, const char *text, size_t len)
{
	static const int none[CHUNK_MAX_DEPTH];
	static const chunk_name path[CHUNK_MAX_DEPTH];
	size_t para = NO_START, at = 0;

	if (new_section(p, path, none) < 0)
		return -1;
	while (at < len) {
		size_t eol = line_end(text, len, at);
		if (is_blank_line(text, at, eol)) {
			if (para != NO_START && add_range(p, para, at) < 0)
				return -1;
			para = NO_START;
		} else if (para == NO_START) {
			para = at;
		}
		at = eol + 1;
	}
	if (para != NO_START && add_range(p, para, len) < 0)
		return -1;
	return 0;
}

int chunk_split(chunk_doc *doc, const char *text, size_t len, enum chunk_format format,
		const chunk_opts *opts, dp_err *err)
{
	struct packer p = {.doc = doc, .u = (const unsigned char *)text, .text = text,
			   .opts = opts, .err = err};
	int rc;

	doc->n_chunks = doc->n_sections = doc->n_names = doc->n_blocks = 0;
	if (chunk_opts_check(opts, err) < 0)
		return -1;
	rc = format == CHUNK_MARKDOWN ? split_markdown(&p, text, len, err) : split_text(&p, text, len);
	if (rc == 0)
		rc = flush_open(&p);
	if (rc < 0)
		doc->n_chunks = doc->n_sections = 0;
	return rc;
}
