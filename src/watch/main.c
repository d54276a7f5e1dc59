/* docpipe-watch: file and delete records for what changes under the roots,
 * for as long as it runs (watch.h). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../discover/options.h"
#include "cli_io.h"
#include "path.h"
#include "watch.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: docpipe-watch [OPTION]... ROOT...\n"
		"Writes a file record for every file under the ROOTs (directories), then,\n"
		"for as long as it runs, one for every file created, written or moved in,\n"
		"and a delete record for every file deleted or moved out, once the file\n"
		"has settled.  Feed it to a pipeline that ends in docpipe-store:\n"
		"  docpipe-watch ~/notes | docpipe-chunk | docpipe-summarize | docpipe-embed \\\\\n"
		"    | docpipe-store\n"
		"File and delete records carry this watcher's run and a seq, so the store\n"
		"keeps a path's newest record in whatever order the stages deliver them.\n"
		"An inotify queue overflow, the inotify watch limit or SIGUSR1 make it\n"
		"rescan every root (said on stderr).  SIGTERM or SIGINT stop it (status 0).\n"
		"\n"
		"Options:\n"
		"  --glob PATTERN     take files matching PATTERN (repeatable; default: Markdown,\n"
		"                     text and the formats docpipe-chunk converts, as\n"
		"                     docpipe-discover)\n"
		"  --exclude PATTERN  skip files and directories matching PATTERN (repeatable)\n"
		"  --hidden           also watch names starting with '.'\n"
		"  --max-size BYTES   larger files become error records (default 16 MiB)\n"
		"  --settle MS        a path is looked at once MS ms passed without an event\n"
		"                     on it (default %d)\n"
		"  --writer-settle MS a file a writer still holds open (written, not closed)\n"
		"                     waits MS ms without an event instead (default %d)...\n"
		"  --writer-max MS    ...for at most MS ms after that writer's first event,\n"
		"                     then --settle again (default %d)\n"
		"  --poll SECONDS     after a watch-limit error, rescan this often; look through\n"
		"                     a root on NFS, SMB, FUSE ... this often (default %d)\n"
		"  --end-record       end the first pass with an end record, as discover's\n"
		"                     --end-record (stage \"watch\"): the proof a sweep needs\n"
		"                     (docpipe run --watch uses it: one pass, no discover)\n"
		"  --skip-records     in the first pass, a wanted name that is no regular file\n"
		"                     becomes a skip record, as with discover's\n"
		"\n%s\n"
		"Exit status:\n"
		"  0  stopped by SIGTERM or SIGINT\n"
		"  2  usage error (a ROOT that is not a directory)\n"
		"  3  the output failed, or inotify could not be used\n",
		WATCH_SETTLE_MS_DEFAULT, WATCH_WRITER_SETTLE_MS_DEFAULT, WATCH_WRITER_MAX_MS_DEFAULT,
		WATCH_POLL_S_DEFAULT, dp_cli_help_no_input);
}

enum { OPT_SETTLE = DISCOVER_OPT_NEXT, OPT_WRITER_SETTLE, OPT_WRITER_MAX, OPT_POLL };

/* SIGTERM, SIGINT and SIGUSR1 arrive through a signalfd; SIGIO, a lease
 * broken (watch.c may_be_written), is ignored.  Returns it or -1. */
static int signals(void)
{
	sigset_t set;

	if (signal(SIGIO, SIG_IGN) == SIG_ERR)
		return -1;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		return -1;
	return signalfd(-1, &set, SFD_CLOEXEC);
}

/* What the command line sets. */
struct args {
	discover_opts opts;
	long settle, writer_settle, writer_max, poll_s;
	dp_cli cli;
};

/* Takes option opt into ctx, a struct args (dp_cli_spec.take). */
static int watch_take(void *ctx, int opt, char *arg, dp_err *err)
{
	struct args *a = ctx;
	int rc = discover_option(&a->opts, opt, arg, err);

	if (rc != 0)
		return rc;
	/* Times in ms up to an hour; --poll in s, at least 1. */
	switch (opt) {
	case OPT_SETTLE:
		rc = dp_cli_parse_long("settle", arg, 0, 3600000, &a->settle, err);
		break;
	case OPT_WRITER_SETTLE:
		rc = dp_cli_parse_long("writer-settle", arg, 0, 3600000, &a->writer_settle, err);
		break;
	case OPT_WRITER_MAX:
		rc = dp_cli_parse_long("writer-max", arg, 0, 3600000, &a->writer_max, err);
		break;
	case OPT_POLL:
		rc = dp_cli_parse_long("poll", arg, 1, 3600000, &a->poll_s, err);
		break;
	default:
		return 0;
	}
	return rc < 0 ? -1 : 1;
}

/* Parses the command line into a.  Returns -1 to go on (optind is the
 * first ROOT), else the exit status (after --help, --version or a usage
 * error, said on stderr). */
static int parse(int argc, char **argv, struct args *a)
{
	static const struct option longopts[] = {
		DISCOVER_LONGOPTS,
		{"settle", required_argument, NULL, OPT_SETTLE},
		{"writer-settle", required_argument, NULL, OPT_WRITER_SETTLE},
		{"writer-max", required_argument, NULL, OPT_WRITER_MAX},
		{"poll", required_argument, NULL, OPT_POLL},
		{"help", no_argument, NULL, 'h'},
		DP_CLI_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	static const dp_cli_spec spec = {"h", longopts, 'h', usage, watch_take};

	return discover_roots_given(dp_cli_parse(&spec, argc, argv, a, &a->cli), argc, &a->cli, "watch");
}

int main(int argc, char **argv)
{
	static struct args a = {.opts = {.max_size = DISCOVER_MAX_SIZE_DEFAULT},
				.settle = WATCH_SETTLE_MS_DEFAULT, .writer_settle = WATCH_WRITER_SETTLE_MS_DEFAULT,
				.writer_max = WATCH_WRITER_MAX_MS_DEFAULT, .poll_s = WATCH_POLL_S_DEFAULT};
	dp_err err;
	int rc;

	dp_cli_init("watch");
	discover_match_utf8();
	if ((rc = parse(argc, argv, &a)) >= 0)
		return rc;
	size_t nroots = (size_t)(argc - optind);
	char **roots = calloc(nroots, sizeof *roots);
	int bad_root = 0;
	for (size_t i = 0; roots != NULL && i < nroots && !bad_root; i++) {
		struct stat st;
		if (stat(argv[optind + i], &st) != 0 || !S_ISDIR(st.st_mode)) {
			dp_err_set(&err, "%s: not a directory", argv[optind + i]);
			bad_root = 1;
		} else if ((roots[i] = dp_path_absolute(argv[optind + i], &err)) == NULL) {
			bad_root = 1;
		}
	}
	int sfd = roots != NULL && !bad_root ? signals() : -1;
	dp_source *none;
	dp_sink *sink = NULL;
	watch *w = NULL;
	if (bad_root) {
		rc = DP_EXIT_USAGE;
	} else if (sfd < 0) {
		dp_err_set(&err, "out of memory or signals unavailable");
		rc = DP_EXIT_SYSTEM;
	} else if ((rc = dp_cli_open(&a.cli, 0, &none, &sink, &err)) == DP_EXIT_OK) {
		/* Test hooks (watch.h), not for use. */
		watch_times times = {(int)a.settle, (int)a.writer_settle, (int)a.writer_max, (int)a.poll_s,
				     (long)dp_cli_test_hook("DOCPIPE_WATCH_TEST_SKIP_WDS", 0),
				     (long)dp_cli_test_hook("DOCPIPE_WATCH_TEST_MAX_DIRS", 0)};
		w = watch_new(roots, nroots, &a.opts, &times, &err);
		rc = w == NULL || watch_run(w, sfd, sink, a.opts.end_record, &err) < 0 ? DP_EXIT_SYSTEM : DP_EXIT_OK;
	}
	if (rc != DP_EXIT_OK)
		dp_diag("%s", err.msg);
	dp_err close_err;
	if (sink != NULL && dp_sink_close(&sink, &close_err) < 0 && rc == DP_EXIT_OK) {
		dp_diag("%s", close_err.msg);
		rc = DP_EXIT_SYSTEM;
	}
	watch_free(&w);
	for (size_t i = 0; roots != NULL && i < nroots; i++)
		free(roots[i]);
	free(roots);
	if (sfd >= 0)
		close(sfd);
	return rc;
}
