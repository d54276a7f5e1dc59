#include "options.h"

#include <string.h>

#include "cli.h"
#include "glob.h"
#include "text.h"

/* Checks pattern, the value of --glob or --exclude (name), as
 * discover_match reads it.  Returns 0, or -1 with err naming the option,
 * the pattern and why it can match nothing as written: what dp_glob_regex
 * refuses (an unclosed '[', a trailing '\', a backward range ...), or a
 * pattern with a '/' (matched against the path relative to the root) that
 * starts or ends with one: that path never does. */
static int check_pattern(const char *name, const char *pattern, dp_err *err)
{
	dp_glob_cost cost;
	char shown[200];
	size_t len = strlen(pattern);
	jv re = dp_glob_regex(pattern, &cost);
	jv why = jv_is_valid(re) ? jv_null() : jv_invalid_get_msg(jv_copy(re));

	jv_free(re);
	if (jv_get_kind(why) == JV_KIND_NULL && len > 0 && (pattern[0] == '/' || pattern[len - 1] == '/'))
		why = jv_string(pattern[0] == '/'
				? "a pattern with a '/' matches the path relative to the root, which"
				  " never starts with '/' (for a root's own files write 'name' or"
				  " 'dir/name', without the leading '/')"
				: "it ends in '/', and no path does (for a directory write its name"
				  " without the '/')");
	if (jv_get_kind(why) == JV_KIND_NULL)
		return 0;
	dp_utf8_shown(pattern, len, shown, sizeof shown);
	dp_err_set(err, "--%s '%s': %s", name, shown, jv_string_value(why));
	jv_free(why);
	return -1;
}

int discover_option(discover_opts *o, int opt, const char *arg, dp_err *err)
{
	long n;

	switch (opt) {
	case DISCOVER_OPT_GLOB:
	case DISCOVER_OPT_EXCLUDE:
		if ((opt == DISCOVER_OPT_GLOB ? o->n_globs : o->n_excludes) == DISCOVER_MAX_PATTERNS) {
			dp_err_set(err, "at most %d --glob and %d --exclude patterns",
				   DISCOVER_MAX_PATTERNS, DISCOVER_MAX_PATTERNS);
			return -1;
		}
		if (check_pattern(opt == DISCOVER_OPT_GLOB ? "glob" : "exclude", arg, err) < 0)
			return -1;
		if (opt == DISCOVER_OPT_GLOB)
			o->globs[o->n_globs++] = arg;
		else
			o->excludes[o->n_excludes++] = arg;
		return 1;
	case DISCOVER_OPT_HIDDEN:
		o->hidden = 1;
		return 1;
	case DISCOVER_OPT_MAX_SIZE:
		if (dp_cli_parse_long("max-size", arg, 0, 1L << 40, &n, err) < 0)
			return -1;
		o->max_size = (unsigned long long)n;
		return 1;
	default:
		return 0;
	}
}
