#include "lexer.h"

#include <libstemmer.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "buf.h"
#include "text.h"

#define PART_POSITIONS 255     /* to_tsvector: MAXNUMPOS - 1 per lexeme */
#define ALL_POSITIONS 256      /* tsvector ||: MAXNUMPOS */
#define LEXEMES_MAX ((1u << 20) - 1) /* MAXSTRPOS: total lexeme bytes */
#define STEM_MAX 1000          /* PostgreSQL's Snowball dictionary stems no longer word */
#define BAD_CP 0xffffffffu
#define TAG_MAX 4096           /* the longest tag or comment skipped */

/* PostgreSQL 15's tsearch_data/english.stop, sorted (strcmp) for bsearch;
 * embedded because the client may run on a machine without PostgreSQL. */
static const char *const english_stop[] = {
	"a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are",
	"as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but",
	"by", "can", "did", "do", "does", "doing", "don", "down", "during", "each", "few", "for",
	"from", "further", "had", "has", "have", "having", "he", "her", "here", "hers", "herself",
	"him", "himself", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just",
	"me", "more", "most", "my", "myself", "no", "nor", "not", "now", "of", "off", "on", "once",
	"only", "or", "other", "our", "ours", "ourselves", "out", "over", "own", "s", "same", "she",
	"should", "so", "some", "such", "t", "than", "that", "the", "their", "theirs", "them",
	"themselves", "then", "there", "these", "they", "this", "those", "through", "to", "too",
	"under", "until", "up", "very", "was", "we", "were", "what", "when", "where", "which",
	"while", "who", "whom", "why", "will", "with", "you", "your", "yours", "yourself",
	"yourselves",
};

struct entry {
	size_t off;        /* lexeme bytes in arena */
	uint16_t len;
	uint16_t npos, cap; /* positions kept, room in pos */
	uint16_t part_n, part_last; /* within the part numbered part */
	unsigned part;
	uint32_t hash;     /* hash() of the lexeme */
	size_t slot;       /* its hash slot */
	uint16_t *pos;
};

/* An entry's sort key: the lexeme's first 8 bytes, big-endian and
 * zero-padded (a lexeme holds no NUL, so keys order as the bytes do, a
 * prefix first); equal keys are compared in full. */
struct sort_key {
	uint64_t key;
	size_t idx; /* the entry */
};

/* A slot of the stem cache: a lower-cased word, its lexeme and the
 * lexeme's hash (so a word seen before costs one hash, not two). */
#define STEM_CACHE_SLOTS 65536 /* 3.6 MB: a corpus's vocabulary fits, so a word is stemmed ~once */
#define STEM_CACHE_WORD 24
#define STEM_CACHE_STOP 0xff /* llen of a stop word */
struct stem_slot {
	uint8_t wlen, llen; /* wlen 0: empty */
	uint32_t lhash;     /* hash() of lexeme */
	char word[STEM_CACHE_WORD], lexeme[STEM_CACHE_WORD];
};

#define HAS_DIGIT 1  /* an ASCII digit */
#define HAS_LETTER 2 /* a letter (or a digit of another script) */

struct dp_lexer {
	struct sb_stemmer *stem; /* NULL: simple */
	locale_t loc;
	dp_buf arena;            /* the lexemes' bytes, at most LEXEMES_MAX */
	struct entry *e;
	size_t n, ecap;          /* entries in use, allocated (their pos arrays are reused) */
	size_t *slots, nslots;   /* open addressing: entry index + 1, 0 empty */
	struct sort_key *keys;   /* 2 * ecap: the keys to sort and the merge sort's other half */
	const struct sort_key *order; /* after finish: entries in byte order of their lexemes */
	unsigned part;           /* parts added since reset */
	unsigned rel;            /* the current part's word count */
	unsigned offset;         /* the current part's shift: highest position kept before it */
	unsigned maxpos;         /* highest position kept */
	uint16_t weight;         /* the current part's weight bits */
	unsigned char ascii[128]; /* each ASCII byte's HAS_ bits (0: a separator) */
	char word[3 * DP_LEXER_MAXLEN + 8]; /* a lower-cased word (may grow by half) */
	struct stem_slot cache[STEM_CACHE_SLOTS]; /* english: direct-mapped, kept across resets */
};

int dp_lexer_reads(const char *text_lexer)
{
	return strcmp(text_lexer, DP_LEXER_NAME) == 0 || strcmp(text_lexer, "docpipe-v2") == 0 ||
	       strcmp(text_lexer, "docpipe-v1") == 0;
}

int dp_lexer_known(const char *text_lexer)
{
	return dp_lexer_reads(text_lexer) || strcmp(text_lexer, DP_LEXER_SERVER) == 0 ||
	       text_lexer[0] == '\0';
}

int dp_lexer_handles(const char *config)
{
	return strcmp(config, "english") == 0 || strcmp(config, "simple") == 0;
}

dp_lexer *dp_lexer_new(const char *config, dp_err *err)
{
	if (!dp_lexer_handles(config)) {
		dp_err_set(err, "text search configuration '%s' is not one docpipe's lexer implements", config);
		return NULL;
	}
	dp_lexer *lx = calloc(1, sizeof *lx);
	if (lx == NULL) {
		dp_err_set(err, "out of memory");
		return NULL;
	}
	dp_buf_init(&lx->arena, LEXEMES_MAX);
	for (unsigned b = 0; b < 128; b++)
		lx->ascii[b] = b >= '0' && b <= '9' ? HAS_DIGIT
			       : (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') ? HAS_LETTER : 0;
	lx->loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	if (lx->loc == (locale_t)0) {
		dp_err_set(err, "the C.UTF-8 locale is not available (the lexer's letter classes)");
		dp_lexer_free(lx);
		return NULL;
	}
	if (strcmp(config, "english") == 0 && (lx->stem = sb_stemmer_new("english", "UTF_8")) == NULL) {
		dp_err_set(err, "out of memory (Snowball english stemmer)");
		dp_lexer_free(lx);
		return NULL;
	}
	return lx;
}

void dp_lexer_free(dp_lexer *lx)
{
	if (lx == NULL)
		return;
	if (lx->stem != NULL)
		sb_stemmer_delete(lx->stem);
	if (lx->loc != (locale_t)0)
		freelocale(lx->loc);
	for (size_t i = 0; i < lx->ecap; i++)
		free(lx->e[i].pos);
	free(lx->e);
	free(lx->slots);
	free(lx->keys);
	dp_buf_free(&lx->arena);
	free(lx);
}

void dp_lexer_reset(dp_lexer *lx)
{
	for (size_t i = 0; i < lx->n; i++)
		lx->slots[lx->e[i].slot] = 0;
	lx->n = 0;
	lx->part = lx->rel = lx->offset = lx->maxpos = 0;
	dp_buf_reset(&lx->arena);
}

/* One code point of p (n > 0 bytes) into *cp (BAD_CP for a byte that
 * starts no valid UTF-8 sequence); returns the bytes it took (>= 1). */
static size_t next_cp(const unsigned char *p, size_t n, uint32_t *cp)
{
	static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
	size_t k = p[0] < 0x80 ? 1 : p[0] >= 0xc2 && p[0] < 0xe0 ? 2 : p[0] >= 0xe0 && p[0] < 0xf0 ? 3
		   : p[0] >= 0xf0 && p[0] < 0xf5 ? 4 : 0;

	if (k == 1) {
		*cp = p[0];
		return 1;
	}
	*cp = BAD_CP;
	if (k == 0 || k > n)
		return 1;
	uint32_t c = p[0] & (0x7f >> k);
	for (size_t i = 1; i < k; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 1;
		c = c << 6 | (p[i] & 0x3f);
	}
	if (c < min[k] || c > 0x10ffff || (c >= 0xd800 && c < 0xe000))
		return 1;
	*cp = c;
	return k;
}

/* Whether code point c beyond ASCII (or BAD_CP) is a letter or a digit;
 * ASCII bytes take lx->ascii, without decoding (the fast path of most
 * text). */
static int is_alnum(const dp_lexer *lx, uint32_t c)
{
	return c != BAD_CP && iswalnum_l((wint_t)c, lx->loc);
}

static uint32_t to_lower(const dp_lexer *lx, uint32_t c)
{
	if (c < 0x80)
		return c >= 'A' && c <= 'Z' ? c + 32 : c;
	return (uint32_t)towlower_l((wint_t)c, lx->loc);
}

static int by_string(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int is_stop(const char *w)
{
	return bsearch(&w, english_stop, sizeof english_stop / sizeof english_stop[0],
		       sizeof english_stop[0], by_string) != NULL;
}

/* FNV-1a, continued from h (HASH_INIT to start). */
#define HASH_INIT 2166136261u
static inline uint32_t hash_more(uint32_t h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static uint32_t hash(const char *s, size_t n)
{
	return hash_more(HASH_INIT, s, n);
}

/* Doubles the hash table (and the entries).  0, or -1 out of memory. */
static int grow(dp_lexer *lx)
{
	size_t ns = lx->nslots ? lx->nslots * 2 : 256, ne = ns / 2;
	size_t *slots = calloc(ns, sizeof *slots);
	struct entry *e = realloc(lx->e, ne * sizeof *e);
	struct sort_key *keys = e != NULL ? realloc(lx->keys, 2 * ne * sizeof *keys) : NULL;

	if (e != NULL)
		lx->e = e;
	if (keys != NULL)
		lx->keys = keys;
	if (slots == NULL || keys == NULL) {
		free(slots);
		return -1;
	}
	memset(e + lx->ecap, 0, (ne - lx->ecap) * sizeof *e);
	lx->ecap = ne;
	for (size_t i = 0; i < lx->n; i++) {
		size_t s = e[i].hash & (ns - 1);
		while (slots[s] != 0)
			s = (s + 1) & (ns - 1);
		slots[s] = i + 1;
		e[i].slot = s;
	}
	free(lx->slots);
	lx->slots = slots;
	lx->nslots = ns;
	return 0;
}

/* The entry of lexeme w (n bytes, h its hash()), made when new; NULL when
 * out of memory, or (*dropped set) when the lexemes' total would pass
 * LEXEMES_MAX. */
static struct entry *lookup(dp_lexer *lx, const char *w, size_t n, uint32_t h, int *dropped)
{
	if ((lx->n + 1) * 2 > lx->nslots && grow(lx) < 0)
		return NULL;
	size_t s = h & (lx->nslots - 1);
	for (; lx->slots[s] != 0; s = (s + 1) & (lx->nslots - 1)) {
		struct entry *e = &lx->e[lx->slots[s] - 1];
		if (e->len == n && memcmp(lx->arena.data + e->off, w, n) == 0)
			return e;
	}
	if (lx->arena.len + n > LEXEMES_MAX) {
		*dropped = 1;
		return NULL;
	}
	size_t off = lx->arena.len;
	if (dp_buf_append(&lx->arena, w, n) < 0)
		return NULL;
	struct entry *e = &lx->e[lx->n];
	*e = (struct entry){.off = off, .len = (uint16_t)n, .cap = e->cap, .pos = e->pos,
			    .part = lx->part - 1, .hash = h, .slot = s};
	lx->slots[s] = ++lx->n;
	return e;
}

/* Records lexeme w (n bytes, 1..DP_LEXER_MAXLEN; h its hash()) at the
 * current word's position, with to_tsvector's and ||'s limits.  0, or -1
 * out of memory. */
static int add_position(dp_lexer *lx, const char *w, size_t n, uint32_t h)
{
	int dropped = 0;
	struct entry *e = lookup(lx, w, n, h, &dropped);
	unsigned p = lx->rel < DP_LEXER_MAXPOS ? lx->rel : DP_LEXER_MAXPOS;

	if (e == NULL)
		return dropped ? 0 : -1;
	if (e->part != lx->part) {
		e->part = lx->part;
		e->part_n = 0;
	} else if (e->part_n >= PART_POSITIONS || e->part_last == DP_LEXER_MAXPOS || e->part_last == p) {
		return 0;
	}
	e->part_n++;
	e->part_last = (uint16_t)p;
	if (e->npos >= ALL_POSITIONS || (e->npos > 0 && (e->pos[e->npos - 1] & 0x3fff) == DP_LEXER_MAXPOS))
		return 0;
	if (e->npos == e->cap) {
		uint16_t cap = e->cap ? (uint16_t)(e->cap * 2) : 4;
		uint16_t *pos = realloc(e->pos, cap * sizeof *pos);
		if (pos == NULL)
			return -1;
		e->pos = pos;
		e->cap = cap;
	}
	unsigned abs = p + lx->offset < DP_LEXER_MAXPOS ? p + lx->offset : DP_LEXER_MAXPOS;
	e->pos[e->npos++] = (uint16_t)(lx->weight | abs);
	if (abs > lx->maxpos)
		lx->maxpos = abs;
	return 0;
}

/* Word w (n bytes, lower case, NUL-terminated, *h its hash()) under
 * english: *out and *outn get its lexeme, or *out NULL for a stop word, and
 * *h the lexeme's hash.  Short words go through the stem cache (a word's
 * stem never changes).  0, or -1 out of memory. */
static int stem(dp_lexer *lx, const char *w, size_t n, const char **out, size_t *outn, uint32_t *h)
{
	struct stem_slot *c = n <= STEM_CACHE_WORD ? &lx->cache[*h & (STEM_CACHE_SLOTS - 1)] : NULL;

	if (c != NULL && c->wlen == n && memcmp(c->word, w, n) == 0) {
		*out = c->llen == STEM_CACHE_STOP ? NULL : c->lexeme;
		*outn = c->llen;
		*h = c->lhash;
		return 0;
	}
	*out = w;
	*outn = n;
	if (is_stop(w)) {
		*out = NULL;
	} else if (n <= STEM_MAX) {
		const sb_symbol *st = sb_stemmer_stem(lx->stem, (const sb_symbol *)w, (int)n);
		if (st == NULL)
			return -1;
		*out = (const char *)st;
		*outn = (size_t)sb_stemmer_length(lx->stem);
	}
	if (*out != NULL)
		*h = hash(*out, *outn);
	if (c != NULL && (*out == NULL || *outn <= STEM_CACHE_WORD)) {
		c->wlen = (uint8_t)n;
		c->lhash = *h;
		memcpy(c->word, w, n);
		c->llen = *out == NULL ? STEM_CACHE_STOP : (uint8_t)*outn;
		if (*out != NULL)
			memcpy(c->lexeme, *out, *outn);
	}
	return 0;
}

/* One word of the text (raw bytes, digits: it holds an ASCII digit): takes
 * a position unless too long, then becomes a lexeme unless a stop word.
 * 0, or -1 out of memory. */
static int add_word(dp_lexer *lx, const char *raw, size_t len, int digits)
{
	size_t n = 0;
	uint32_t h = HASH_INIT; /* of the lower-cased word, as it is made */

	if (len >= DP_LEXER_MAXLEN)
		return 0;
	lx->rel++;
	for (size_t i = 0; i < len;) {
		unsigned char b = (unsigned char)raw[i];
		if (b < 0x80) { /* ASCII: most of the text */
			b = b >= 'A' && b <= 'Z' ? b + 32 : b;
			lx->word[n++] = (char)b;
			h = (h ^ b) * 16777619u;
			i++;
			continue;
		}
		uint32_t c;
		i += next_cp((const unsigned char *)raw + i, len - i, &c);
		size_t k = dp_utf8_put(lx->word + n, to_lower(lx, c));
		h = hash_more(h, lx->word + n, k);
		n += k;
	}
	lx->word[n] = '\0';
	const char *w = lx->word;
	if (lx->stem != NULL && !digits && stem(lx, lx->word, n, &w, &n, &h) < 0)
		return -1;
	return w == NULL || n == 0 || n > DP_LEXER_MAXLEN ? 0 : add_position(lx, w, n, h);
}

/* The end of the run of letters and digits at p[i] (ending at or before
 * n); *kind gets the HAS_ bits of what it holds. */
static size_t run_end(const dp_lexer *lx, const unsigned char *p, size_t i, size_t n, int *kind)
{
	while (i < n) {
		if (p[i] < 0x80) {
			int k = lx->ascii[p[i]];
			if (k == 0)
				break;
			*kind |= k;
			i++;
			continue;
		}
		uint32_t c;
		size_t k = next_cp(p + i, n - i, &c);
		if (!is_alnum(lx, c))
			break;
		*kind |= HAS_LETTER; /* beyond ASCII: a letter, or a digit of another script */
		i += k;
	}
	return i;
}

/* One word at p[i] (a letter or digit) of the n bytes at p.  Parts joined
 * by single hyphens, each holding a letter, make a hyphenated word: the
 * whole, then each part.  A number right after a hyphen keeps it as its
 * sign ("utf-8" is "utf" and "-8"), as PostgreSQL's parser has it.
 * Returns the end of what it took, or 0 out of memory. */
static size_t add_compound(dp_lexer *lx, const unsigned char *p, size_t i, size_t n)
{
	int kind = 0, parts = 1;
	size_t end = run_end(lx, p, i, n, &kind);

	while ((kind & HAS_LETTER) && end + 1 < n && p[end] == '-') {
		int next = 0;
		size_t e = run_end(lx, p, end + 1, n, &next);
		if (!(next & HAS_LETTER))
			break;
		end = e;
		kind |= next;
		parts++;
	}
	if (parts == 1) {
		size_t start = kind == HAS_DIGIT && i > 0 && p[i - 1] == '-' ? i - 1 : i;
		return add_word(lx, (const char *)p + start, end - start, kind & HAS_DIGIT) < 0 ? 0 : end;
	}
	if (add_word(lx, (const char *)p + i, end - i, kind & HAS_DIGIT) < 0)
		return 0;
	for (size_t s = i; s < end; s++) {
		int k = 0;
		size_t e = run_end(lx, p, s, end, &k);
		if (add_word(lx, (const char *)p + s, e - s, k & HAS_DIGIT) < 0)
			return 0;
		s = e;
	}
	return end;
}

void dp_lexer_part(dp_lexer *lx, char weight)
{
	lx->part++;
	lx->rel = 0;
	lx->offset = lx->maxpos;
	lx->weight = (uint16_t)((weight == 'A' ? 3 : weight == 'B' ? 2 : weight == 'C' ? 1 : 0) << 14);
}

/* The end of the HTML or XML tag or comment at p[i] ('<'), or 0 when none
 * starts there: "<!--" up to the next "-->", or "<" (or "</") and an ASCII
 * letter up to the next ">" with no "<" before it, within TAG_MAX bytes.
 * A failed attempt ends at a "<" or passes none, so scanning stays linear
 * (">" inside a quoted attribute ends the tag here, unlike PostgreSQL). */
static size_t tag_end(const unsigned char *p, size_t i, size_t n)
{
	size_t lim = n - i > TAG_MAX ? i + TAG_MAX : n, j = i + 1;

	if (lim - j >= 3 && memcmp(p + j, "!--", 3) == 0) {
		for (j += 3; lim - j >= 3; j++)
			if (memcmp(p + j, "-->", 3) == 0)
				return j + 3;
		return 0;
	}
	if (j < lim && p[j] == '/')
		j++;
	if (j >= lim || !((p[j] >= 'a' && p[j] <= 'z') || (p[j] >= 'A' && p[j] <= 'Z')))
		return 0;
	for (; j < lim && p[j] != '<'; j++)
		if (p[j] == '>')
			return j + 1;
	return 0;
}

int dp_lexer_text(dp_lexer *lx, const char *text, size_t len, dp_err *err)
{
	const unsigned char *p = (const unsigned char *)text;

	for (size_t i = 0; i < len;) {
		if (p[i] < 0x80) {
			size_t t;
			if (p[i] == '<' && (t = tag_end(p, i, len)) > 0) {
				i = t;
				continue;
			}
			if (lx->ascii[p[i]] == 0) {
				i++;
				continue;
			}
		} else {
			uint32_t c;
			size_t k = next_cp(p + i, len - i, &c);
			if (!is_alnum(lx, c)) {
				i += k;
				continue;
			}
		}
		if ((i = add_compound(lx, p, i, len)) == 0) {
			dp_err_set(err, "out of memory");
			return -1;
		}
	}
	return 0;
}

/* 1 when a's lexeme sorts before b's (byte order, a prefix first). */
static inline int key_less(const dp_lexer *lx, const struct sort_key *a, const struct sort_key *b)
{
	if (a->key != b->key)
		return a->key < b->key;
	const struct entry *x = &lx->e[a->idx], *y = &lx->e[b->idx];
	int c = memcmp(lx->arena.data + x->off, lx->arena.data + y->off, x->len < y->len ? x->len : y->len);
	return c != 0 ? c < 0 : x->len < y->len;
}

/* Sorts a[0..n) with tmp (n more) by key_less: insertion-sorted runs of
 * SORT_RUN, then merged bottom-up (O(n log n) whatever the input).
 * Returns a or tmp, whichever holds the result. */
#define SORT_RUN 8
static const struct sort_key *sort_keys(const dp_lexer *lx, struct sort_key *a, struct sort_key *tmp, size_t n)
{
	for (size_t lo = 0; lo < n; lo += SORT_RUN)
		for (size_t i = lo + 1; i < n && i < lo + SORT_RUN; i++) {
			struct sort_key k = a[i];
			size_t j = i;
			for (; j > lo && key_less(lx, &k, &a[j - 1]); j--)
				a[j] = a[j - 1];
			a[j] = k;
		}
	struct sort_key *src = a, *dst = tmp;
	for (size_t w = SORT_RUN; w < n; w *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * w) {
			size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
			size_t i = lo, j = mid, o = lo;
			while (i < mid && j < hi)
				dst[o++] = key_less(lx, &src[j], &src[i]) ? src[j++] : src[i++];
			while (i < mid)
				dst[o++] = src[i++];
			while (j < hi)
				dst[o++] = src[j++];
		}
		struct sort_key *t = src;
		src = dst;
		dst = t;
	}
	return src;
}

size_t dp_lexer_finish(dp_lexer *lx)
{
	if (lx->n == 0) /* nothing allocated yet, maybe */
		return 0;
	for (size_t i = 0; i < lx->n; i++) {
		const unsigned char *w = (const unsigned char *)lx->arena.data + lx->e[i].off;
		uint64_t key = 0;
		for (size_t b = 0; b < 8; b++)
			key = key << 8 | (b < lx->e[i].len ? w[b] : 0);
		lx->keys[i] = (struct sort_key){.key = key, .idx = i};
	}
	lx->order = sort_keys(lx, lx->keys, lx->keys + lx->ecap, lx->n);
	return lx->n;
}

size_t dp_lexer_count(const dp_lexer *lx)
{
	return lx->n;
}

const char *dp_lexer_lexeme(const dp_lexer *lx, size_t i, size_t *len)
{
	const struct entry *e = &lx->e[lx->order[i].idx];

	*len = e->len;
	return lx->arena.data + e->off;
}

const uint16_t *dp_lexer_positions(const dp_lexer *lx, size_t i, size_t *n)
{
	const struct entry *e = &lx->e[lx->order[i].idx];

	*n = e->npos;
	return e->pos;
}
