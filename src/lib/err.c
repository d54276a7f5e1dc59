#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char dp_exit_codes_help[] =
	"Exit status:\n"
	"  0  every record was processed\n"
	"  1  the run finished, but at least one record failed (see its error record)\n"
	"  2  usage or configuration error; nothing was done\n"
	"  3  system error (I/O, database, socket, memory); stopped early\n"
	"  4  the model API refused the run (quota exhausted, bad credentials)\n"
	"  5  interrupted (SIGTERM/SIGINT) before the end; a later run resumes\n";

static const char *stage_name = "?";

void dp_set_stage(const char *stage) { stage_name = stage; }

const char *dp_stage(void) { return stage_name; }

void dp_err_set(dp_err *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	err->kind = DP_ERR_PLAIN;
}

void dp_diag(const char *fmt, ...)
{
	char line[2 * DP_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	/* A byte is shown as at most 4 ("\xNN"; U+202E's 3 as "\u202e"). */
	char shown[4 * sizeof line];
	size_t o = 0, k;
	char rep[DP_SHOWN_MAX];
	for (const char *c = line; (k = dp_shown_char(c, strnlen(c, 4), rep)) > 0 &&
				   o + DP_SHOWN_MAX <= sizeof shown; c += k)
		o += (size_t)snprintf(shown + o, sizeof shown - o, "%s", rep);
	shown[o] = '\0';
	/* One call per line so lines of concurrent threads do not interleave. */
	fprintf(stderr, "docpipe-%s: %s\n", stage_name, shown);
}

void dp_put_shown(FILE *out, const char *s, int keep_lines)
{
	char rep[DP_SHOWN_MAX];
	size_t k;

	for (; (k = dp_shown_char(s, strnlen(s, 4), rep)) > 0; s += k)
		fputs(keep_lines && *s == '\n' ? "\n" : rep, out);
}
