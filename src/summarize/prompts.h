/* The prompts the API summarizer sends, built without sending anything:
 * one piece of code shared by the summarizer and by docpipe-plan, which
 * must predict exactly what a run will send. */
#ifndef SUMMARIZE_PROMPTS_H
#define SUMMARIZE_PROMPTS_H

#include <stddef.h>

#include <jv.h>

#include "err.h"
#include "summarize.h"

/* Tokens budgeted per chat request for the answer (counted as spent when
 * the server reports no usage). */
#define SUMMARIZE_ANSWER_TOKENS 256
/* The largest chat response taken (http.h): a summary is a few KB, a
 * reasoning model's thoughts some tens; 64 requests in flight then hold
 * 64 MiB at worst, whatever a server or proxy sends. */
#define SUMMARIZE_RESPONSE_MAX (1u << 20)

/* The prompts of one round of document summaries: the parts (consumed: an
 * array of strings, the chunk texts or the previous round's summaries)
 * packed in order into texts of at most c->context_tokens (a part bigger
 * than that is cut), one prompt each.  Returns a malloc'd array of *np
 * malloc'd prompts (free with summarize_prompts_free; *np is 0 for no
 * parts), or NULL with err set (out of memory, too many sections). */
char **summarize_round_prompts(const summarize_ctx *c, const char *path, jv parts, size_t *np,
			       dp_err *err);
void summarize_prompts_free(char **prompts, size_t n);

/* The prompt asking for chunk i's situating sentence, given the
 * document's summary.  rec (borrowed) passed dp_doc_check_chunks.
 * Returns a malloc'd string or NULL (out of memory, too long). */
char *summarize_make_chunk_prompt(const summarize_ctx *c, jv rec, int i, const char *summary);

/* The chat model used when --model is not given. */
const char *summarize_default_model(int ollama);

/* Reads a whole prompt template file (at most SUMMARIZE_PROMPT_MAX
 * bytes).  Returns a malloc'd string or NULL with err. */
char *summarize_read_template(const char *path, dp_err *err);

#endif
