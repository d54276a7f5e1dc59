/* The document versions a stage holds (versions.h). */
#include "versions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"

char *dp_record_version(jv rec)
{
	const char *path = dp_record_str(rec, "path"), *stream = dp_record_str(rec, "stream");
	double seq;
	char *v = NULL;

	if (path != NULL && stream != NULL && dp_record_num(rec, "seq", &seq) == 0 &&
	    asprintf(&v, "%s\x1f%s\x1f%.0f", path, stream, seq) < 0)
		v = NULL;
	return v;
}

int dp_versions_add(dp_versions *s, const char *version)
{
	if (version == NULL)
		return 1;
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], version) == 0)
			return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap > 0 ? 2 * s->cap : 64;
		char **v = realloc(s->v, cap * sizeof *v);
		if (v == NULL)
			return 1;
		s->v = v;
		s->cap = cap;
	}
	char *copy = strdup(version);
	if (copy != NULL)
		s->v[s->n++] = copy;
	return 1;
}

void dp_versions_remove(dp_versions *s, const char *version)
{
	for (size_t i = 0; version != NULL && i < s->n; i++)
		if (strcmp(s->v[i], version) == 0) {
			free(s->v[i]);
			s->v[i] = s->v[--s->n];
			return;
		}
}

void dp_versions_free(dp_versions *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	*s = (dp_versions){0};
}
