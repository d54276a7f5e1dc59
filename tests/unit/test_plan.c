/* Unit tests for docpipe-plan's command line (docpipe run's, with config
 * files and "plan" lines) and the summarizer's prompts it shares. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/plan/plan.h"
#include "../../src/summarize/prompts.h"
#include "t.h"

static int parse(plan_opts *o, char **argv, dp_err *err)
{
	int argc = 0;

	while (argv[argc] != NULL)
		argc++;
	return plan_parse(o, argc, argv, err);
}

static void test_parse(void)
{
	char conf[] = "/tmp/dp-test-plan-XXXXXX";
	int fd = mkstemp(conf);
	const char text[] = "# a run's config\nchunk --max-tokens=256\n"
			    "plan --price=gpt-4o-mini=0.15  # prices live here too\n"
			    "store --write-method=insert\nembed --backend=openai --dim=256\n";
	plan_opts o;
	dp_err err;

	T_OK(fd >= 0 && write(fd, text, sizeof text - 1) == (ssize_t)(sizeof text - 1), "config written");
	close(fd);
	char *argv[] = {"docpipe-plan", "/srv/docs", "--config", conf, "--opt", "embed=--batch-inputs=1",
			"--glob", "*.md", "--replicas", "embed=4", "--price", "m2=2.5", "--json", NULL};
	T_EQ_INT(parse(&o, argv, &err), 0, "run's command line with a config file parses");
	T_EQ_INT(o.nroots, 1, "one root");
	T_EQ_STR(o.roots[0], "/srv/docs", "root kept absolute");
	T_EQ_INT(o.nchunk, 1, "chunk option from the config");
	T_EQ_STR(o.chunk_argv[0], "--max-tokens=256", "chunk option text");
	T_EQ_INT(o.nemb, 3, "embed options: config then command line");
	T_EQ_STR(o.emb_argv[2], "--batch-inputs=1", "command line after the config");
	T_EQ_INT(o.ndiscover, 2, "--glob goes to discover");
	T_EQ_INT(o.nprices, 2, "prices from the config and the command line");
	T_EQ_STR(o.prices[0].model, "gpt-4o-mini", "price model");
	T_OK(o.prices[1].usd_per_mtok == 2.5, "price value");
	T_OK(o.json, "--json");
	plan_opts_free(&o);

	char *bad_price[] = {"docpipe-plan", "/d", "--price", "gpt=abc", NULL};
	T_EQ_INT(parse(&o, bad_price, &err), -1, "a price that is not a number is refused");
	plan_opts_free(&o);
	char *bad_stage[] = {"docpipe-plan", "/d", "--opt", "nosuch=--x", NULL};
	T_EQ_INT(parse(&o, bad_stage, &err), -1, "an unknown stage is refused");
	plan_opts_free(&o);
	char *no_root[] = {"docpipe-plan", "--json", NULL};
	T_EQ_INT(parse(&o, no_root, &err), -1, "no ROOT is refused");
	plan_opts_free(&o);
	char *help[] = {"docpipe-plan", "--help", NULL};
	T_EQ_INT(parse(&o, help, &err), 1, "--help");
	plan_opts_free(&o);
	unlink(conf);
}

/* The round prompts: parts packed in order up to the context. */
static void test_round_prompts(void)
{
	summarize_ctx c = {.doc_prompt = "S:{text}", .chunk_prompt = summarize_chunk_prompt,
			   .context_tokens = 4};
	dp_err err;
	size_t np;
	jv parts = jv_array();

	/* 8 ASCII bytes = 2 tokens each: two parts fit one prompt. */
	for (int i = 0; i < 3; i++)
		parts = jv_array_append(parts, jv_string("abcdefgh"));
	char **p = summarize_round_prompts(&c, "/d/a.md", parts, &np, &err);
	T_EQ_INT(np, 2, "three parts of 2 tokens in a context of 4: two prompts");
	T_EQ_STR(p != NULL ? p[0] : NULL, "S:abcdefgh\n\nabcdefgh", "first prompt packs two parts");
	T_EQ_STR(p != NULL ? p[1] : NULL, "S:abcdefgh", "second prompt the rest");
	summarize_prompts_free(p, np);
	p = summarize_round_prompts(&c, "/d/a.md", jv_array(), &np, &err);
	T_OK(p != NULL && np == 0, "no parts: no prompt");
	summarize_prompts_free(p, np);
}

int main(void)
{
	test_parse();
	test_round_prompts();
	return t_done();
}
