/* The local summarizer: deterministic, extractive, offline.
 *
 * A document's chunk texts are cut into sentences (code fences, headings
 * and table rules skipped; markup characters # | ` * > dropped); each
 * sentence is scored by the document frequency of its content words
 * (stopwords out), divided by the square root of its word count, with a
 * small bonus for early sentences.  The summary is the best sentences that
 * fit in EXTRACTIVE_SUMMARY_MAX bytes (at most 3), in document order. */
#ifndef SUMMARIZE_EXTRACTIVE_H
#define SUMMARIZE_EXTRACTIVE_H

#include <stddef.h>

#define EXTRACTIVE_ID "local/extractive-v1"
#define EXTRACTIVE_SUMMARY_MAX 600 /* bytes of a document summary */
#define EXTRACTIVE_CHUNK_MAX 300   /* bytes of a chunk summary */
#define EXTRACTIVE_SENTENCES 3

typedef struct extractive extractive;

/* Returns NULL on allocation failure. */
extractive *extractive_new(void);
void extractive_free(extractive **x);

/* Adds the text of chunk number `chunk` (chunks in document order).
 * Returns 0, or -1 on allocation failure.  Sentences past a fixed maximum
 * per document are ignored (their words still count). */
int extractive_add(extractive *x, int chunk, const char *text, size_t len);

/* Writes the document summary (NUL-terminated, at most
 * EXTRACTIVE_SUMMARY_MAX bytes plus the NUL) to out.  Empty when the
 * document has no prose. */
void extractive_summary(extractive *x, char out[EXTRACTIVE_SUMMARY_MAX + 1]);

/* Writes a chunk's situating summary: its heading path joined by " > ",
 * then ": " and the chunk's best sentence, cut to EXTRACTIVE_CHUNK_MAX
 * bytes on a UTF-8 boundary.  heading may be NULL/0. */
void extractive_chunk_summary(extractive *x, int chunk, const char *const *heading,
			      size_t nheading, char out[EXTRACTIVE_CHUNK_MAX + 1]);

/* Exposed for tests: 1 if the lowercase ASCII word w is a stopword. */
int extractive_is_stopword(const char *w, size_t len);

#endif
