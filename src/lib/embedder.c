#include "embedder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dp_embedder {
	int dim;
	char id[128];
};

dp_embedder *dp_embedder_new(const dp_embedder_opts *opts, dp_err *err)
{
	const char *backend = opts->backend != NULL ? opts->backend : "local";
	int dim = opts->dim > 0 ? opts->dim : DP_EMBED_DIM_DEFAULT;

	if (strcmp(backend, "local") != 0) {
		dp_err_set(err, "unknown embedding backend '%s' (known: local)", backend);
		return NULL;
	}
	if (opts->dim < 0 || dim > DP_EMBED_DIM_MAX) {
		dp_err_set(err, "--dim must be between 1 and %d", DP_EMBED_DIM_MAX);
		return NULL;
	}
	dp_embedder *e = calloc(1, sizeof *e);
	if (e == NULL) {
		dp_err_set(err, "out of memory");
		return NULL;
	}
	e->dim = dim;
	snprintf(e->id, sizeof e->id, "local/fh-v1");
	return e;
}

void dp_embedder_free(dp_embedder **e)
{
	free(*e);
	*e = NULL;
}

const char *dp_embedder_id(const dp_embedder *e) { return e->id; }

int dp_embedder_dim(const dp_embedder *e) { return e->dim; }

int dp_embedder_embed(dp_embedder *e, const char *const *texts, const size_t *lens,
		      size_t n, float *out, dp_err *err)
{
	(void)err;
	for (size_t i = 0; i < n; i++)
		dp_embed_local(texts[i], lens[i], out + i * (size_t)e->dim, (size_t)e->dim);
	return 0;
}
