/* What the chunker's unit tests read back from a split (chunk_doc): a
 * chunk's heading path and its text, as NUL-terminated strings in static
 * buffers (valid until the next call).  Used by test_chunk_wild.c;
 * test_chunk.c still has copies of its own (path_of, text_of) until the
 * test-suite rework moves it onto this header. */
#ifndef DOCPIPE_CHUNK_T_H
#define DOCPIPE_CHUNK_T_H

#include <stdio.h>

#include "../../src/chunk/chunker.h"

/* The heading path of chunk i joined with '/'. */
static inline const char *chunk_t_path(chunk_doc *doc, size_t i)
{
	static char buf[512];
	const chunk_section *s = &doc->sections[doc->chunks[i].section];
	size_t n = 0;

	buf[0] = '\0';
	for (int d = 0; d < s->depth && n < sizeof buf; d++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%.*s", d ? "/" : "",
				      (int)s->path[d].len, s->path[d].len ? doc->names + s->path[d].off : "");
	return buf;
}

/* The text of chunk i of a split of src (chunk_text: heading context,
 * repeated fence or table header included). */
static inline const char *chunk_t_text(chunk_doc *doc, const char *src, size_t i)
{
	static char buf[1 << 16];
	size_t n;
	const char *t = chunk_text(doc, &doc->chunks[i], src, &n);

	snprintf(buf, sizeof buf, "%.*s", (int)n, t);
	return buf;
}

#endif
