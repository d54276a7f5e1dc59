/* Unit tests for the local embedder's models (src/lib/embed_local.c):
 * fh-v1 unchanged (the default; corpora embedded with it stay searchable),
 * fh-v2 deterministic, and the model recorded in the identity. */
#include <math.h>
#include <string.h>

#include "embedder.h"
#include "t.h"

enum { D = 16, DL = 384 };

static float dot(const float *a, const float *b, size_t n)
{
	float s = 0;

	for (size_t i = 0; i < n; i++)
		s += a[i] * b[i];
	return s;
}

/* fh-v1's vector of this text at dim 16, as the code before fh-v2 made it
 * (printed with %.9g, so float32-exact). */
static void test_v1_unchanged(void)
{
	static const float want[D] = {
		0.0700999573f, 0, 0.508224726f, 0.175249904f, 0.0876249522f, 0.438124776f,
		0.105149947f, 0, -0.245349869f, -0.350499809f, 0.0876249522f, -0.0876249522f,
		-0.0876249522f, 0.192774892f, 0.438124776f, 0.245349869f};
	const char *t = "How do I rotate the signing keys?";
	float got[D];

	dp_embed_local_model(DP_LOCAL_FH_V1, t, strlen(t), got, D);
	T_OK(memcmp(got, want, sizeof want) == 0, "fh-v1: the same vector as before fh-v2");
}

static void test_v2(void)
{
	static float a[DL], b[DL], c[DL], q[DL], x[DL];
	const char *ta = "How do I rotate the signing keys?";
	const char *tb = "rotate signing keys";
	const char *doc = "To rotate the signing keys, run keyctl rotate and restart.";
	const char *other = "The garden needs watering twice a week in summer.";

	dp_embed_local_model(DP_LOCAL_FH_V2, ta, strlen(ta), a, DL);
	dp_embed_local_model(DP_LOCAL_FH_V2, ta, strlen(ta), c, DL);
	T_OK(memcmp(a, c, sizeof a) == 0, "fh-v2: deterministic");
	T_OK(fabsf(dot(a, a, DL) - 1.0f) < 1e-5f, "fh-v2: unit length");
	dp_embed_local_model(DP_LOCAL_FH_V2, tb, strlen(tb), b, DL);
	T_OK(memcmp(a, b, sizeof a) == 0, "fh-v2: stop words and punctuation weigh nothing");
	dp_embed_local_model(DP_LOCAL_FH_V1, ta, strlen(ta), c, DL);
	T_OK(dot(a, c, DL) < 0.99f, "fh-v2 differs from fh-v1");
	dp_embed_local_model(DP_LOCAL_FH_V1, ta, strlen(ta), b, DL);
	dp_embed_local(ta, strlen(ta), c, DL);
	T_OK(memcmp(b, c, sizeof b) == 0, "dp_embed_local is fh-v1, the default");
	dp_embed_local_model(DP_LOCAL_FH_V2, doc, strlen(doc), q, DL);
	dp_embed_local_model(DP_LOCAL_FH_V2, other, strlen(other), x, DL);
	T_OK(dot(a, q, DL) > dot(a, x, DL) + 0.3f, "fh-v2: related text scores higher");
	dp_embed_local_model(DP_LOCAL_FH_V2, "what is it?", 11, c, DL);
	T_OK(dot(c, c, DL) == 0.0f, "fh-v2: only stop words: the zero vector");
}

/* The identity recorded with every vector names the model; the embedder
 * makes that model's vectors. */
static void test_identity(void)
{
	dp_err err;
	float got[D], want[D];
	const char *t = "rotate keys";
	size_t len = strlen(t);
	dp_embedder_opts o = {.backend = "local", .dim = D};
	/* No --model: fh-v1, the default; then --model fh-v2. */
	static const struct {
		const char *model, *id, *what_id, *what_vector;
		int which;
	} cases[] = {
		{NULL, "local/fh-v1", "default: local/fh-v1", "default embedder: fh-v1's vector", DP_LOCAL_FH_V1},
		{"fh-v2", "local/fh-v2", "--model fh-v2: local/fh-v2", "fh-v2 embedder: fh-v2's vector", DP_LOCAL_FH_V2},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		o.model = cases[i].model;
		dp_embedder *e = dp_embedder_new(&o, &err);
		T_EQ_STR(dp_embedder_id(e), cases[i].id, cases[i].what_id);
		T_OK(dp_embedder_embed(e, &t, &len, 1, got, &err) == 0, "embeds");
		dp_embed_local_model(cases[i].which, t, len, want, D);
		T_OK(memcmp(got, want, sizeof got) == 0, cases[i].what_vector);
		dp_embedder_free(&e);
	}
	o.model = "fh-v3";
	T_OK(dp_embedder_new(&o, &err) == NULL && strstr(err.msg, "fh-v1 and fh-v2") != NULL,
	     "an unknown local model is refused, naming the known ones");
}

/* dp_embedder_embed_each reads each input's vector where its caller keeps
 * it (here in reverse order), as dp_embedder_embed into one buffer. */
static void test_embed_each(void)
{
	dp_embedder_opts o = {.backend = "local", .dim = D};
	dp_err err;
	dp_embedder *e = dp_embedder_new(&o, &err);
	const char *texts[] = {"alpha beta", "gamma", "delta epsilon"};
	size_t lens[] = {10, 5, 13};
	float whole[3 * D], each[3][D], *outs[] = {each[2], each[1], each[0]};

	T_OK(dp_embedder_embed(e, texts, lens, 3, whole, &err) == 0, "embeds into one buffer");
	T_OK(dp_embedder_embed_each(e, texts, lens, 3, outs, &err) == 0, "embeds each where kept");
	T_OK(memcmp(each[2], whole, sizeof each[2]) == 0 && memcmp(each[1], whole + D, sizeof each[1]) == 0 &&
		     memcmp(each[0], whole + 2 * D, sizeof each[0]) == 0,
	     "each input's vector where its pointer says");
	dp_embedder_free(&e);
}

int main(void)
{
	test_embed_each();
	test_v1_unchanged();
	test_v2();
	test_identity();
	return t_done();
}
