/* The built-in embedder: signed feature hashing ("the hashing trick").
 *
 * Features of a text, each hashed (XXH3-64, a fixed seed per feature kind)
 * to one of dim buckets with a sign taken from the hash's top bit:
 *   - each word (runs of ASCII letters/digits or non-ASCII bytes, ASCII
 *     lowercased), weight 1.0;
 *   - each pair of adjacent words, weight 0.7, so phrases outrank the same
 *     words scattered;
 *   - each character trigram of "<word>", weight 0.25, so inflections and
 *     typos still land near each other.
 * The sum is L2-normalized, so cosine similarity is a dot product.  No
 * model, no network, deterministic across machines.
 *
 * That is fh-v1, the default.  fh-v2 (--model fh-v2; measured in
 * docs/PERFORMANCE.md, issue 11) skips English stop words, so "how do I" and every sentence's
 * "the", "of", "is" no longer dominate a vector (short texts and questions
 * most), and has no word pairs (with the stop words gone they joined words
 * that were not adjacent; they lowered recall either way).  It is not the
 * default because a corpus keeps one embedder: a new default would make the
 * store refuse every document of an existing fh-v1 corpus after an upgrade,
 * and in hybrid search (the default mode) it found no more files. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "embedder.h"
#include "text.h"
#include "vec.h"

#define WORD_MAX 64 /* longer runs are cut: they are rarely words */

enum { SEED_WORD = 0x77, SEED_PAIR = 0x70, SEED_TRIGRAM = 0x73 };

static void add(float *out, size_t dim, uint64_t h, float w)
{
	out[h % dim] += (h >> 63) ? -w : w;
}

static int is_word_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c >= 0x80;
}

/* English function words (lowercase, sorted for bsearch): the words of
 * "how do I ..." and of every sentence, which say nothing of a topic. */
static const char *const stop_words[] = {
	"a", "about", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as",
	"at", "be", "because", "been", "before", "being", "between", "both", "but", "by",
	"can", "could", "did", "do", "does", "doing", "during", "each", "few", "for", "from",
	"further", "had", "has", "have", "having", "he", "her", "here", "hers", "him", "his",
	"how", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "me", "more",
	"most", "my", "myself", "no", "nor", "not", "now", "of", "off", "on", "once", "only",
	"or", "other", "our", "ours", "out", "over", "own", "same", "she", "should", "so",
	"some", "such", "than", "that", "the", "their", "theirs", "them", "then", "there",
	"these", "they", "this", "those", "through", "to", "too", "under", "until", "up",
	"very", "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom",
	"why", "will", "with", "would", "you", "your", "yours",
};

static int is_stop_word(const char *w, size_t len)
{
	return dp_word_in_sorted(w, len, stop_words, sizeof stop_words / sizeof stop_words[0]);
}

void dp_embed_local_model(enum dp_local_model model, const char *text, size_t len, float *out,
			  size_t dim)
{
	const unsigned char *s = (const unsigned char *)text;
	char prev[WORD_MAX + 1], cur[WORD_MAX + 2 + 1];
	size_t prevlen = 0;
	int v1 = model == DP_LOCAL_FH_V1;

	memset(out, 0, dim * sizeof *out);
	for (size_t i = 0; i < len;) {
		if (!is_word_byte(s[i])) {
			i++;
			continue;
		}
		/* cur holds "<word>" so trigrams see word boundaries. */
		size_t n = 0;
		cur[n++] = '<';
		for (; i < len && is_word_byte(s[i]); i++)
			if (n < WORD_MAX + 1)
				cur[n++] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
		cur[n++] = '>';
		const char *word = cur + 1;
		size_t wlen = n - 2;

		if (!v1 && is_stop_word(word, wlen))
			continue;
		add(out, dim, XXH3_64bits_withSeed(word, wlen, SEED_WORD), 1.0f);
		if (v1 && prevlen > 0) {
			char pair[2 * WORD_MAX + 1];
			memcpy(pair, prev, prevlen);
			pair[prevlen] = ' ';
			memcpy(pair + prevlen + 1, word, wlen);
			add(out, dim, XXH3_64bits_withSeed(pair, prevlen + 1 + wlen, SEED_PAIR), 0.7f);
		}
		for (size_t t = 0; t + 3 <= n; t++)
			add(out, dim, XXH3_64bits_withSeed(cur + t, 3, SEED_TRIGRAM), 0.25f);
		memcpy(prev, word, wlen);
		prevlen = wlen;
	}
	dp_vec_normalize(out, dim);
}

void dp_embed_local(const char *text, size_t len, float *out, size_t dim)
{
	dp_embed_local_model(DP_LOCAL_FH_V1, text, len, out, dim);
}
