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

/* What a top-level block is, for overlap and for splitting it. */
enum block_kind { BLOCK_PROSE = 0, BLOCK_FENCED, BLOCK_VERBATIM, BLOCK_TABLE };

/* A top-level block of the source. */
struct chunk_block {
	size_t start;    /* offset of the block's first line; NO_START if md4c gave no text */
	int level;       /* heading level 1..6, or 0 */
	enum block_kind kind;
	chunk_name name; /* heading text */
};

/* The blocks are kept encoded in doc->blocks (put_block, next_block): a
 * byte of level, kind and whether there is a start, then the start as its
 * distance from the last block's start and a heading's name length, as
 * varints.  Two or three bytes a block instead of a struct of 32 (and an
 * array doubling): a 15 MB file of 5M one-letter paragraphs held 256 MB
 * of them.  Starts ascend (md_leave), and the names follow one another in
 * doc->names, so a block's name offset is the sum of the lengths before
 * it. */
#define BLOCK_HAS_START 0x20
#define BLOCK_BYTES_MAX (1 + 2 * 10) /* a tag and two varints of 64 bits */

/* Where next_block reads: the byte, the last start, the next name's offset. */
struct block_iter {
	size_t pos, start, name_off;
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
	if (opts->min_tokens > opts->max_tokens) {
		dp_err_set(err, "--min-tokens must be at most --max-tokens (%zu)", opts->max_tokens);
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
	free(doc->verbatim);
	free(doc->starts);
	free(doc->scratch);
	chunk_doc_init(doc);
}

static int too_complex(dp_err *err, size_t max, const char *what)
{
	dp_err_set(err, "document too complex: more than %zu %s", max, what);
	return -1;
}

/* Makes room for `need` elements of `size` bytes in *arr, at most `max`.
 * Returns 0, or -1 with err set. */
static int grow(void **arr, size_t *cap, size_t need, size_t size, size_t max, dp_err *err)
{
	if (need <= *cap)
		return 0;
	if (need > max)
		return too_complex(err, max, size == 1 ? "bytes of headings" : "blocks or chunks");
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

/* Whether the line at `at` opens or closes a fence of character fc: up to
 * three spaces (any spaces, tabs and '>' when lenient: inside lists and
 * quotes), then at least three fc. */
static int is_fence_at(const char *text, size_t len, size_t at, char fc, int lenient)
{
	size_t i = at, n = 0;

	if (fc != '`' && fc != '~')
		return 0;
	while (i < len && (lenient ? text[i] == ' ' || text[i] == '\t' || text[i] == '>'
				   : i - at < 3 && text[i] == ' '))
		i++;
	while (i < len && text[i] == fc)
		i++, n++;
	return n >= 3;
}

static size_t first_nonspace(const char *text, size_t len, size_t at)
{
	while (at < len && text[at] == ' ')
		at++;
	return at;
}

/* Removes every open...close (both included) from s[0..n); an unclosed
 * open is kept.  Returns the new length. */
static size_t drop_between(char *s, size_t n, const char *open, const char *close)
{
	size_t ol = strlen(open), cl = strlen(close), o = 0, i = 0;

	while (i < n) {
		const char *brace = memchr(s + i, open[0], n - i);
		size_t at = brace != NULL ? (size_t)(brace - s) : n;
		memmove(s + o, s + i, at - i);
		o += at - i;
		i = at;
		if (i >= n)
			break;
		char *e = n - i >= ol && memcmp(s + i, open, ol) == 0
				  ? memmem(s + i + ol, n - i - ol, close, cl)
				  : NULL;
		if (e != NULL) {
			i = (size_t)(e - s) + cl;
		} else {
			s[o++] = s[i++];
		}
	}
	return o;
}

/* Cleans a heading's text (as md4c gave it: inline markup and raw HTML such
 * as <!-- comments --> already left out) in place and returns its new
 * length: MDX comments {/ * ... * /} (md4c reads their stars as emphasis,
 * so "{/...\/}" is what is left), Hugo shortcodes {{< ... >}} and
 * {{% ... %}}, a trailing attribute block {#id ...} or {.class ...} and
 * trailing '#'s are dropped; white space runs become one space, trimmed.
 * Invisible format characters (bidi overrides and isolates ...:
 * dp_invisible_format) are dropped first: a heading path is shown to users
 * and quoted in citations, where an override makes it read as another. */
static size_t clean_heading(char *s, size_t n)
{
	n = dp_utf8_drop_invisible(s, n);
	n = drop_between(s, n, "{/", "/}");
	n = drop_between(s, n, "{{<", ">}}");
	n = drop_between(s, n, "{{%", "%}}");
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int sp = is_space((unsigned char)s[i]);
		if (sp && (o == 0 || s[o - 1] == ' '))
			continue;
		s[o++] = sp ? ' ' : s[i];
	}
	for (;;) {
		while (o > 0 && s[o - 1] == ' ')
			o--;
		char *brace = o > 0 && s[o - 1] == '}' ? memrchr(s, '{', o) : NULL;
		if (brace != NULL && brace + 1 < s + o && (brace[1] == '#' || brace[1] == '.')) {
			o = (size_t)(brace - s);
			continue;
		}
		size_t k = o;
		while (k > 0 && s[k - 1] == '#')
			k--;
		if (k < o && (k == 0 || s[k - 1] == ' ')) {
			o = k;
			continue;
		}
		return o;
	}
}

/* ---- packing blocks of one section into chunks ---- */

/* A block being added: [start, end) trimmed, what it is and, for a block
 * that may be split with repeated lines, those lines. */
struct block_in {
	size_t start, end;
	int heading;
	enum block_kind kind;
	size_t head_end;              /* prefix [start, head_end): fence line, table header */
	size_t close_start, close_end; /* suffix: the closing fence line, or empty */
};

struct packer {
	chunk_doc *doc;
	const unsigned char *u;
	const char *text;
	const chunk_opts *opts;
	dp_err *err;
	size_t section; /* section of the text added from now on */
	int level;      /* its heading level (0: none) */
	int open;       /* a chunk [cur_start, cur_end) is being filled */
	size_t cur_start, cur_end, cur_tokens, cur_section;
	dp_tokens_counts cur_counts; /* of [cur_start, cur_end): its exact estimate, not
				      * cur_tokens (a sum of its blocks' estimates) */
	int cur_content; /* it holds more than heading lines */
	int cur_level;   /* smallest heading level in it (its first section's level) */
	int cur_keep;    /* its path is the running path's levels 1..cur_keep */
	int last_level;  /* cur_level of the last chunk when flush_open made it, else -1 */
	int have_prev;   /* the section already has a chunk [prev_start, prev_end) */
	size_t prev_start, prev_end;
	/* The running heading path, by level, and which levels are set: the
	 * packer's own, so nothing points at a split function's frame once it
	 * returns (plain text keeps them empty). */
	chunk_name path[CHUNK_MAX_DEPTH];
	int present[CHUNK_MAX_DEPTH];
};

static size_t tokens(const struct packer *p, size_t from, size_t to)
{
	return dp_tokens_estimate(p->text + from, to - from);
}

/* tokens(p, from, to) when that is at most limit, else more than limit:
 * limit + 1 without counting when the range is too long to be within it
 * (valid UTF-8 estimates at least a token per 4 bytes).  The checks of a
 * range since the last chunk use it: that range can span what the pieces
 * dropped as blank, so a count per piece was quadratic (8 MB of spaces in
 * a code block: 3.2 s; an 11 KB ODT that makes 200 MB of them: minutes). */
static size_t tokens_upto(const struct packer *p, size_t from, size_t to, size_t limit)
{
	return to - from > 4 * limit ? limit + 1 : tokens(p, from, to);
}

static dp_tokens_counts counts(const struct packer *p, size_t from, size_t to)
{
	return dp_tokens_count(p->text + from, to - from);
}

static dp_tokens_counts counts_add(dp_tokens_counts a, dp_tokens_counts b)
{
	return (dp_tokens_counts){.ascii = a.ascii + b.ascii, .other = a.other + b.other};
}

/* Narrows [*start, *end) to leave out trailing white space and leading
 * blank lines. */
static void trim(const char *text, size_t *start, size_t *end)
{
	while (*end > *start && is_space((unsigned char)text[*end - 1]))
		--*end;
	while (*start < *end) {
		size_t eol = line_end(text, *end, *start);
		if (eol >= *end || !is_blank_line(text, *start, eol))
			break;
		*start = eol + 1;
	}
}

/* The verbatim range with r.start < at < r.end, or NULL. */
static const chunk_vrange *inside_verbatim(const chunk_doc *doc, size_t at)
{
	size_t lo = 0, hi = doc->n_verbatim;

	while (lo < hi) { /* first range starting at or after `at` */
		size_t mid = lo + (hi - lo) / 2;
		if (doc->verbatim[mid].start < at)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || doc->verbatim[lo - 1].end <= at)
		return NULL;
	return &doc->verbatim[lo - 1];
}

/* Emits [start, end) (trimmed; dropped when empty) as a chunk of section
 * `section`, with the prefix [pre, pre_end) and suffix [suf, suf_end) when
 * those are not empty.  known: the counts of [start, end) as given, or
 * NULL (then they are counted). */
static int emit(struct packer *p, size_t start, size_t end, size_t section, size_t pre,
		size_t pre_end, size_t suf, size_t suf_end, const dp_tokens_counts *known)
{
	chunk_doc *doc = p->doc;
	size_t given_start = start, given_end = end;

	trim(p->text, &start, &end);
	if (start >= end)
		return 0;
	if (grow((void **)&doc->chunks, &doc->cap_chunks, doc->n_chunks + 1, sizeof *doc->chunks,
		 CHUNK_MAX_ITEMS, p->err) < 0)
		return -1;
	chunk_span *c = &doc->chunks[doc->n_chunks];
	*c = (chunk_span){.off = start, .len = end - start, .pre_off = pre,
			  .pre_len = pre_end - pre, .suf_off = suf, .suf_len = suf_end - suf,
			  .section = section};
	if (c->pre_len == 0 && c->suf_len == 0) {
		c->tokens = known != NULL && start == given_start && end == given_end
				    ? dp_tokens_of(*known)
				    : tokens(p, start, end);
	} else {
		size_t n;
		const char *t = chunk_text(doc, c, p->text, &n);
		if (t == NULL) {
			dp_err_set(p->err, "out of memory");
			return -1;
		}
		c->tokens = dp_tokens_estimate(t, n);
	}
	doc->n_chunks++;
	p->last_level = -1; /* flush_open sets it for a chunk that may take in the next */
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
	if (emit(p, p->cur_start, p->cur_end, p->cur_section, 0, 0, 0, 0, &p->cur_counts) < 0)
		return -1;
	p->last_level = p->cur_level;
	return 0;
}

/* Opens the chunk [start, end) of counts c; t is the estimate its later
 * growth adds to. */
static void open_chunk(struct packer *p, size_t start, size_t end, size_t t, dp_tokens_counts c,
		       int content)
{
	p->open = 1;
	p->cur_start = start;
	p->cur_end = end;
	p->cur_tokens = t;
	p->cur_counts = c;
	p->cur_section = p->section;
	p->cur_content = content;
	p->cur_level = p->level;
	p->cur_keep = p->level;
}

size_t chunk_first_at(const size_t *a, size_t n, size_t at)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (a[mid] < at)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Start of the overlap carried from the previous chunk: about opts->overlap
 * tokens before its end, moved forward to the next word start, and out of
 * any code block, table or HTML block it falls in.  Returns prev_end when
 * there is nothing to carry, or when the whole previous chunk would be
 * repeated. */
static size_t overlap_start(const struct packer *p)
{
	size_t ascii = 0, other = 0, i = p->prev_end;
	const unsigned char *u = p->u;

	if (!p->have_prev || p->opts->overlap == 0)
		return p->prev_end;
	/* dp_tokens_estimate's formula, kept incrementally (one pass instead of
	 * one estimate per candidate start). */
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
	/* Whole blocks: from the first block start at or after i; none if that
	 * is not in the previous chunk, unless i is in the block being split
	 * (the last one packed: a piece of a long block overlaps from a word). */
	const chunk_doc *doc = p->doc;
	size_t lo = chunk_first_at(doc->starts, doc->n_starts, i);
	if (lo < doc->n_starts)
		i = doc->starts[lo] < p->prev_end ? doc->starts[lo] : p->prev_end;
	const chunk_vrange *r = inside_verbatim(p->doc, i);
	if (r != NULL)
		for (i = r->end; i < p->prev_end && is_space(u[i]);)
			i++;
	return i < p->prev_end ? i : p->prev_end;
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
 * `fresh` on (piece <= fresh < end, and tokens(piece..fresh) is below
 * `max`): the end of the block if it fits, else the best boundary after
 * `fresh` keeping the piece within `max` tokens: a line end (any line end
 * when `lines`, else in the second half of the new text), then a space,
 * then either past the first quarter of the new text; a code point
 * boundary if none exists.  A cut inside a nested code block
 * moves back to its start when that keeps some new text.  Always > fresh. */
static size_t cut(const struct packer *p, size_t piece, size_t fresh, size_t end, size_t max,
		  int lines)
{
	const unsigned char *u = p->u;
	size_t ascii = 0, other = 0, i = piece;

	/* dp_tokens_estimate's formula with one more code point, kept
	 * incrementally (one pass instead of a search over estimates). */
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
	/* A boundary in the first quarter of the new text would make a piece
	 * of little but what comes before it: a 1 MB heading line without a
	 * space after "# " gave a chunk "#", the whole line in the next ones. */
	size_t half = fresh + (i - fresh) / 2, quarter = fresh + (i - fresh) / 4, c = i;
	size_t nl = last_after(u, fresh, i, '\n', '\n');
	size_t sp = last_after(u, fresh, i, ' ', '\t');
	if (nl > half || (nl && lines))
		c = nl;
	else if (sp > half)
		c = sp;
	else if (nl > quarter)
		c = nl;
	else if (sp > quarter)
		c = sp;
	const chunk_vrange *r = inside_verbatim(p->doc, c);
	if (r != NULL && r->start > fresh && !is_blank_line(p->text, fresh, r->start))
		c = r->start;
	return c;
}

/* Splits the block b, larger than the room left, into pieces; the first
 * starts at `piece` (the open chunk's start, or an overlap, or b->start).
 * Pieces of a fenced block or table repeat its lines (struct block_in)
 * when those are small. */
static int split_block(struct packer *p, const struct block_in *b, size_t piece,
		       size_t piece_section)
{
	size_t max = p->opts->max_tokens, fresh = b->start;
	size_t pre_t = b->head_end > b->start ? tokens(p, b->start, b->head_end) : 0;
	size_t suf_t = b->close_end > b->close_start ? tokens(p, b->close_start, b->close_end) : 0;
	int repeat = b->kind == BLOCK_FENCED || b->kind == BLOCK_TABLE;

	if (pre_t + suf_t + 1 > max / 4)
		repeat = 0;
	for (;;) {
		int pre = repeat && piece >= b->head_end;
		size_t room = repeat ? max - pre_t - suf_t - 1 : max;
		size_t c = cut(p, piece, fresh, b->end, room, b->kind != BLOCK_PROSE);
		if (c >= b->end && !pre) {
			dp_tokens_counts rest = counts(p, piece, b->end);
			open_chunk(p, piece, b->end, dp_tokens_of(rest), rest, 1);
			p->cur_section = piece_section;
			return 0;
		}
		int suf = repeat && c < b->end;
		if (emit(p, piece, c, piece_section, pre ? b->start : 0, pre ? b->head_end : 0,
			 suf ? b->close_start : 0, suf ? b->close_end : 0, NULL) < 0)
			return -1;
		if (c >= b->end)
			return 0;
		fresh = c;
		piece_section = p->section;
		size_t ov = overlap_start(p);
		int carry = p->have_prev && ov <= fresh && tokens_upto(p, ov, fresh, max / 2) <= max / 2;
		piece = carry ? ov : fresh;
	}
}

/* Drops the block starts before the last chunk's when they are at least
 * half of them: overlap_start looks at the starts inside the last chunk
 * only, and chunks start in source order (prev_start never goes back).
 * Every block's start was kept: 40 MB for 5M one-letter paragraphs. */
static void drop_starts(struct packer *p)
{
	chunk_doc *doc = p->doc;
	size_t lo = chunk_first_at(doc->starts, doc->n_starts, p->prev_start);

	if (lo == 0 || lo < doc->n_starts / 2)
		return; /* the array grows instead: a move per block would be quadratic */
	memmove(doc->starts, doc->starts + lo, (doc->n_starts - lo) * sizeof *doc->starts);
	doc->n_starts -= lo;
}

/* Adds the block b (trimmed, non-empty) to the section's chunks. */
static int add_block(struct packer *p, const struct block_in *b)
{
	size_t max = p->opts->max_tokens;
	dp_tokens_counts bc = counts(p, b->start, b->end);
	size_t t = dp_tokens_of(bc);
	size_t piece = NO_START, piece_section = p->section;
	chunk_doc *doc = p->doc;

	if (doc->n_starts == doc->cap_starts)
		drop_starts(p);
	if (grow((void **)&doc->starts, &doc->cap_starts, doc->n_starts + 1, sizeof *doc->starts,
		 CHUNK_MAX_ITEMS, p->err) < 0)
		return -1;
	doc->starts[doc->n_starts++] = b->start;

	if (p->open) {
		size_t gap = (b->start - p->cur_end + 3) / 4; /* white space between blocks */
		dp_tokens_counts upto = counts_add(p->cur_counts, counts(p, p->cur_end, b->start));
		if (p->cur_tokens + gap + t <= max) {
			p->cur_end = b->end;
			p->cur_tokens += gap + t;
			p->cur_counts = counts_add(upto, bc);
			p->cur_content |= !b->heading;
			return 0;
		}
		/* A heading alone, or a small chunk before a block too large for
		 * any chunk, is filled up with the block's first piece. */
		if (dp_tokens_of(upto) <= max / 2 && (!p->cur_content || t > max)) {
			piece = p->cur_start;
			piece_section = p->cur_section;
			p->open = 0;
		} else if (flush_open(p) < 0) {
			return -1;
		}
	}
	size_t ov = overlap_start(p);
	if (piece == NO_START && t <= max) {
		dp_tokens_counts oc = p->have_prev && ov < p->prev_end ? counts(p, ov, b->start)
								       : (dp_tokens_counts){0, 0};
		size_t ot = dp_tokens_of(oc);
		int carry = ot > 0 && ot + t <= max;
		open_chunk(p, carry ? ov : b->start, b->end, carry ? ot + t : t,
			   carry ? counts_add(oc, bc) : bc, !b->heading);
		return 0;
	}
	if (piece == NO_START)
		piece = p->have_prev && tokens_upto(p, ov, b->start, max / 2) <= max / 2 ? ov : b->start;
	return split_block(p, b, piece, piece_section);
}

static int same_name(const chunk_doc *doc, const chunk_name *a, const chunk_name *b)
{
	/* names is NULL while no heading has text: empty names are equal
	 * without touching it (NULL + 0 is undefined behaviour). */
	return a->len == b->len &&
	       (a->len == 0 || memcmp(doc->names + a->off, doc->names + b->off, a->len) == 0);
}

static int push_section(struct packer *p, int keep)
{
	chunk_doc *doc = p->doc;

	if (grow((void **)&doc->sections, &doc->cap_sections, doc->n_sections + 1,
		 sizeof *doc->sections, CHUNK_MAX_ITEMS, p->err) < 0)
		return -1;
	chunk_section *s = &doc->sections[doc->n_sections];
	s->depth = 0;
	for (int i = 0; i < keep && i < CHUNK_MAX_DEPTH; i++)
		if (p->present[i] && !(s->depth > 0 && same_name(doc, &s->path[s->depth - 1], &p->path[i])))
			s->path[s->depth++] = p->path[i];
	return 0;
}

/* The open chunk, a whole section under min_tokens, joins the chunk just
 * before it when that came from the same parent (its sibling or parent)
 * and there is room; the path is what both share.  Returns 1 when done. */
static int merge_back(struct packer *p)
{
	chunk_doc *doc = p->doc;

	if (!p->open || p->have_prev || !p->cur_content || p->cur_tokens >= p->opts->min_tokens ||
	    p->last_level < 0 || p->cur_level < p->last_level || doc->n_chunks == 0)
		return 0;
	chunk_span *c = &doc->chunks[doc->n_chunks - 1];
	size_t t = tokens_upto(p, c->off, p->cur_end, p->opts->max_tokens);
	if (t > p->opts->max_tokens || c->off + c->len > p->cur_start)
		return 0;
	if (grow((void **)&doc->sections, &doc->cap_sections, doc->n_sections + 1,
		 sizeof *doc->sections, CHUNK_MAX_ITEMS, p->err) < 0)
		return -1;
	const chunk_section *a = &doc->sections[c->section], *b = &doc->sections[p->cur_section];
	chunk_section *m = &doc->sections[doc->n_sections];
	m->depth = 0;
	while (m->depth < a->depth && m->depth < b->depth &&
	       same_name(doc, &a->path[m->depth], &b->path[m->depth])) {
		m->path[m->depth] = a->path[m->depth];
		m->depth++;
	}
	c->section = doc->n_sections++;
	c->len = p->cur_end - c->off;
	c->tokens = t;
	p->open = 0;
	return 1;
}

/* Drops the sections nothing refers to: every heading pushes one or two,
 * but a run of headings that goes into one chunk leaves one referred to,
 * so a 16 MiB file of 4M one-word headings held 8M sections of 104 bytes
 * (1 GB).  Called when the array is full, by new_section alone: then the
 * chunks, p->section and p->cur_section are the only indices held.  Keeps
 * the order; leaves the array at most half full (it grows when more of it
 * is in use), so each section is moved O(1) times on average.  Returns 0,
 * or -1 with err set. */
static int compact_sections(struct packer *p)
{
	chunk_doc *doc = p->doc;
	size_t n = doc->n_sections, kept = 0;
	size_t *map = calloc(n, sizeof *map); /* 1 when kept, then its new index */

	if (map == NULL) {
		dp_err_set(p->err, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < doc->n_chunks; i++)
		map[doc->chunks[i].section] = 1;
	map[p->section] = map[p->cur_section] = 1;
	for (size_t i = 0; i < n; i++)
		if (map[i]) {
			doc->sections[kept] = doc->sections[i];
			map[i] = kept++;
		}
	for (size_t i = 0; i < doc->n_chunks; i++)
		doc->chunks[i].section = map[doc->chunks[i].section];
	p->section = map[p->section];
	p->cur_section = map[p->cur_section];
	doc->n_sections = kept;
	free(map);
	if (kept > doc->cap_sections / 2)
		return grow((void **)&doc->sections, &doc->cap_sections, doc->cap_sections + 1,
			    sizeof *doc->sections, CHUNK_MAX_ITEMS, p->err);
	return 0;
}

/* A heading of `level` (0: the document's start) begins a section; the
 * running path already holds it.  The open chunk takes it in when it is a
 * heading alone, or a whole section under min_tokens and the new heading
 * is its sibling or child (see chunker.h). */
static int new_section(struct packer *p, int level)
{
	chunk_doc *doc = p->doc;
	int merge = p->open && !p->have_prev &&
		    (!p->cur_content ||
		     (p->cur_tokens < p->opts->min_tokens && level >= p->cur_level));

	/* Room for the two sections pushed below, unused ones dropped first. */
	if (doc->n_sections + 2 > doc->cap_sections && doc->n_sections > 0 &&
	    compact_sections(p) < 0)
		return -1;
	if (merge) {
		int keep = level > p->cur_level ? p->cur_level : (level < p->cur_level ? level : p->cur_level) - 1;
		if (keep > p->cur_keep)
			keep = p->cur_keep;
		if (push_section(p, keep) < 0)
			return -1;
		p->cur_section = doc->n_sections++;
		p->cur_keep = keep;
		if (level < p->cur_level)
			p->cur_level = level;
	} else if (merge_back(p) < 0 || flush_open(p) < 0) {
		return -1;
	}
	if (push_section(p, CHUNK_MAX_DEPTH) < 0)
		return -1;
	p->section = doc->n_sections++;
	p->level = level;
	p->have_prev = 0;
	return 0;
}

/* Adds the source range [start, end) as one block of kind `kind`: trailing
 * white space and leading blank lines do not belong to it. */
static int add_range(struct packer *p, size_t start, size_t end, int heading, enum block_kind kind)
{
	trim(p->text, &start, &end);
	if (start >= end)
		return 0;
	struct block_in b = {.start = start, .end = end, .heading = heading, .kind = kind};
	char fence = p->text[first_nonspace(p->text, end, start)];
	if (kind == BLOCK_FENCED && !is_fence_at(p->text, end, start, fence, 0))
		b.kind = kind = BLOCK_VERBATIM; /* text before the first block came first */
	if (kind == BLOCK_FENCED || kind == BLOCK_TABLE) {
		b.head_end = line_end(p->text, end, start);
		if (kind == BLOCK_TABLE && b.head_end < end)
			b.head_end = line_end(p->text, end, b.head_end + 1);
		if (kind == BLOCK_FENCED && b.head_end < end) {
			size_t ls = line_start(p->text, end);
			if (ls > b.head_end && is_fence_at(p->text, end, ls, fence, 0)) {
				b.close_start = ls;
				b.close_end = end;
			}
		}
	}
	return add_block(p, &b);
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
	enum block_kind kind;
	char fence;       /* fence character of a top-level fenced code block, or 0 */
	size_t last_start;
	enum block_kind last_kind; /* of the block at last_start */
	int h1;           /* a top-level H1 was seen */
	chunk_name name;
	char nested_fence; /* a fenced code block inside a top-level block ... */
	size_t nested_first, nested_last; /* ... and its source text seen so far */
};

static void note_ptr(struct md_walk *w, const MD_CHAR *s, MD_SIZE size)
{
	uintptr_t a = (uintptr_t)s, b = (uintptr_t)w->text;

	/* md4c hands out pointers into our buffer for source text and to its
	 * own constants for synthesized text ("\n", U+FFFD): keep the former. */
	if (a < b || a >= b + w->len)
		return;
	if (a - b < w->first)
		w->first = a - b;
	if (w->nested_fence) {
		if (a - b < w->nested_first)
			w->nested_first = a - b;
		if (a - b + size > w->nested_last)
			w->nested_last = a - b + size;
	}
}

static void put_varint(unsigned char *out, size_t *at, size_t v)
{
	for (; v >= 0x80; v >>= 7)
		out[(*at)++] = (unsigned char)(v | 0x80);
	out[(*at)++] = (unsigned char)v;
}

static size_t get_varint(const unsigned char *in, size_t *at)
{
	size_t v = 0;

	for (unsigned shift = 0;; shift += 7) {
		unsigned char c = in[(*at)++];
		v |= (size_t)(c & 0x7F) << shift;
		if (c < 0x80)
			return v;
	}
}

/* Appends block b to doc->blocks; last: the start of the last block with
 * one (0 for none), below b's.  Returns 0, or -1 with err set. */
static int put_block(chunk_doc *doc, size_t last, const struct chunk_block *b, dp_err *err)
{
	if (doc->n_blocks >= CHUNK_MAX_ITEMS)
		return too_complex(err, CHUNK_MAX_ITEMS, "blocks or chunks");
	if (doc->len_blocks + BLOCK_BYTES_MAX > doc->cap_blocks &&
	    grow((void **)&doc->blocks, &doc->cap_blocks, doc->len_blocks + BLOCK_BYTES_MAX, 1,
		 CHUNK_MAX_ITEMS * BLOCK_BYTES_MAX, err) < 0)
		return -1;
	doc->blocks[doc->len_blocks++] = (unsigned char)((unsigned)b->level | (unsigned)b->kind << 3 |
						(b->start != NO_START ? BLOCK_HAS_START : 0));
	if (b->start != NO_START)
		put_varint(doc->blocks, &doc->len_blocks, b->start - last);
	if (b->level > 0)
		put_varint(doc->blocks, &doc->len_blocks, b->name.len);
	doc->n_blocks++;
	return 0;
}

/* The block at *it into *b, *it moved past it; 0 after the last one. */
static int next_block(const chunk_doc *doc, struct block_iter *it, struct chunk_block *b)
{
	if (it->pos >= doc->len_blocks)
		return 0;
	unsigned tag = doc->blocks[it->pos++];
	b->level = (int)(tag & 7);
	b->kind = (enum block_kind)(tag >> 3 & 3);
	b->start = NO_START;
	if (tag & BLOCK_HAS_START)
		b->start = it->start += get_varint(doc->blocks, &it->pos);
	b->name = (chunk_name){.off = it->name_off,
			       .len = b->level > 0 ? get_varint(doc->blocks, &it->pos) : 0};
	it->name_off += b->name.len;
	return 1;
}

static int md_enter(MD_BLOCKTYPE type, void *detail, void *ud)
{
	struct md_walk *w = ud;

	if (++w->depth > 2 && type == MD_BLOCK_CODE && ((MD_BLOCK_CODE_DETAIL *)detail)->fence_char) {
		w->nested_fence = ((MD_BLOCK_CODE_DETAIL *)detail)->fence_char;
		w->nested_first = NO_START;
		w->nested_last = 0;
	}
	if (w->depth != 2)
		return 0;
	w->first = NO_START;
	w->level = type == MD_BLOCK_H ? (int)((MD_BLOCK_H_DETAIL *)detail)->level : 0;
	w->kind = type == MD_BLOCK_TABLE ? BLOCK_TABLE
		  : type == MD_BLOCK_HTML || type == MD_BLOCK_CODE ? BLOCK_VERBATIM : BLOCK_PROSE;
	w->fence = 0;
	w->name = (chunk_name){.off = w->doc->n_names, .len = 0};
	if (type == MD_BLOCK_CODE) {
		MD_BLOCK_CODE_DETAIL *code = detail;
		w->fence = code->fence_char;
		if (w->fence)
			w->kind = BLOCK_FENCED;
		if (code->info.size > 0)
			note_ptr(w, code->info.text, code->info.size);
	}
	return 0;
}

/* Start of the fence line above the code text starting at `start` (across
 * blank lines), or start when there is none. */
static size_t fence_above(const struct md_walk *w, size_t start, char fence, int nested)
{
	for (size_t s = start; !is_fence_at(w->text, w->len, s, fence, nested) && s > 0;) {
		s = line_start(w->text, s - 1);
		if (is_fence_at(w->text, w->len, s, fence, nested))
			return s;
		if (!is_blank_line(w->text, s, line_end(w->text, w->len, s)))
			break;
	}
	return start;
}

static int add_verbatim(chunk_doc *doc, size_t start, size_t end, dp_err *err)
{
	if (grow((void **)&doc->verbatim, &doc->cap_verbatim, doc->n_verbatim + 1,
		 sizeof *doc->verbatim, CHUNK_MAX_ITEMS, err) < 0)
		return -1;
	doc->verbatim[doc->n_verbatim++] = (chunk_vrange){start, end};
	return 0;
}

/* A fenced code block inside a list or quote ends: its range, fences
 * included, becomes a verbatim range (overlaps and cuts avoid it). */
static int nested_fence_done(struct md_walk *w)
{
	char fence = w->nested_fence;

	w->nested_fence = 0;
	if (w->nested_first == NO_START)
		return 0;
	size_t start = fence_above(w, line_start(w->text, w->nested_first), fence, 1);
	size_t end = line_end(w->text, w->len, w->nested_last > 0 ? w->nested_last - 1 : 0);
	if (end < w->len && is_fence_at(w->text, w->len, end + 1, fence, 1))
		end = line_end(w->text, w->len, end + 1);
	return add_verbatim(w->doc, start, end, w->err);
}

/* The block with text before `end` (the next one's start, or the text's
 * end) ends there: a code block, table or HTML block joins the nested
 * fenced blocks as a verbatim range (sorted once all are in). */
static int verbatim_ends(struct md_walk *w, size_t end)
{
	size_t s = w->last_start;

	if (s == NO_START || w->last_kind == BLOCK_PROSE)
		return 0; /* (md_leave checks the kind first: called per block) */
	trim(w->text, &s, &end);
	return s < end ? add_verbatim(w->doc, s, end, w->err) : 0;
}

static int md_leave(MD_BLOCKTYPE type, void *detail, void *ud)
{
	struct md_walk *w = ud;
	size_t start = NO_START;

	(void)detail;
	if (w->depth > 2 && type == MD_BLOCK_CODE && w->nested_fence && nested_fence_done(w) < 0) {
		w->failed = 1;
		return -1;
	}
	if (w->depth-- != 2)
		return 0;
	if (w->first != NO_START) {
		start = line_start(w->text, w->first);
		/* Code text starts below the opening fence (and any blank lines). */
		if (w->fence)
			start = fence_above(w, start, w->fence, 0);
		/* Blocks come in source order; anything else is not trusted. */
		if (w->last_start != NO_START && start <= w->last_start)
			start = NO_START;
	}
	if (w->level > 0 && w->name.len > 0)
		w->doc->n_names = w->name.off + clean_heading(w->doc->names + w->name.off, w->name.len);
	w->name.len = w->doc->n_names - w->name.off;
	/* A block without source text (a rule, an empty heading) belongs to
	 * the block before it; only a heading still matters for the path. */
	if (start == NO_START && w->level == 0)
		return 0;
	size_t last = w->last_start != NO_START ? w->last_start : 0;
	w->h1 |= w->level == 1;
	if (start != NO_START) {
		if (w->last_kind != BLOCK_PROSE && verbatim_ends(w, start) < 0) {
			w->failed = 1;
			return -1;
		}
		w->last_start = start;
		w->last_kind = w->kind;
	}
	if (put_block(w->doc, last,
		      &(struct chunk_block){.start = start, .level = w->level, .kind = w->kind,
					    .name = w->name},
		      w->err) < 0) {
		w->failed = 1;
		return -1;
	}
	return 0;
}

static int md_span(MD_SPANTYPE type, void *detail, void *ud)
{
	(void)type;
	(void)detail;
	(void)ud;
	return 0;
}

static int append_name(chunk_doc *doc, chunk_name *name, const char *s, size_t n, dp_err *err)
{
	if (name->len + n > CHUNK_HEADING_MAX)
		n = dp_utf8_floor(s, CHUNK_HEADING_MAX - name->len);
	if (n == 0)
		return 0;
	if (grow((void **)&doc->names, &doc->cap_names, doc->n_names + n, 1, CHUNK_MAX_NAMES,
		 err) < 0)
		return -1;
	memcpy(doc->names + doc->n_names, s, n);
	doc->n_names += n;
	name->len += n;
	return 0;
}

static int md_text(MD_TEXTTYPE type, const MD_CHAR *s, MD_SIZE size, void *ud)
{
	struct md_walk *w = ud;

	note_ptr(w, s, size);
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
		return 0; /* raw HTML (comments, tags) and NUL replacements are not heading text */
	}
	if (append_name(w->doc, &w->name, s, size, w->err) < 0) {
		w->failed = 1;
		return -1;
	}
	return 0;
}

static int parse_markdown(struct md_walk *w, const char *text, size_t len, dp_err *err)
{
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
	if (md_parse(text, (MD_SIZE)len, &parser, w) != 0) {
		if (!w->failed)
			dp_err_set(err, "the Markdown parser failed");
		return -1;
	}
	return 0;
}

static int cmp_vrange(const void *a, const void *b)
{
	const chunk_vrange *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* The start of the first block with text from `at` on, or len. */
static size_t block_end(const chunk_doc *doc, struct block_iter at, size_t len)
{
	struct chunk_block b;

	while (next_block(doc, &at, &b))
		if (b.start != NO_START)
			return b.start;
	return len;
}

static int split_markdown(struct packer *p, const char *text, size_t len, const char *title,
			  size_t title_len, dp_err *err)
{
	chunk_doc *doc = p->doc;
	struct md_walk w = {.doc = doc, .text = text, .len = len, .err = err,
			    .last_start = NO_START};

	if (parse_markdown(&w, text, len, err) < 0 || verbatim_ends(&w, len) < 0)
		return -1;
	if (doc->n_verbatim > 1)
		qsort(doc->verbatim, doc->n_verbatim, sizeof *doc->verbatim, cmp_vrange);

	chunk_name *path = p->path;
	int *present = p->present;
	int level = 0;
	if (title != NULL && title_len > 0 && !w.h1) {
		path[0].off = doc->n_names;
		if (append_name(doc, &path[0], title, title_len, err) < 0)
			return -1;
		path[0].len = dp_utf8_drop_invisible(doc->names + path[0].off, path[0].len);
		doc->n_names = path[0].off + path[0].len;
		present[0] = 1;
		level = 1;
	}
	int pending = 1; /* the next block starts a section */
	int first = 1;
	struct block_iter it = {0};
	struct chunk_block blk, next, *b = &blk;
	/* Each block is decoded once: the next one is read ahead for the end
	 * of this one (block_end past it only when it has no text). */
	for (int more = next_block(doc, &it, &next); more;) {
		blk = next;
		more = next_block(doc, &it, &next);
		if (b->level >= 1 && b->level <= CHUNK_MAX_DEPTH) {
			path[b->level - 1] = b->name;
			present[b->level - 1] = 1;
			for (int d = b->level; d < CHUNK_MAX_DEPTH; d++)
				present[d] = 0;
			level = b->level;
			pending = 1;
		}
		if (b->start == NO_START)
			continue;
		if (pending && new_section(p, level) < 0)
			return -1;
		pending = 0;
		size_t end = !more ? len : next.start != NO_START ? next.start : block_end(doc, it, len);
		/* Text before the first block (link definitions, rules) joins it. */
		if (add_range(p, first ? 0 : b->start, end, b->level > 0,
			      first && b->start > 0 ? BLOCK_PROSE : b->kind) < 0)
			return -1;
		first = 0;
	}
	/* No block with source text (an empty fence, a rule, an empty heading
	 * alone): the text is kept as one block all the same (a line of
	 * 100,000 backticks gave no chunk). */
	if (!first)
		return 0;
	if (new_section(p, level) < 0)
		return -1;
	return add_range(p, 0, len, 0, BLOCK_PROSE);
}

/* ---- plain text: paragraphs ---- */

static int split_text(struct packer *p, const char *text, size_t len)
{
	size_t para = NO_START, at = 0;

	if (new_section(p, 0) < 0)
		return -1;
	while (at < len) {
		size_t eol = line_end(text, len, at);
		if (is_blank_line(text, at, eol)) {
			if (para != NO_START && add_range(p, para, at, 0, BLOCK_PROSE) < 0)
				return -1;
			para = NO_START;
		} else if (para == NO_START) {
			para = at;
		}
		at = eol + 1;
	}
	if (para != NO_START && add_range(p, para, len, 0, BLOCK_PROSE) < 0)
		return -1;
	return 0;
}

/* A document ending with a heading alone: it joins the chunk before it
 * when that is adjacent and has room. */
static int finish(struct packer *p)
{
	chunk_doc *doc = p->doc;

	if (p->open && !p->cur_content && doc->n_chunks > 0) {
		chunk_span *c = &doc->chunks[doc->n_chunks - 1];
		size_t t = tokens_upto(p, c->off, p->cur_end, p->opts->max_tokens);
		if (c->suf_len == 0 && c->pre_len == 0 && c->off + c->len <= p->cur_start &&
		    t <= p->opts->max_tokens) {
			c->len = p->cur_end - c->off;
			c->tokens = t;
			p->open = 0;
		}
	}
	if (merge_back(p) < 0)
		return -1;
	return flush_open(p);
}

int chunk_split(chunk_doc *doc, const char *text, size_t len, enum chunk_format format,
		const chunk_opts *opts, const char *title, size_t title_len, dp_err *err)
{
	struct packer p = {.doc = doc, .u = (const unsigned char *)text, .text = text,
			   .opts = opts, .err = err, .last_level = -1};
	int rc;

	doc->n_chunks = doc->n_sections = doc->n_names = doc->n_blocks = doc->n_verbatim = 0;
	doc->len_blocks = 0;
	doc->n_starts = 0;
	if (chunk_opts_check(opts, err) < 0)
		return -1;
	rc = format == CHUNK_MARKDOWN ? split_markdown(&p, text, len, title, title_len, err)
				      : split_text(&p, text, len);
	if (rc == 0)
		rc = finish(&p);
	if (rc < 0)
		doc->n_chunks = doc->n_sections = 0;
	return rc;
}

const char *chunk_text(chunk_doc *doc, const chunk_span *c, const char *text, size_t *len)
{
	if (c->pre_len == 0 && c->suf_len == 0) {
		*len = c->len;
		return text + c->off;
	}
	size_t n = c->len + (c->pre_len ? c->pre_len + 1 : 0) + (c->suf_len ? c->suf_len + 1 : 0);
	if (n > doc->cap_scratch) {
		char *s = realloc(doc->scratch, n);
		if (s == NULL)
			return NULL;
		doc->scratch = s;
		doc->cap_scratch = n;
	}
	char *o = doc->scratch;
	if (c->pre_len) {
		memcpy(o, text + c->pre_off, c->pre_len);
		o += c->pre_len;
		*o++ = '\n';
	}
	memcpy(o, text + c->off, c->len);
	o += c->len;
	if (c->suf_len) {
		*o++ = '\n';
		memcpy(o, text + c->suf_off, c->suf_len);
	}
	*len = n;
	return doc->scratch;
}
