/* docpipe-discover: walks directory trees and writes one file record per
 * document found, as it finds them. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_io.h"
#include "clock.h"
#include "options.h"
#include "path.h"
#include "record.h"
#include "walk.h"

/* Records are flushed at least this often while the walk goes on, so the
 * next stage starts work before the walk ends. */
#define FLUSH_EVERY_US 100000L

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: docpipe-discover [OPTION]... ROOT...\n"
		"Walks each ROOT and writes a file record for every matching file.\n"
		"Symbolic links are never followed; FIFOs, sockets and devices are skipped.\n"
		"\n"
		"Options:\n"
		"  --glob PATTERN     take files matching PATTERN (repeatable; default *.md,\n"
		"                     *.markdown, *.txt, *.html, *.htm, *.xhtml, *.pdf, *.docx,\n"
		"                     *.odt, *.epub, *.ipynb, in any case: README.MD). Without\n"
		"                     '/', PATTERN matches the base name; with '/', the path\n"
		"                     relative to the root\n"
		"  --exclude PATTERN  skip files and directories matching PATTERN (repeatable)\n"
		"  --hidden           also visit names starting with '.'\n"
		"  --max-size BYTES   files larger than BYTES become error records\n"
		"                     (default 16 MiB)\n"
		"  --end-record       end the output with an end record (count, roots,\n"
		"                     status, complete): the proof a sweep needs that the\n"
		"                     walk finished (docs/protocol.md; docpipe run uses it)\n"
		"  --skip-records     a wanted name that is no regular file (FIFO, socket,\n"
		"                     device, symlink) becomes a skip record, which the\n"
		"                     store answers with a \"skipped\" receipt\n"
		"\n%s\n%s",
		dp_cli_help_no_input, dp_exit_codes_help);
}

struct output {
	dp_sink *sink;
	long last_flush_us;
	dp_err err;
	int failed;
	int replaced; /* records the sink wrote as error records (--jq, --max-record) */
};

static int put(void *ctx, jv rec)
{
	struct output *o = ctx;
	int rc = dp_sink_put(o->sink, rec, &o->err);

	if (rc < 0) {
		o->failed = 1;
		return -1;
	}
	o->replaced |= rc > 0;
	long now = dp_clock_us();
	if (now - o->last_flush_us >= FLUSH_EVERY_US) {
		o->last_flush_us = now;
		if (dp_sink_flush(o->sink, &o->err) < 0) {
			o->failed = 1;
			return -1;
		}
	}
	return 0;
}

/* What the command line sets. */
struct args {
	discover_opts opts;
	dp_cli cli;
};

/* Takes option opt into ctx, discover_opts (dp_cli_spec.take). */
static int discover_take(void *ctx, int opt, char *arg, dp_err *err)
{
	return discover_option(ctx, opt, arg, err);
}

/* Parses the command line into a.  Returns -1 to go on (optind is the
 * first ROOT), else the exit status (after --help, --version or a usage
 * error, said on stderr). */
static int parse(int argc, char **argv, struct args *a)
{
	static const struct option longopts[] = {
		DISCOVER_LONGOPTS,
		{"help", no_argument, NULL, 'h'},
		DP_CLI_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	static const dp_cli_spec spec = {"h", longopts, 'h', usage, discover_take};

	return discover_roots_given(dp_cli_parse(&spec, argc, argv, &a->opts, &a->cli), argc, &a->cli, "walk");
}

/* 1 when root i is one named before it ("docs" and "docs/"): walked once.
 * opts->roots holds the absolute roots, NULL for one that could not be
 * made absolute. */
static int named_before(const discover_opts *opts, int i)
{
	for (int j = 0; j < i; j++)
		if (opts->roots[i] != NULL && opts->roots[j] != NULL && strcmp(opts->roots[j], opts->roots[i]) == 0)
			return 1;
	return 0;
}

/* Walks roots[0..nroots-1] into out and, with --end-record
 * (opts->end_record), writes the end record.  Returns the exit status (DP_EXIT_FAILED: a root could not be
 * walked or a file became an error record; DP_EXIT_SYSTEM: the output
 * failed), having said why on stderr. */
static int walk_roots(char **roots, int nroots, const discover_opts *opts, struct output *out)
{
	jv unread = jv_array();
	discover_stats stats = {.unread = &unread};
	int rc = DP_EXIT_OK, unwalkable = 0;
	dp_err err;

	out->last_flush_us = dp_clock_us();
	for (int i = 0; i < nroots && !out->failed; i++) {
		if (named_before(opts, i))
			continue;
		int walked = discover_walk(roots[i], opts, put, out, &stats, &err);
		if (walked == 1) {
			dp_diag("%s", err.msg);
			rc = DP_EXIT_FAILED;
			unwalkable = 1;
		} else if (walked < 0 && !out->failed) { /* out of memory or descriptors */
			out->failed = 1;
			out->err = err;
		}
	}
	if (out->failed) {
		dp_diag("%s", out->err.msg);
		rc = DP_EXIT_SYSTEM;
	} else if (stats.errors > 0 || out->replaced) {
		rc = DP_EXIT_FAILED;
	}
	/* A root not walked at all leaves its whole tree unseen. */
	stats.unwalked += (unsigned long)unwalkable;
	unsigned long written = stats.files + stats.errors + stats.skips;
	if (opts->end_record && !out->failed &&
	    dp_sink_put(out->sink, discover_end_record("discover", written, &stats, roots, (size_t)nroots, rc),
			&err) < 0) {
		dp_diag("%s", err.msg);
		rc = DP_EXIT_SYSTEM;
	}
	jv_free(unread);
	return rc;
}

int main(int argc, char **argv)
{
	static struct args a = {.opts = {.max_size = DISCOVER_MAX_SIZE_DEFAULT}};
	struct output out = {0};
	dp_source *none;
	dp_err err;
	int rc;

	dp_cli_init("discover");
	discover_match_utf8();
	if ((rc = parse(argc, argv, &a)) >= 0)
		return rc;
	if ((rc = dp_cli_open(&a.cli, 0, &none, &out.sink, &err)) != 0) {
		dp_diag("%s", err.msg);
		return rc;
	}
	/* The roots as records carry them, so that nested and repeated roots
	 * give each file once (walk.h).  One that cannot be made absolute is
	 * NULL here; its walk says why. */
	int nroots = argc - optind;
	char **abs = calloc((size_t)nroots, sizeof *abs);
	if (abs == NULL) {
		dp_diag("out of memory");
		return DP_EXIT_SYSTEM;
	}
	for (int i = 0; i < nroots; i++)
		abs[i] = dp_path_absolute(argv[optind + i], &err);
	a.opts.roots = abs;
	a.opts.n_roots = (size_t)nroots;
	rc = walk_roots(argv + optind, nroots, &a.opts, &out);
	for (int i = 0; i < nroots; i++)
		free(abs[i]);
	free(abs);
	rc = dp_cli_close_sink(&out.sink, rc);
	return dp_cli_exit_status(rc);
}
