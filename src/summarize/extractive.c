#include "extractive.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "text.h"

#define SENTENCES_MAX 20000    /* per document; later ones are not candidates */
#define SENTENCE_BYTES_MAX 1000 /* longer sentences are cut */
#define PARAGRAPH_MAX (64 << 10)
#define TERMS_MAX (1u << 20)  /* distinct words per document */
#define WORD_MAX 64
#define MIN_WORDS 4           /* shorter "sentences" are labels, not prose */

struct sentence {
	int chunk;
	int order; /* position in the document */
	char *text;
	size_t len;
	double score;
};

struct extractive {
	struct sentence *s;
	size_t n, cap;
	uint64_t *keys; /* open addressing; 0 marks an empty slot */
	uint32_t *counts;
	size_t nterms, tcap;
	char *para;     /* the paragraph being collected */
	size_t plen;
	int scored;
};

/* Sorted for bsearch. */
static const char *const stopwords[] = {
	"a", "about", "above", "after", "again", "all", "also", "am", "an", "and", "any",
	"are", "as", "at", "be", "because", "been", "before", "being", "below", "between",
	"both", "but", "by", "can", "could", "did", "do", "does", "doing", "down", "during",
	"each", "few", "for", "from", "further", "had", "has", "have", "having", "he", "her",
	"here", "hers", "him", "his", "how", "i", "if", "in", "into", "is", "it", "its",
	"itself", "just", "may", "me", "might", "more", "most", "must", "my", "no", "nor",
	"not", "now", "of", "off", "on", "once", "only", "or", "other", "our", "ours", "out",
	"over", "own", "same", "she", "should", "so", "some", "such", "than", "that", "the",
	"their", "them", "then", "there", "these", "they", "this", "those", "through", "to",
	"too", "under", "until", "up", "use", "used", "very", "was", "we", "were", "what",
	"when", "where", "which", "while", "who", "whom", "why", "will", "with", "would",
	"you", "your",
};

int extractive_is_stopword(const char *w, size_t len)
{
	return dp_word_in_sorted(w, len, stopwords, sizeof stopwords / sizeof stopwords[0]);
}

extractive *extractive_new(void)
{
	extractive *x = calloc(1, sizeof *x);

	if (x == NULL)
		return NULL;
	x->tcap = 1024;
	x->keys = calloc(x->tcap, sizeof *x->keys);
	x->counts = calloc(x->tcap, sizeof *x->counts);
	x->para = malloc(PARAGRAPH_MAX);
	if (x->keys == NULL || x->counts == NULL || x->para == NULL)
		extractive_free(&x);
	return x;
}

void extractive_free(extractive **x)
{
	if (*x == NULL)
		return;
	for (size_t i = 0; i < (*x)->n; i++)
		free((*x)->s[i].text);
	free((*x)->s);
	free((*x)->keys);
	free((*x)->counts);
	free((*x)->para);
	free(*x);
	*x = NULL;
}

static int is_word_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c >= 0x80;
}

/* Next word of s[*i..len) lowercased into w (cut at WORD_MAX); returns its
 * length, 0 at the end. */
static size_t next_word(const char *s, size_t len, size_t *i, char w[WORD_MAX])
{
	size_t n = 0;

	while (*i < len && !is_word_byte((unsigned char)s[*i]))
		(*i)++;
	for (; *i < len && is_word_byte((unsigned char)s[*i]); (*i)++) {
		unsigned char c = (unsigned char)s[*i];
		if (n < WORD_MAX)
			w[n++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	return n;
}

static int is_content_word(const char *w, size_t n)
{
	return n >= 2 && !extractive_is_stopword(w, n);
}

static uint64_t term_key(const char *w, size_t n)
{
	uint64_t k = XXH3_64bits(w, n);
	return k != 0 ? k : 1;
}

static size_t slot_of(const extractive *x, uint64_t k)
{
	size_t i = (size_t)k & (x->tcap - 1);

	while (x->keys[i] != 0 && x->keys[i] != k)
		i = (i + 1) & (x->tcap - 1);
	return i;
}

static int grow_terms(extractive *x)
{
	extractive old = *x;

	x->tcap *= 2;
	x->keys = calloc(x->tcap, sizeof *x->keys);
	x->counts = calloc(x->tcap, sizeof *x->counts);
	if (x->keys == NULL || x->counts == NULL) {
		free(x->keys);
		free(x->counts);
		*x = old;
		return -1;
	}
	for (size_t i = 0; i < old.tcap; i++)
		if (old.keys[i] != 0) {
			size_t j = slot_of(x, old.keys[i]);
			x->keys[j] = old.keys[i];
			x->counts[j] = old.counts[i];
		}
	free(old.keys);
	free(old.counts);
	return 0;
}

static int count_words(extractive *x, const char *s, size_t len)
{
	char w[WORD_MAX];
	size_t i = 0, n;

	while ((n = next_word(s, len, &i, w)) > 0) {
		if (!is_content_word(w, n))
			continue;
		uint64_t k = term_key(w, n);
		size_t j = slot_of(x, k);
		if (x->keys[j] == 0) {
			if (x->nterms >= TERMS_MAX)
				continue;
			if (2 * (x->nterms + 1) > x->tcap) {
				if (grow_terms(x) < 0)
					return -1;
				j = slot_of(x, k);
			}
			x->keys[j] = k;
			x->nterms++;
		}
		x->counts[j]++;
	}
	return 0;
}

static size_t word_count(const char *s, size_t len)
{
	char w[WORD_MAX];
	size_t i = 0, n = 0;

	while (next_word(s, len, &i, w) > 0)
		n++;
	return n;
}

static int add_sentence(extractive *x, int chunk, const char *s, size_t len)
{
	while (len > 0 && (s[0] == ' '))
		s++, len--;
	while (len > 0 && s[len - 1] == ' ')
		len--;
	if (count_words(x, s, len) < 0)
		return -1;
	if (x->n >= SENTENCES_MAX || word_count(s, len) < MIN_WORDS)
		return 0;
	if (x->n == x->cap) {
		size_t cap = x->cap ? 2 * x->cap : 64;
		struct sentence *ns = realloc(x->s, cap * sizeof *ns);
		if (ns == NULL)
			return -1;
		x->s = ns;
		x->cap = cap;
	}
	if (len > SENTENCE_BYTES_MAX)
		len = dp_utf8_floor(s, SENTENCE_BYTES_MAX);
	char *copy = malloc(len + 1);
	if (copy == NULL)
		return -1;
	memcpy(copy, s, len);
	copy[len] = '\0';
	x->s[x->n] = (struct sentence){.chunk = chunk, .order = (int)x->n, .text = copy, .len = len};
	x->n++;
	return 0;
}

/* Cuts the collected paragraph at sentence ends: . ! ? followed by a
 * space or the end. */
static int flush_paragraph(extractive *x, int chunk)
{
	size_t start = 0;

	for (size_t i = 0; i < x->plen; i++) {
		char c = x->para[i];
		if ((c == '.' || c == '!' || c == '?') &&
		    (i + 1 == x->plen || x->para[i + 1] == ' ')) {
			if (add_sentence(x, chunk, x->para + start, i + 1 - start) < 0)
				return -1;
			start = i + 1;
		}
	}
	if (start < x->plen && add_sentence(x, chunk, x->para + start, x->plen - start) < 0)
		return -1;
	x->plen = 0;
	return 0;
}

static int is_rule_line(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (strchr("|-:+= \t", s[i]) == NULL)
			return 0;
	return 1;
}

/* Appends a prose line to the paragraph: list and quote markers dropped,
 * markup characters dropped, whitespace collapsed. */
static int append_line(extractive *x, int chunk, const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && (s[i] == '>' || s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i + 1 < len && strchr("-*+", s[i]) != NULL && s[i + 1] == ' ')
		i += 2;
	if (x->plen > 0 && x->plen < PARAGRAPH_MAX)
		x->para[x->plen++] = ' ';
	for (; i < len; i++) {
		char c = s[i];
		if (c == '`' || c == '|' || c == '*' || c == '#')
			continue;
		if (c == '\t' || c == '\r')
			c = ' ';
		if (c == ' ' && x->plen > 0 && x->para[x->plen - 1] == ' ')
			continue;
		if (x->plen == PARAGRAPH_MAX && flush_paragraph(x, chunk) < 0)
			return -1;
		x->para[x->plen++] = c;
	}
	return 0;
}

int extractive_add(extractive *x, int chunk, const char *text, size_t len)
{
	int in_fence = 0;
	size_t i = 0;

	x->scored = 0;
	while (i < len) {
		const char *line = text + i;
		const char *nl = memchr(line, '\n', len - i);
		size_t ll = nl != NULL ? (size_t)(nl - line) : len - i;
		size_t lead = 0;

		i += ll + (nl != NULL);
		while (lead < ll && (line[lead] == ' ' || line[lead] == '\t'))
			lead++;
		const char *t = line + lead;
		size_t tl = ll - lead;
		int fence = tl >= 3 && (memcmp(t, "```", 3) == 0 || memcmp(t, "~~~", 3) == 0);

		if (fence || in_fence || tl == 0 || t[0] == '#' || is_rule_line(t, tl)) {
			if (flush_paragraph(x, chunk) < 0)
				return -1;
			if (fence)
				in_fence = !in_fence;
			else if (!in_fence && tl > 0 && t[0] == '#' && count_words(x, t, tl) < 0)
				return -1; /* heading words count, but are no sentence */
			continue;
		}
		if (append_line(x, chunk, t, tl) < 0)
			return -1;
	}
	return flush_paragraph(x, chunk);
}

static double sentence_score(const extractive *x, const struct sentence *s)
{
	char w[WORD_MAX];
	size_t i = 0, n, words = 0;
	double sum = 0;

	while ((n = next_word(s->text, s->len, &i, w)) > 0) {
		words++;
		if (!is_content_word(w, n))
			continue;
		size_t j = slot_of(x, term_key(w, n));
		if (x->keys[j] != 0)
			sum += x->counts[j];
	}
	return words > 0 ? sum / sqrt((double)words) : 0;
}

static void score_all(extractive *x)
{
	if (x->scored)
		return;
	for (size_t i = 0; i < x->n; i++)
		x->s[i].score = sentence_score(x, &x->s[i]);
	x->scored = 1;
}

static int by_score(const void *a, const void *b)
{
	const struct sentence *const *p = a, *const *q = b;
	double ea = (*p)->score * (1 + 0.3 * fmax(0, (10 - (*p)->order) / 10.0));
	double eb = (*q)->score * (1 + 0.3 * fmax(0, (10 - (*q)->order) / 10.0));

	if (ea != eb)
		return ea > eb ? -1 : 1;
	return (*p)->order - (*q)->order;
}

static int by_order(const void *a, const void *b)
{
	return (*(const struct sentence *const *)a)->order -
	       (*(const struct sentence *const *)b)->order;
}

void extractive_summary(extractive *x, char out[EXTRACTIVE_SUMMARY_MAX + 1])
{
	const struct sentence *pick[EXTRACTIVE_SENTENCES];
	const struct sentence **rank;
	size_t npick = 0, used = 0, o = 0;

	out[0] = '\0';
	if (x->n == 0)
		return;
	score_all(x);
	rank = malloc(x->n * sizeof *rank);
	if (rank == NULL)
		return;
	for (size_t i = 0; i < x->n; i++)
		rank[i] = &x->s[i];
	qsort(rank, x->n, sizeof *rank, by_score);
	for (size_t i = 0; i < x->n && npick < EXTRACTIVE_SENTENCES; i++) {
		const struct sentence *s = rank[i];
		int dup = 0;
		for (size_t j = 0; j < npick; j++)
			dup |= pick[j]->len == s->len && memcmp(pick[j]->text, s->text, s->len) == 0;
		if (dup || used + s->len + (npick > 0) > EXTRACTIVE_SUMMARY_MAX)
			continue;
		pick[npick++] = s;
		used += s->len + (npick > 1);
	}
	free(rank);
	qsort(pick, npick, sizeof pick[0], by_order);
	for (size_t j = 0; j < npick; j++) {
		if (j > 0)
			out[o++] = ' ';
		memcpy(out + o, pick[j]->text, pick[j]->len);
		o += pick[j]->len;
	}
	out[o] = '\0';
}

void extractive_chunk_summary(extractive *x, int chunk, const char *const *heading,
			      size_t nheading, char out[EXTRACTIVE_CHUNK_MAX + 1])
{
	const struct sentence *best = NULL;
	char buf[EXTRACTIVE_CHUNK_MAX + SENTENCE_BYTES_MAX + 8];
	size_t o = 0;

	score_all(x);
	for (size_t i = 0; i < x->n; i++)
		if (x->s[i].chunk == chunk && (best == NULL || x->s[i].score > best->score))
			best = &x->s[i];
	for (size_t h = 0; h < nheading && o < EXTRACTIVE_CHUNK_MAX; h++) {
		size_t hl = strlen(heading[h]);
		if (h > 0) {
			memcpy(buf + o, " > ", 3);
			o += 3;
		}
		if (o >= EXTRACTIVE_CHUNK_MAX)
			break;
		if (hl > EXTRACTIVE_CHUNK_MAX - o)
			hl = dp_utf8_floor(heading[h], EXTRACTIVE_CHUNK_MAX - o);
		memcpy(buf + o, heading[h], hl);
		o += hl;
	}
	if (best != NULL) {
		if (o > 0) {
			memcpy(buf + o, ": ", 2);
			o += 2;
		}
		memcpy(buf + o, best->text, best->len);
		o += best->len;
	}
	o = dp_utf8_floor(buf, o < EXTRACTIVE_CHUNK_MAX ? o : EXTRACTIVE_CHUNK_MAX);
	memcpy(out, buf, o);
	out[o] = '\0';
}
