/* PDF to derived Markdown with poppler-glib (convert.h), loaded on the
 * first PDF and called through its table (poppler_dl.h).
 *
 * Text: each page's text in poppler's reading order, split into lines.
 * Running headers and footers: the first and the last line of each page,
 * digits ignored (page numbers), dropped where the same line opens or
 * closes at least half of the pages (and 3 or more).  Paragraphs: lines are
 * joined with a space, or without the hyphen when a line ends in a letter
 * and '-' and the next starts with a lowercase letter; a paragraph ends at
 * a line shorter than 60% of the page's longest line that ends in '.', '!',
 * '?' or ':'.  Paragraphs do not cross pages.
 *
 * Headings: the outline (bookmarks), when the document has one: an entry
 * becomes a heading of its depth where a line of its page matches its
 * title (ignoring case and white space; a title wrapped over two lines is
 * matched by its first line), else at the top of its page.  Without an
 * outline, font size and weight: the body size is the size most characters
 * have; a line of at most 120 bytes whose first character is at least 20%
 * larger is a heading, levels ranked by size (largest: 1); a line of at
 * most 80 bytes set wholly in a bold font of body size or larger, not
 * ending in '.', is a heading one level below the smallest larger size.
 *
 * Provenance: every block carries its 1-based page (page_start/page_end).
 * Refused with a reason: encrypted, damaged, no pages, no text at all
 * (image-only: no OCR). */
#include "convert.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "poppler_dl.h"

#define MAX_OUTLINE 20000
#define MAX_SIZES 64

struct pline {
	size_t off, len; /* bytes of the page text */
	float size;      /* font size of its first character, 0 if unknown */
	unsigned char bold, drop, level;
};

struct ppage {
	char *text;
	struct pline *lines;
	size_t n, maxlen;
};

struct entry {
	int page, level;
	char *title;
	int used;
};

struct pdf {
	const chunk_poppler *pp; /* every poppler and glib call goes through it */
	conv_out *o;
	PopplerDocument *doc;
	struct ppage *pages;
	int n_pages;
	struct entry *outline;
	size_t n_outline;
	int fonts; /* no outline: headings from font sizes */
};

/* ---- lines and their fonts ---- */

/* Splits text into lines (trailing white space trimmed); with attrs, each
 * line gets the size of its first character and whether it is all bold. */
static int split_lines(struct ppage *pg, GList *attrs)
{
	size_t cap = 0, chars = 0, off = 0, len = strlen(pg->text);
	GList *a = attrs;
	while (off < len) {
		size_t eol = off;
		while (eol < len && pg->text[eol] != '\n')
			eol++;
		size_t end = eol;
		while (end > off && isspace((unsigned char)pg->text[end - 1]))
			end--;
		size_t c0 = chars;
		for (size_t i = off; i < eol; i++) /* count code points */
			chars += ((unsigned char)pg->text[i] & 0xC0) != 0x80;
		size_t c1 = chars;
		chars++; /* the newline */
		if (pg->n == cap) {
			cap = cap ? cap * 2 : 64;
			struct pline *p = realloc(pg->lines, cap * sizeof *p);
			if (p == NULL)
				return -1;
			pg->lines = p;
		}
		struct pline *l = &pg->lines[pg->n++];
		*l = (struct pline){.off = off, .len = end - off};
		if (l->len > pg->maxlen)
			pg->maxlen = l->len;
		/* Attribute runs are in text order: skip the ones before the line. */
		while (a != NULL && ((PopplerTextAttributes *)a->data)->end_index < (gint)c0)
			a = a->next;
		int bold = l->len > 0;
		for (GList *b = a; b != NULL && l->len > 0; b = b->next) {
			PopplerTextAttributes *t = b->data;
			if (t->start_index >= (gint)c1)
				break;
			if (l->size == 0)
				l->size = (float)t->font_size;
			if (t->font_name == NULL || strstr(t->font_name, "Bold") == NULL)
				bold = 0;
		}
		l->bold = (unsigned char)(bold && a != NULL);
		off = eol + 1;
	}
	return 0;
}

/* Fills w->pages.  Returns the count of non-space bytes, or -1. */
static long long read_pages(struct pdf *w, dp_err *err)
{
	long long chars = 0;
	w->pages = calloc((size_t)w->n_pages, sizeof *w->pages);
	if (w->pages == NULL) {
		dp_err_set(err, "out of memory for %d pages", w->n_pages);
		return -1;
	}
	for (int i = 0; i < w->n_pages; i++) {
		PopplerPage *page = w->pp->dl_poppler_document_get_page(w->doc, i);
		struct ppage *pg = &w->pages[i];
		if (page == NULL) {
			dp_err_set(err, "damaged PDF: page %d cannot be read", i + 1);
			return -1;
		}
		pg->text = w->pp->dl_poppler_page_get_text(page);
		if (pg->text == NULL)
			pg->text = w->pp->dl_g_strdup("");
		GList *attrs = w->fonts ? w->pp->dl_poppler_page_get_text_attributes(page) : NULL;
		int rc = split_lines(pg, attrs);
		w->pp->dl_poppler_page_free_text_attributes(attrs);
		w->pp->dl_g_object_unref(page);
		if (rc < 0) {
			dp_err_set(err, "out of memory reading page %d", i + 1);
			return -1;
		}
		for (const char *p = pg->text; *p != '\0'; p++)
			chars += !isspace((unsigned char)*p);
	}
	return chars;
}

/* ---- running headers and footers ---- */

struct key {
	char text[96];
	struct pline *line;
};

static void line_key(const struct ppage *pg, const struct pline *l, char *out, size_t size)
{
	size_t k = 0;
	for (size_t i = 0; i < l->len && k + 1 < size; i++) {
		unsigned char c = (unsigned char)pg->text[l->off + i];
		if (isspace(c))
			continue;
		out[k++] = isdigit(c) ? '#' : (char)c;
	}
	out[k] = '\0';
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(((const struct key *)a)->text, ((const struct key *)b)->text);
}

static void drop_running(struct pdf *w)
{
	if (w->n_pages < 3)
		return;
	struct key *keys = calloc((size_t)w->n_pages * 2, sizeof *keys);
	size_t n = 0;
	if (keys == NULL)
		return; /* nothing dropped: a worse text, not a failure */
	for (int i = 0; i < w->n_pages; i++) {
		struct ppage *pg = &w->pages[i];
		size_t first = 0, last = pg->n;
		while (first < pg->n && pg->lines[first].len == 0)
			first++;
		while (last > first && pg->lines[last - 1].len == 0)
			last--;
		if (first >= last)
			continue;
		keys[n].line = &pg->lines[first];
		line_key(pg, keys[n].line, keys[n].text, sizeof keys[n].text);
		n++;
		if (last - 1 > first) {
			keys[n].line = &pg->lines[last - 1];
			line_key(pg, keys[n].line, keys[n].text, sizeof keys[n].text);
			n++;
		}
	}
	qsort(keys, n, sizeof *keys, key_cmp);
	size_t need = (size_t)w->n_pages / 2 > 3 ? (size_t)w->n_pages / 2 : 3;
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i; j < n && strcmp(keys[i].text, keys[j].text) == 0; j++)
			;
		if (j - i >= need && keys[i].text[0] != '\0')
			for (size_t k = i; k < j; k++)
				keys[k].line->drop = 1;
	}
	free(keys);
}

/* ---- headings ---- */

static void outline_walk(struct pdf *w, PopplerIndexIter *it, int level)
{
	const chunk_poppler *pp = w->pp;
	do {
		PopplerAction *act = pp->dl_poppler_index_iter_get_action(it);
		if (act != NULL && act->type == POPPLER_ACTION_GOTO_DEST && act->any.title != NULL &&
		    w->n_outline < MAX_OUTLINE) {
			PopplerDest *d = act->goto_dest.dest, *named = NULL;
			if (d != NULL && d->type == POPPLER_DEST_NAMED)
				d = named = pp->dl_poppler_document_find_dest(w->doc, d->named_dest);
			if (d != NULL && d->page_num >= 1 && d->page_num <= w->n_pages) {
				struct entry *e = &w->outline[w->n_outline++];
				*e = (struct entry){.page = d->page_num, .level = level,
						    .title = pp->dl_g_strdup(act->any.title)};
			}
			if (named != NULL)
				pp->dl_poppler_dest_free(named);
		}
		if (act != NULL)
			pp->dl_poppler_action_free(act);
		PopplerIndexIter *kid = pp->dl_poppler_index_iter_get_child(it);
		if (kid != NULL) {
			outline_walk(w, kid, level + 1);
			pp->dl_poppler_index_iter_free(kid);
		}
	} while (pp->dl_poppler_index_iter_next(it));
}

static void read_outline(struct pdf *w)
{
	PopplerIndexIter *it = w->pp->dl_poppler_index_iter_new(w->doc);
	if (it == NULL)
		return;
	w->outline = calloc(MAX_OUTLINE, sizeof *w->outline);
	if (w->outline != NULL)
		outline_walk(w, it, 1);
	w->pp->dl_poppler_index_iter_free(it);
}

/* Levels from font sizes (no outline): see the comment at the top. */
static void font_levels(struct pdf *w)
{
	float sizes[MAX_SIZES];
	double weight[MAX_SIZES] = {0};
	size_t n = 0;
	for (int i = 0; i < w->n_pages; i++)
		for (size_t k = 0; k < w->pages[i].n; k++) {
			struct pline *l = &w->pages[i].lines[k];
			float s = roundf(l->size * 2) / 2;
			size_t j = 0;
			while (j < n && sizes[j] != s)
				j++;
			if (j == n && n < MAX_SIZES)
				sizes[n++] = s;
			if (j < n)
				weight[j] += (double)l->len;
		}
	size_t body = 0;
	for (size_t j = 1; j < n; j++)
		body = weight[j] > weight[body] ? j : body;
	float base = n > 0 ? sizes[body] : 0;
	for (int i = 0; i < w->n_pages && base > 0; i++)
		for (size_t k = 0; k < w->pages[i].n; k++) {
			struct pline *l = &w->pages[i].lines[k];
			const char *t = w->pages[i].text + l->off;
			int letter = 0;
			for (size_t c = 0; c < l->len && !letter; c++)
				letter = isalpha((unsigned char)t[c]);
			if (l->drop || !letter)
				continue;
			int larger = 0; /* distinct heading sizes above this one */
			for (size_t j = 0; j < n; j++)
				larger += sizes[j] >= base * 1.2f && sizes[j] > l->size + 0.25f;
			if (l->size >= base * 1.2f && l->len <= 120)
				l->level = (unsigned char)(larger + 1 > 6 ? 6 : larger + 1);
			else if (l->bold && l->size >= base - 0.25f && l->len <= 80 && t[l->len - 1] != '.')
				l->level = (unsigned char)(larger + 1 > 6 ? 6 : larger + 1);
		}
}

/* Compares a title with text, ignoring case and white space: returns the
 * number of title bytes text[0..n) matches entirely, or 0. */
static size_t title_match(const char *title, const char *text, size_t n)
{
	size_t i = 0, k = 0;
	while (k < n) {
		while (k < n && isspace((unsigned char)text[k]))
			k++;
		while (title[i] != '\0' && isspace((unsigned char)title[i]))
			i++;
		if (k == n)
			break;
		if (title[i] == '\0' || tolower((unsigned char)title[i]) != tolower((unsigned char)text[k]))
			return 0;
		i++, k++;
	}
	return i;
}

/* Marks the lines of page p where its outline entries' titles are. */
static void place_outline(struct pdf *w, int p, struct entry *e, size_t n)
{
	struct ppage *pg = &w->pages[p];
	size_t from = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t k = from; k < pg->n; k++) {
			struct pline *l = &pg->lines[k];
			if (l->drop || l->len < 2)
				continue;
			size_t m = title_match(e[i].title, pg->text + l->off, l->len);
			if (m == 0)
				continue;
			l->level = (unsigned char)(e[i].level > 6 ? 6 : e[i].level);
			e[i].used = (int)k + 1;
			/* The rest of a wrapped title is not text. */
			while (e[i].title[m] != '\0' && k + 1 < pg->n &&
			       title_match(e[i].title + m, pg->text + pg->lines[k + 1].off,
					   pg->lines[k + 1].len) > 0) {
				m += title_match(e[i].title + m, pg->text + pg->lines[k + 1].off,
						 pg->lines[k + 1].len);
				pg->lines[++k].drop = 1;
			}
			from = k + 1;
			break;
		}
}

/* ---- writing ---- */

static void heading(conv_out *o, int level, const char *text, size_t len)
{
	size_t start = conv_heading(o, level, NULL);
	conv_inline(o, text, len);
	conv_end_run(o, start, 0);
}

/* Appends a line to the open paragraph, joining a hyphenated word. */
static void para_line(conv_out *o, int *open, const char *t, size_t n)
{
	if (!*open) {
		conv_block(o, NULL);
		*open = 1;
	} else if (o->text.len >= 2 && o->text.data[o->text.len - 1] == '-' &&
		   isalpha((unsigned char)o->text.data[o->text.len - 2]) && n > 0 && islower((unsigned char)t[0])) {
		o->text.len--; /* "exam-" + "ple" */
	} else {
		conv_put(o, " ", 1);
	}
	conv_inline(o, t, n);
}

static void write_page(struct pdf *w, int p)
{
	conv_out *o = w->o;
	struct ppage *pg = &w->pages[p];
	int open = 0;
	o->page = p + 1;
	conv_block(o, NULL);
	/* Outline entries whose title is not on the page open it. */
	for (size_t i = 0; i < w->n_outline; i++)
		if (w->outline[i].page == p + 1 && !w->outline[i].used)
			heading(o, w->outline[i].level, w->outline[i].title,
				strlen(w->outline[i].title));
	for (size_t k = 0; k < pg->n; k++) {
		struct pline *l = &pg->lines[k];
		const char *t = pg->text + l->off;
		if (l->drop)
			continue;
		if (l->level > 0 || l->len == 0) {
			if (open)
				conv_end_run(o, o->run, 1);
			open = 0;
			if (l->level > 0)
				heading(o, l->level, t, l->len);
			continue;
		}
		para_line(o, &open, t, l->len);
		char last = t[l->len - 1];
		if (l->len * 10 < pg->maxlen * 6 && strchr(".!?:", last) != NULL) {
			conv_end_run(o, o->run, 1);
			open = 0;
		}
	}
	if (open)
		conv_end_run(o, o->run, 1);
}

static void doc_meta(struct pdf *w)
{
	gchar *(*const get[])(PopplerDocument *) = {w->pp->dl_poppler_document_get_title,
						    w->pp->dl_poppler_document_get_author,
						    w->pp->dl_poppler_document_get_subject,
						    w->pp->dl_poppler_document_get_keywords};
	static const char *const keys[] = {"title", "author", "subject", "keywords"};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		gchar *v = get[i](w->doc);
		conv_meta(w->o, keys[i], v);
		w->pp->dl_g_free(v);
	}
	w->o->meta = jv_object_set(w->o->meta, jv_string("pages"), jv_number(w->n_pages));
}

static PopplerDocument *open_pdf(const chunk_poppler *pp, const char *buf, size_t len, int fd,
				 dp_err *err)
{
	GError *gerr = NULL;
	PopplerDocument *doc;
	if (buf == NULL) {
		/* poppler owns (and closes, even on failure) the descriptor it
		 * is given: give it a copy. */
		int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (copy < 0) {
			dp_err_set(err, "dup: %s", strerror(errno));
			return NULL;
		}
		doc = pp->dl_poppler_document_new_from_fd(copy, NULL, &gerr);
	} else {
		GBytes *bytes = pp->dl_g_bytes_new_static(buf, len);
		doc = pp->dl_poppler_document_new_from_bytes(bytes, NULL, &gerr);
		pp->dl_g_bytes_unref(bytes);
	}
	if (doc == NULL) {
		/* POPPLER_ERROR is a call of poppler_error_quark. */
		if (gerr != NULL && gerr->domain == pp->dl_poppler_error_quark() &&
		    gerr->code == POPPLER_ERROR_ENCRYPTED)
			dp_err_set(err, "encrypted PDF (password protected): not read");
		else
			dp_err_set(err, "damaged PDF: %s", gerr != NULL ? gerr->message : "unreadable");
		pp->dl_g_clear_error(&gerr);
	}
	return doc;
}

static void pdf_free(struct pdf *w)
{
	for (int i = 0; w->pages != NULL && i < w->n_pages; i++) {
		w->pp->dl_g_free(w->pages[i].text);
		free(w->pages[i].lines);
	}
	free(w->pages);
	for (size_t i = 0; i < w->n_outline; i++)
		w->pp->dl_g_free(w->outline[i].title);
	free(w->outline);
	if (w->doc != NULL)
		w->pp->dl_g_object_unref(w->doc);
}

int conv_pdf(conv_out *o, const char *buf, size_t len, int fd, dp_err *err)
{
	struct pdf w = {.o = o};
	int rc = -1;

	o->format = "pdf";
	if ((w.pp = chunk_poppler_get(err)) == NULL)
		return -1;
	snprintf(o->converter, sizeof o->converter, "poppler-glib %s", w.pp->dl_poppler_get_version());
	if ((w.doc = open_pdf(w.pp, buf, len, fd, err)) == NULL)
		return -1;
	w.n_pages = w.pp->dl_poppler_document_get_n_pages(w.doc);
	if (w.n_pages <= 0) {
		dp_err_set(err, "damaged PDF: no pages");
		goto out;
	}
	read_outline(&w);
	w.fonts = w.n_outline == 0;
	long long chars = read_pages(&w, err);
	if (chars < 0)
		goto out;
	if (chars == 0) {
		dp_err_set(err, "image-only PDF: no text on its %d page%s (no OCR is done)", w.n_pages,
			   w.n_pages == 1 ? "" : "s");
		goto out;
	}
	doc_meta(&w);
	drop_running(&w);
	if (w.fonts) {
		font_levels(&w);
	} else {
		for (size_t i = 0, j; i < w.n_outline; i = j) {
			for (j = i; j < w.n_outline && w.outline[j].page == w.outline[i].page; j++)
				;
			place_outline(&w, w.outline[i].page - 1, w.outline + i, j - i);
		}
	}
	for (int p = 0; p < w.n_pages; p++)
		write_page(&w, p);
	rc = 0;
out:
	pdf_free(&w);
	return rc;
}
