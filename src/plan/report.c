#include <stdio.h>
#include <string.h>

#include "../store/outcome.h"
#include "plan.h"
#include "record.h"

static const char *const stage_names[PLAN_STAGES] = {"summarize", "embed"};

/* The price of a model per million tokens, or -1 when none was given. */
static double price_of(const plan_opts *o, const char *model)
{
	for (size_t i = 0; i < o->nprices; i++)
		if (strcmp(o->prices[i].model, model) == 0)
			return o->prices[i].usd_per_mtok;
	return -1;
}

static jv num(unsigned long long v)
{
	return jv_number((double)v);
}

/* One stage's figures; *usd gets its cost (-1: unknown). */
static jv stage_report(const plan_stage *st, const plan_opts *o, double *usd)
{
	jv s = jv_object();
	double price = st->remote ? price_of(o, st->model) : 0;

	*usd = price < 0 ? -1 : (double)st->tokens / 1e6 * price;
	s = jv_object_set(s, jv_string("backend"), jv_string(st->backend));
	s = jv_object_set(s, jv_string("model"), jv_string(st->model));
	s = jv_object_set(s, jv_string("requests"), num(st->requests));
	s = jv_object_set(s, jv_string("requests_max"), num(st->requests_max));
	s = jv_object_set(s, jv_string("inputs"), num(st->inputs));
	s = jv_object_set(s, jv_string("cached"), num(st->cached));
	s = jv_object_set(s, jv_string("tokens"), num(st->tokens));
	s = jv_object_set(s, jv_string("guessed"), num(st->guessed));
	s = jv_object_set(s, jv_string("repeated"), num(st->repeated));
	s = jv_object_set(s, jv_string("usd_per_mtok"), price >= 0 ? jv_number(price) : jv_null());
	return jv_object_set(s, jv_string("usd"), *usd >= 0 ? jv_number(*usd) : jv_null());
}

static jv warnings(const plan *p, const plan_opts *o)
{
	jv w = jv_array();
	char msg[1024];
	const char *id = dp_embedder_id(p->emb.embedder);

	if (p->db == NULL)
		w = jv_array_append(w, jv_string("no database configured (DATABASE_URL or PG*): nothing "
						  "is known to be stored or cached"));
	if (p->corpus_embedder[0] != '\0' &&
	    (strcmp(p->corpus_embedder, id) != 0 || p->corpus_dim != dp_embedder_dim(p->emb.embedder))) {
		snprintf(msg, sizeof msg, "the corpus is embedded with %s (dim %d) but this run embeds "
			 "with %s (dim %d): the store would refuse every document it embeds",
			 p->corpus_embedder, p->corpus_dim, id, dp_embedder_dim(p->emb.embedder));
		w = jv_array_append(w, jv_string(msg));
	}
	for (int k = 0; k < PLAN_STAGES; k++)
		if (p->stage[k].remote && p->stage[k].tokens > 0 && price_of(o, p->stage[k].model) < 0) {
			snprintf(msg, sizeof msg, "no --price for %s: its cost is not known",
				 p->stage[k].model);
			w = jv_array_append(w, jv_string(msg));
		}
	if (p->stage[PLAN_SUMMARIZE].guessed > 0) {
		snprintf(msg, sizeof msg, "%llu summarize request(s) hold a summary not made yet: "
			 "their tokens assume %zu tokens per summary (--summary-tokens)",
			 p->stage[PLAN_SUMMARIZE].guessed, o->summary_tokens);
		w = jv_array_append(w, jv_string(msg));
	}
	return w;
}

jv plan_report(const plan *p, const plan_opts *o)
{
	jv r = jv_object(), roots = jv_array(), docs = jv_object(), stages = jv_object();
	unsigned long long req = 0, req_max = 0, tokens = 0;
	double usd = 0;
	int usd_known = 1;

	for (size_t i = 0; i < o->nroots; i++)
		roots = jv_array_append(roots, jv_string(o->roots[i]));
	docs = jv_object_set(docs, jv_string("seen"), num(p->seen));
	docs = jv_object_set(docs, jv_string("new"), num(p->added));
	docs = jv_object_set(docs, jv_string("changed"), num(p->updated));
	docs = jv_object_set(docs, jv_string("unchanged"), num(p->unchanged));
	docs = jv_object_set(docs, jv_string("gone"), num(p->gone));
	docs = jv_object_set(docs, jv_string("failed"), num(p->failed));
	docs = jv_object_set(docs, jv_string("chunks"), num(p->chunks));
	for (int k = 0; k < PLAN_STAGES; k++) {
		double u;
		stages = jv_object_set(stages, jv_string(stage_names[k]), stage_report(&p->stage[k], o, &u));
		req += p->stage[k].requests;
		req_max += p->stage[k].requests_max;
		tokens += p->stage[k].tokens;
		usd_known &= u >= 0;
		usd += u >= 0 ? u : 0;
	}
	r = jv_object_set(r, jv_string("v"), jv_number(DP_PROTOCOL_VERSION));
	r = jv_object_set(r, jv_string("kind"), jv_string("plan"));
	r = jv_object_set(r, jv_string("roots"), roots);
	r = jv_object_set(r, jv_string("documents"), docs);
	r = jv_object_set(r, jv_string("failures"), jv_copy(p->failures));
	r = jv_object_set(r, jv_string("stages"), stages);
	r = jv_object_set(r, jv_string("requests"), num(req));
	r = jv_object_set(r, jv_string("requests_max"), num(req_max));
	r = jv_object_set(r, jv_string("tokens"), num(tokens));
	r = jv_object_set(r, jv_string("usd"), usd_known ? jv_number(usd) : jv_null());
	return jv_object_set(r, jv_string("warnings"), warnings(p, o));
}

static double field(jv obj, const char *key)
{
	double v;

	return dp_record_num(obj, key, &v) == 0 ? v : 0;
}

/* "$1.2345" or "?" (no price) into buf. */
static const char *dollars(jv obj, char *buf, size_t size)
{
	double v;

	if (dp_record_num(obj, "usd", &v) < 0)
		return "?";
	snprintf(buf, size, v >= 0.01 || v == 0 ? "$%.4f" : "$%.6f", v);
	return buf;
}

void plan_print(FILE *out, jv rep)
{
	jv docs = jv_object_get(jv_copy(rep), jv_string("documents"));
	jv stages = jv_object_get(jv_copy(rep), jv_string("stages"));
	char buf[64], req[64];

	fprintf(out, "%.0f documents: %.0f new, %.0f changed, %.0f unchanged, %.0f failing; "
		"%.0f gone (deleted by the run); %.0f chunks\n\n",
		field(docs, "seen"), field(docs, "new"), field(docs, "changed"),
		field(docs, "unchanged"), field(docs, "failed"), field(docs, "gone"),
		field(docs, "chunks"));
	fprintf(out, "%-10s %-40s %14s %9s %9s %12s %10s\n", "stage", "backend/model", "requests",
		"inputs", "cached", "tokens", "cost");
	for (int k = 0; k < PLAN_STAGES; k++) {
		jv s = jv_object_get(jv_copy(stages), jv_string(stage_names[k]));
		char model[260];
		snprintf(model, sizeof model, "%s/%s", dp_record_str(s, "backend"), dp_record_str(s, "model"));
		if (field(s, "requests_max") > field(s, "requests"))
			snprintf(req, sizeof req, "%.0f-%.0f", field(s, "requests"), field(s, "requests_max"));
		else
			snprintf(req, sizeof req, "%.0f", field(s, "requests"));
		fprintf(out, "%-10s %-40s %14s %9.0f %9.0f %12.0f %10s\n", stage_names[k], model, req,
			field(s, "inputs"), field(s, "cached"), field(s, "tokens"),
			dollars(s, buf, sizeof buf));
		jv_free(s);
	}
	if (field(rep, "requests_max") > field(rep, "requests"))
		snprintf(req, sizeof req, "%.0f-%.0f", field(rep, "requests"), field(rep, "requests_max"));
	else
		snprintf(req, sizeof req, "%.0f", field(rep, "requests"));
	fprintf(out, "%-10s %-40s %14s %9s %9s %12.0f %10s\n", "total", "", req, "", "",
		field(rep, "tokens"), dollars(rep, buf, sizeof buf));
	jv f = jv_object_get(jv_copy(rep), jv_string("failures"));
	if (jv_array_length(jv_copy(f)) > 0)
		fprintf(out, "\nFailing now (the run would report them failed):\n");
	jv_array_foreach(f, i, x) {
		fprintf(out, "  %s: %s: %s\n", dp_record_str(x, "path") ? dp_record_str(x, "path") : "?",
			dp_record_str(x, "stage") ? dp_record_str(x, "stage") : "?",
			dp_record_str(x, "error") ? dp_record_str(x, "error") : "?");
		jv_free(x);
		(void)i;
	}
	jv_free(f);
	jv w = jv_object_get(jv_copy(rep), jv_string("warnings"));
	jv_array_foreach(w, i, x) {
		fprintf(out, "%snote: %s\n", i == 0 ? "\n" : "", jv_string_value(x));
		jv_free(x);
	}
	jv_free(w);
	jv_free(docs);
	jv_free(stages);
}

int plan_record(const plan *p, const plan_opts *o, jv report, dp_err *err)
{
	if (p->db == NULL) {
		dp_err_set(err, "--run: no database configured, the plan is not recorded");
		return -1;
	}
	if (store_outcome_ensure(p->db, err) < 0)
		return -1;
	return store_outcome_plan(p->db, o->run, report, err);
}
