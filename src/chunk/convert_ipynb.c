/* Jupyter notebooks (nbformat 4, JSON read with jv) to derived Markdown
 * (convert.h): a Markdown cell's source is copied as it is (the Markdown
 * chunker reads it like any Markdown file, headings included); a code cell
 * becomes a fenced block tagged with the notebook's language
 * (metadata.kernelspec.language, else metadata.language_info.name); raw
 * cells are dropped, and so are outputs unless conv_opts.notebook_outputs
 * (then stream text, text/plain results and errors follow their cell as
 * fenced "output" blocks).  Front matter opening the first cell, Markdown
 * or raw (where Quarto, MyST and Jekyll put a notebook's page metadata),
 * is metadata as in a Markdown file; a malformed block stays text (no
 * warning: only Markdown files and --convert output name a path).
 * Locators: "cells[N]" (0-based). */
#include "convert.h"
#include "jscan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A cell's "source" (or an output's text): a string or an array of
 * strings (consumed).  Returns a jv string, or invalid when it is neither. */
static jv joined(jv v)
{
	if (jv_get_kind(v) == JV_KIND_STRING)
		return v;
	if (jv_get_kind(v) != JV_KIND_ARRAY) {
		jv_free(v);
		return jv_invalid();
	}
	jv s = jv_string("");
	int n = jv_array_length(jv_copy(v));
	for (int i = 0; i < n; i++) {
		jv part = jv_array_get(jv_copy(v), i);
		if (jv_get_kind(part) != JV_KIND_STRING) {
			jv_free(part);
			jv_free(s);
			jv_free(v);
			return jv_invalid();
		}
		s = jv_string_concat(s, part);
	}
	jv_free(v);
	return s;
}

/* v[k1][k2][k3] (v borrowed; trailing keys may be NULL): an owned value,
 * invalid when a step is missing or not an object. */
static jv at(jv v, const char *k1, const char *k2, const char *k3)
{
	const char *keys[] = {k1, k2, k3};
	jv cur = jv_copy(v);
	for (int i = 0; i < 3 && keys[i] != NULL; i++) {
		if (jv_get_kind(cur) != JV_KIND_OBJECT) {
			jv_free(cur);
			return jv_invalid();
		}
		cur = jv_object_get(cur, jv_string(keys[i]));
	}
	return cur;
}

static void meta_str(conv_out *o, const char *key, jv v)
{
	if (jv_get_kind(v) == JV_KIND_STRING)
		conv_meta(o, key, jv_string_value(v));
	jv_free(v);
}

static void outputs(conv_out *o, jv cell, const char *loc)
{
	jv outs = at(cell, "outputs", NULL, NULL);
	int n = jv_get_kind(outs) == JV_KIND_ARRAY ? jv_array_length(jv_copy(outs)) : 0;
	for (int i = 0; i < n; i++) {
		jv out = jv_array_get(jv_copy(outs), i);
		jv text = joined(at(out, "text", NULL, NULL));
		if (!jv_is_valid(text))
			text = joined(at(out, "data", "text/plain", NULL));
		if (!jv_is_valid(text)) {
			jv ename = at(out, "ename", NULL, NULL), evalue = at(out, "evalue", NULL, NULL);
			if (jv_get_kind(ename) == JV_KIND_STRING &&
			    jv_get_kind(evalue) == JV_KIND_STRING)
				text = jv_string_fmt("%s: %s", jv_string_value(ename),
						     jv_string_value(evalue));
			jv_free(ename);
			jv_free(evalue);
		}
		if (jv_is_valid(text))
			conv_code(o, "output", jv_string_value(text),
				  (size_t)jv_string_length_bytes(jv_copy(text)), loc);
		jv_free(text);
		jv_free(out);
	}
	jv_free(outs);
}

static int cell(conv_out *o, jv c, int i, const char *lang, const conv_opts *opts, dp_err *err)
{
	char loc[32];
	snprintf(loc, sizeof loc, "cells[%d]", i);
	jv type = at(c, "cell_type", NULL, NULL);
	jv src = joined(at(c, "source", NULL, NULL));
	int rc = 0;
	if (jv_get_kind(type) != JV_KIND_STRING || !jv_is_valid(src)) {
		dp_err_set(err, "damaged notebook: cell %d has no cell_type or source", i);
		rc = -1;
	} else if (strcmp(jv_string_value(type), "markdown") == 0 ||
		   strcmp(jv_string_value(type), "raw") == 0) {
		const char *text = jv_string_value(src), *problem;
		size_t n = (size_t)jv_string_length_bytes(jv_copy(src));
		size_t skip = i == 0 ? conv_front_matter(o, text, n, &problem) : 0;
		if (strcmp(jv_string_value(type), "markdown") == 0) {
			conv_block(o, loc);
			conv_put(o, text + skip, n - skip);
		}
	} else if (strcmp(jv_string_value(type), "code") == 0) {
		conv_code(o, lang, jv_string_value(src),
			  (size_t)jv_string_length_bytes(jv_copy(src)), loc);
		if (opts->notebook_outputs)
			outputs(o, c, loc);
	}
	jv_free(type);
	jv_free(src);
	return rc;
}

/* The "nbformat" value v (consumed) as a number: some tools write it as a
 * string ("4"); a string of 1 to 4 digits is taken as that number, any
 * other string is returned as it is (check_format names it). */
static jv version(jv v)
{
	if (jv_get_kind(v) != JV_KIND_STRING)
		return v;
	const char *s = jv_string_value(v);
	size_t n = strlen(s);
	if (n == 0 || n > 4 || strspn(s, "0123456789") != n)
		return v;
	jv num = jv_number(atoi(s));
	jv_free(v);
	return num;
}

/* 0 when ver and cells (borrowed: "nbformat" and "cells") are a notebook's
 * of nbformat 4 or later, else -1 with err naming what is wrong: an
 * nbformat 3 notebook has "worksheets", not "cells", so its version, not
 * its cells, is the reason to give. */
static int check_format(jv ver, jv cells, dp_err *err)
{
	if (jv_get_kind(ver) == JV_KIND_STRING) {
		dp_err_set(err, "not a Jupyter notebook: \"nbformat\" is \"%.40s\", not a number",
			   jv_string_value(ver));
		return -1;
	}
	if (jv_get_kind(ver) != JV_KIND_NUMBER) {
		dp_err_set(err, "not a Jupyter notebook: no \"nbformat\" number");
		return -1;
	}
	if (jv_number_value(ver) < 4) {
		dp_err_set(err, "notebook of nbformat %g: docpipe reads nbformat 4 or later"
				" (convert it: jupyter nbconvert --to notebook --nbformat 4)",
			   jv_number_value(ver));
		return -1;
	}
	if (jv_get_kind(cells) != JV_KIND_ARRAY) {
		dp_err_set(err, "damaged notebook: nbformat %g without a \"cells\" array",
			   jv_number_value(ver));
		return -1;
	}
	return 0;
}

int conv_ipynb(conv_out *o, const char *buf, size_t len, const conv_opts *opts, dp_err *err)
{
	o->format = "ipynb";
	snprintf(o->converter, sizeof o->converter, "jv nbformat-4");
	if (len > INT32_MAX) {
		dp_err_set(err, "notebook too large");
		return -1;
	}
	jv nb = dp_jscan_parse(buf, len);
	if (jv_get_kind(nb) != JV_KIND_OBJECT) {
		jv msg = jv_is_valid(nb) ? jv_string("not an object") : dp_jscan_error(nb);
		if (jv_is_valid(nb))
			jv_free(nb);
		dp_err_set(err, "damaged notebook: %s", jv_string_value(msg));
		jv_free(msg);
		return -1;
	}
	jv ver = version(at(nb, "nbformat", NULL, NULL));
	jv cells = at(nb, "cells", NULL, NULL);
	int rc = check_format(ver, cells, err);
	if (rc < 0)
		goto out;
	jv l = at(nb, "metadata", "kernelspec", "language");
	if (jv_get_kind(l) != JV_KIND_STRING) {
		jv_free(l);
		l = at(nb, "metadata", "language_info", "name");
	}
	char language[32] = "";
	if (jv_get_kind(l) == JV_KIND_STRING)
		snprintf(language, sizeof language, "%s", jv_string_value(l));
	conv_meta(o, "language", language);
	jv_free(l);
	meta_str(o, "title", at(nb, "metadata", "title", NULL));
	meta_str(o, "kernel", at(nb, "metadata", "kernelspec", "display_name"));
	int n = jv_array_length(jv_copy(cells));
	for (int i = 0; i < n && rc == 0; i++) {
		jv c = jv_array_get(jv_copy(cells), i);
		rc = cell(o, c, i, language, opts, err);
		jv_free(c);
	}
out:
	jv_free(ver);
	jv_free(cells);
	jv_free(nb);
	return rc;
}
