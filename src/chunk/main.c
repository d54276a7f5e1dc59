/* docpipe-chunk: file records in, document records (with their chunks) out. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "chunk_stage.h"
#include "cli_io.h"
#include "record.h"
#include "stage.h"

enum { OPT_MAX_TOKENS = 0x2000, OPT_OVERLAP, OPT_MIN_TOKENS, OPT_MAX_SIZE, OPT_FORMAT, OPT_THREADS,
       OPT_HTML_DROP, OPT_CONVERT, OPT_CONVERT_TIMEOUT, OPT_NOTEBOOK_OUTPUTS, OPT_CRASH_DIR, OPT_DOC_TIMEOUT };

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: docpipe-chunk [OPTION]...\n"
		"Reads file records (docpipe-discover), splits each file into chunks that\n"
		"follow its sections and writes one document record per file.\n"
		"\n"
		"Options:\n"
		"  --max-tokens N    at most N estimated tokens per chunk (default %d, min %d)\n"
		"  --overlap N       a split section's next chunk repeats whole blocks of up to\n"
		"                    ~N tokens (default %d, at most half of --max-tokens)\n"
		"  --min-tokens N    a section under N tokens merges with the next one under\n"
		"                    the same parent (default %d, at most --max-tokens)\n"
		"  --max-size BYTES  refuse larger files (default 16 MiB)\n"
		"  --format F        auto (by extension: .md, .markdown; .html, .htm, .xhtml,\n"
		"                    .pdf, .docx, .odt, .epub, .ipynb are converted), markdown\n"
		"                    or text (no conversion)\n"
		"  --threads N       worker threads (default 1)\n"
		"  --html-drop LIST  HTML elements dropped: tag names, .class, hidden (default\n"
		"                    script,style,noscript,template,nav,header,footer,hidden;\n"
		"                    +LIST adds to it)\n"
		"  --convert EXT=COMMAND  convert *.EXT with COMMAND (run by /bin/sh with the\n"
		"                    file's path as last argument; prints Markdown or HTML)\n"
		"  --convert-timeout S  kill a --convert command after S seconds (default 60)\n"
		"  --notebook-outputs  keep the text outputs of notebook code cells\n"
		"  --crash-dir DIR   with --threads 1: journal the document in progress in\n"
		"                    DIR, and fail the documents DIR/crashed lists (a replica\n"
		"                    died of a crash signal on them) unprocessed; docpipe run\n"
		"                    gives it (docpipe-chunk(1), CRASHES)\n"
		"  --doc-timeout S   with --crash-dir: a document still in progress after S\n"
		"                    seconds (a parser or converter looping on it) is listed\n"
		"                    as failed and the replica ends itself (default 300)\n"
		"\n%s\n%s",
		CHUNK_DEFAULT_MAX, CHUNK_MIN_TOKENS, CHUNK_DEFAULT_OVERLAP, CHUNK_DEFAULT_MIN, dp_cli_help, dp_exit_codes_help);
}

/* What the command line sets. */
struct args {
	chunk_opts opts;
	conv_opts conv;
	long max_size, threads;
	enum chunk_format_choice format;
	int min_set; /* --min-tokens given */
	const char *crash_dir;
	long doc_timeout;
	dp_cli cli;
};

/* Takes option opt into a.  Returns 1 when it is one of chunk's own, 0
 * when it is not (a stage option, or getopt's '?'), -1 with err set for a
 * bad value. */
static int chunk_option(void *ctx, int opt, char *arg, dp_err *err)
{
	struct args *a = ctx;
	long n;

	switch (opt) {
	case OPT_MAX_TOKENS:
		if (dp_cli_parse_long("max-tokens", arg, CHUNK_MIN_TOKENS, 1L << 20, &n, err) < 0)
			return -1;
		a->opts.max_tokens = (size_t)n;
		return 1;
	case OPT_OVERLAP:
		if (dp_cli_parse_long("overlap", arg, 0, 1L << 19, &n, err) < 0)
			return -1;
		a->opts.overlap = (size_t)n;
		return 1;
	case OPT_MIN_TOKENS:
		if (dp_cli_parse_long("min-tokens", arg, 0, 1L << 20, &n, err) < 0)
			return -1;
		a->opts.min_tokens = (size_t)n;
		a->min_set = 1;
		return 1;
	case OPT_MAX_SIZE:
		return dp_cli_parse_long("max-size", arg, 0, 1L << 30, &a->max_size, err) < 0 ? -1 : 1;
	case OPT_FORMAT:
		if (strcmp(arg, "auto") == 0)
			a->format = CHUNK_FORMAT_AUTO;
		else if (strcmp(arg, "markdown") == 0)
			a->format = CHUNK_FORMAT_MARKDOWN;
		else if (strcmp(arg, "text") == 0)
			a->format = CHUNK_FORMAT_TEXT;
		else {
			dp_err_set(err, "--format: '%s' is not auto, markdown or text", arg);
			return -1;
		}
		return 1;
	case OPT_THREADS:
		return dp_cli_parse_long("threads", arg, 1, 256, &a->threads, err) < 0 ? -1 : 1;
	case OPT_HTML_DROP:
		return conv_opts_drop(&a->conv, arg, err) < 0 ? -1 : 1;
	case OPT_CONVERT:
		return conv_opts_command(&a->conv, arg, err) < 0 ? -1 : 1;
	case OPT_CONVERT_TIMEOUT:
		if (dp_cli_parse_long("convert-timeout", arg, 1, 86400, &n, err) < 0)
			return -1;
		a->conv.timeout_s = (int)n;
		return 1;
	case OPT_NOTEBOOK_OUTPUTS:
		a->conv.notebook_outputs = 1;
		return 1;
	case OPT_CRASH_DIR:
		a->crash_dir = arg;
		return 1;
	case OPT_DOC_TIMEOUT:
		return dp_cli_parse_long("doc-timeout", arg, 1, 86400, &a->doc_timeout, err) < 0 ? -1 : 1;
	default:
		return 0;
	}
}

/* Parses the command line into a.  Returns -1 to go on, else the exit
 * status (after --help, --version or a usage error, said on stderr). */
static int parse(int argc, char **argv, struct args *a)
{
	static const struct option longopts[] = {
		{"max-tokens", required_argument, NULL, OPT_MAX_TOKENS},
		{"overlap", required_argument, NULL, OPT_OVERLAP},
		{"min-tokens", required_argument, NULL, OPT_MIN_TOKENS},
		{"max-size", required_argument, NULL, OPT_MAX_SIZE},
		{"format", required_argument, NULL, OPT_FORMAT},
		{"threads", required_argument, NULL, OPT_THREADS},
		{"html-drop", required_argument, NULL, OPT_HTML_DROP},
		{"convert", required_argument, NULL, OPT_CONVERT},
		{"convert-timeout", required_argument, NULL, OPT_CONVERT_TIMEOUT},
		{"notebook-outputs", no_argument, NULL, OPT_NOTEBOOK_OUTPUTS},
		{"crash-dir", required_argument, NULL, OPT_CRASH_DIR},
		{"doc-timeout", required_argument, NULL, OPT_DOC_TIMEOUT},
		{"help", no_argument, NULL, 'h'},
		DP_CLI_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	static const dp_cli_spec spec = {"h", longopts, 'h', usage, chunk_option};
	int rc = dp_cli_parse(&spec, argc, argv, a, &a->cli);

	if (rc >= 0 || optind == argc)
		return rc;
	dp_diag("unexpected argument '%s' (input comes from --in or stdin)", argv[optind]);
	return DP_EXIT_USAGE;
}

/* Opens the input and output and runs the stage loop over them; returns
 * the exit status, having said why on stderr. */
static int run(const dp_cli *cli, chunk_stage *cs, int threads, const char *crash_dir,
	       int doc_timeout)
{
	dp_source *src;
	dp_sink *sink;
	dp_err err;
	dp_crash *crash = NULL;
	int rc;

	/* With several threads a crash cannot be put down to one document. */
	if (crash_dir != NULL && threads == 1 &&
	    ((crash = dp_crash_open(crash_dir, &err)) == NULL || dp_crash_watch(crash, doc_timeout, &err) < 0)) {
		dp_diag("%s", err.msg);
		dp_crash_close(&crash);
		return DP_EXIT_SYSTEM;
	}
	if ((rc = dp_cli_open(cli, 1, &src, &sink, &err)) != 0) {
		dp_diag("%s", err.msg);
		dp_crash_close(&crash);
		return rc;
	}
	dp_stage_ops ops = {.accepts = DP_KIND_FILE, .process = chunk_stage_process,
			    .process_text = chunk_stage_process_text, .ctx = cs,
			    .crash = crash, .name = "chunk"};
	dp_stage_counts counts = {0};
	rc = dp_stage_run(src, sink, &ops, threads, &counts, &err);
	if (rc == DP_EXIT_SYSTEM)
		dp_diag("%s", err.msg);
	dp_source_free(&src);
	rc = dp_cli_close_sink(&sink, rc);
	dp_crash_close(&crash);
	return dp_cli_exit_status(rc);
}

int main(int argc, char **argv)
{
	struct args a = {.opts = {.max_tokens = CHUNK_DEFAULT_MAX, .overlap = CHUNK_DEFAULT_OVERLAP,
				  .min_tokens = CHUNK_DEFAULT_MIN},
			 .max_size = (long)CHUNK_MAX_SIZE_DEFAULT, .threads = 1, .doc_timeout = 300,
			 .format = CHUNK_FORMAT_AUTO};
	chunk_stage cs;
	dp_err err;
	int rc;

	conv_opts_default(&a.conv, 0);
	dp_cli_init("chunk");
	/* Test hook, not for use: a lower node limit (convert.h). */
	conv_max_nodes = (unsigned)dp_cli_test_hook("DOCPIPE_TEST_MAX_NODES", conv_max_nodes);
	if ((rc = parse(argc, argv, &a)) >= 0)
		return rc;
	if (!a.min_set && a.opts.min_tokens > a.opts.max_tokens)
		a.opts.min_tokens = a.opts.max_tokens; /* the default follows a small cap */
	if (chunk_stage_init(&cs, &a.opts, (unsigned long long)a.max_size, a.format, &err) < 0) {
		dp_diag("%s", err.msg);
		return DP_EXIT_USAGE;
	}
	a.conv.max_output = (size_t)a.max_size * 4; /* a converter's text may be bigger */
	cs.conv = a.conv;
	return run(&a.cli, &cs, (int)a.threads, a.crash_dir, (int)a.doc_timeout);
}
