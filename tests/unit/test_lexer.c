/* docpipe's full-text lexer (src/lib/lexer.c): each expectation is what
 * PostgreSQL 15 prints for the same text (setweight(to_tsvector(...)) ||
 * ...), checked with psql when written, except where a comment names a
 * documented difference. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lexer.h"
#include "t.h"

static dp_lexer *lx_english, *lx_simple;

/* The tsvector of parts (weight, text; weight 0 ends) in PostgreSQL's
 * text form, into a static buffer. */
static const char *tsv(dp_lexer *lx, const char *const *parts)
{
	static char out[1 << 16];
	dp_err err;
	size_t o = 0;

	dp_lexer_reset(lx);
	for (size_t i = 0; parts[i] != NULL; i += 2) {
		dp_lexer_part(lx, parts[i][0]);
		if (dp_lexer_text(lx, parts[i + 1], strlen(parts[i + 1]), &err) < 0)
			return "(error)";
	}
	size_t n = dp_lexer_finish(lx);
	out[0] = '\0';
	for (size_t i = 0; i < n && o < sizeof out - 64; i++) {
		size_t len, np;
		const char *w = dp_lexer_lexeme(lx, i, &len);
		const uint16_t *pos = dp_lexer_positions(lx, i, &np);
		o += (size_t)snprintf(out + o, sizeof out - o, "%s'%.*s':", i > 0 ? " " : "", (int)len, w);
		for (size_t k = 0; k < np && o < sizeof out - 16; k++)
			o += (size_t)snprintf(out + o, sizeof out - o, "%s%u%s", k > 0 ? "," : "",
					      pos[k] & 0x3fff, (const char *[]){"", "C", "B", "A"}[pos[k] >> 14]);
	}
	return out;
}

static const char *one(dp_lexer *lx, const char *text)
{
	const char *parts[] = {"D", text, NULL};

	return tsv(lx, parts);
}

static void words(void)
{
	T_EQ_STR(one(lx_english, "The keys are rotated every quarter."),
		 "'everi':5 'key':2 'quarter':6 'rotat':4", "english: stop words take positions, words stemmed");
	T_EQ_STR(one(lx_simple, "The keys are rotated"), "'are':3 'keys':2 'rotated':4 'the':1",
		 "simple: lower case, no stop words, no stemming");
	T_EQ_STR(one(lx_english, "don't won't"), "'won':3", "apostrophe splits; 'don' and 't' are stop words");
	T_EQ_STR(one(lx_english, "abc123 Running 42"), "'42':3 'abc123':1 'run':2",
		 "words with digits are lower-cased only");
	T_EQ_STR(one(lx_english, "state-of-the-art design"),
		 "'art':5 'design':6 'state':2 'state-of-the-art':1",
		 "hyphenated word: the whole, then its parts");
	T_EQ_STR(one(lx_english, "snake_case"), "'case':2 'snake':1", "underscore separates");
	T_EQ_STR(one(lx_english, "utf-8 listing-08-01 ch20-advanced"),
		 "'-01':5 '-08':4 '-8':2 'advanc':8 'ch20':7 'ch20-advanced':6 'list':3 'utf':1",
		 "hyphenated parts need a letter; a number after a hyphen is signed");
	T_EQ_STR(one(lx_english, "<span class=\"caption\">Filename</span> x<!-- old links -->y <b"),
		 "'b':4 'filenam':1 'x':2 'y':3", "tags and comments are skipped, an unclosed one is text");
	T_EQ_STR(one(lx_english, ""), "", "empty text");
	T_EQ_STR(one(lx_english, "the of and"), "", "only stop words");
}

static void unicode(void)
{
	T_EQ_STR(one(lx_simple, "ПРИВЕТ Мир"), "'мир':2 'привет':1", "Cyrillic lower-cased");
	T_EQ_STR(one(lx_simple, "ΑΘΗΝΑ"), "'αθηνα':1", "Greek lower-cased");
	T_EQ_STR(one(lx_simple, "Café ÉCOLE"), "'café':1 'école':2", "Latin accents lower-cased");
	T_EQ_STR(one(lx_english, "naïve cafés"), "'café':2 'naïv':1", "non-ASCII words stemmed");
	T_EQ_STR(one(lx_simple, "ab\xff" "cd \xc3"), "'ab':1 'cd':2", "invalid UTF-8 separates words");
	T_EQ_STR(one(lx_simple, "a\xe2\x80\x94" "b"), "'a':1 'b':2", "an em dash separates");
}

static void weights(void)
{
	const char *parts[] = {"A", "Security keys", "B", "How to rotate them", "D", "Keys rotate.", NULL};

	T_EQ_STR(tsv(lx_english, parts), "'key':2A,6 'rotat':5B,7 'secur':1A",
		 "parts shift by the highest position kept, weights A B D");
	const char *trailing[] = {"A", "Keys of the", "D", "keys", NULL};
	T_EQ_STR(tsv(lx_english, trailing), "'key':1A,2",
		 "a part's trailing stop words do not shift the next part");
	const char *empty[] = {"A", "", "B", "", "D", "word", NULL};
	T_EQ_STR(tsv(lx_english, empty), "'word':1", "empty parts add nothing");
}

static void limits(void)
{
	size_t n = 20000 * 2;
	char *text = malloc(n + 1);

	for (size_t i = 0; i < n; i += 2)
		memcpy(text + i, "x ", 2);
	text[n] = '\0';
	dp_err err;
	size_t len, np;
	dp_lexer_reset(lx_simple);
	dp_lexer_part(lx_simple, 'D');
	T_OK(dp_lexer_text(lx_simple, text, n, &err) == 0, "20,000 words");
	T_EQ_INT(dp_lexer_finish(lx_simple), 1, "one lexeme");
	const uint16_t *pos = dp_lexer_positions(lx_simple, 0, &np);
	T_EQ_INT(np, 255, "at most 255 positions per part");
	T_EQ_INT(pos[254], 255, "positions ascend");
	T_EQ_STR(dp_lexer_lexeme(lx_simple, 0, &len) != NULL && len == 1 ? "x" : "?", "x", "lexeme");

	/* Position 16383 is the cap: words beyond share it. */
	for (size_t i = 0; i < n; i += 2)
		text[i] = (char)('a' + (i / 2) % 26);
	memcpy(text + 2 * 16390, "zz q9 ", 6);
	dp_lexer_reset(lx_simple);
	dp_lexer_part(lx_simple, 'D');
	dp_lexer_text(lx_simple, text, n, &err);
	size_t count = dp_lexer_finish(lx_simple), found = 0;
	for (size_t i = 0; i < count; i++) {
		const char *w = dp_lexer_lexeme(lx_simple, i, &len);
		pos = dp_lexer_positions(lx_simple, i, &np);
		if (len == 2 && (memcmp(w, "zz", 2) == 0 || memcmp(w, "q9", 2) == 0))
			found += np == 1 && (pos[0] & 0x3fff) == DP_LEXER_MAXPOS;
	}
	T_EQ_INT(found, 2, "positions beyond 16383 are 16383");
	free(text);

	char *big = malloc(DP_LEXER_MAXLEN + 8);
	memset(big, 'a', DP_LEXER_MAXLEN);
	memcpy(big + DP_LEXER_MAXLEN, " bb", 4);
	T_EQ_STR(one(lx_simple, big), "'bb':1", "a word of 2047 bytes is skipped, without a position");
	big[DP_LEXER_MAXLEN - 1] = ' ';
	const char *r = one(lx_simple, big);
	T_OK(strlen(r) > DP_LEXER_MAXLEN && strstr(r, "'bb':2") != NULL, "a word of 2046 bytes is kept");
	free(big);
}

int main(void)
{
	dp_err err;

	lx_english = dp_lexer_new("english", &err);
	lx_simple = dp_lexer_new("simple", &err);
	T_OK(lx_english != NULL && lx_simple != NULL, "english and simple lexers");
	T_OK(dp_lexer_new("german", &err) == NULL && strstr(err.msg, "german") != NULL,
	     "another configuration is refused (the server lexes it)");
	T_OK(dp_lexer_handles("english") && dp_lexer_handles("simple") && !dp_lexer_handles("french"),
	     "dp_lexer_handles");
	words();
	unicode();
	weights();
	limits();
	dp_lexer_free(lx_english);
	dp_lexer_free(lx_simple);
	return t_done();
}
