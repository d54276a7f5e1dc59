/* docpipe-chunk: file records in, document records (with their chunks) out. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "chunk_stage.h"
#include "cli.h"
#include "record.h"
#include "stage.h"

enum { OPT_MAX_TOKENS = 0x2000, OPT_OVERLAP, OPT_MIN_TOKENS, OPT_MAX_SIZE, OPT_FORMAT, OPT_THREADS,
       OPT_HTML_DROP, OPT_CONVERT, OPT_CONVERT_TIMEOUT, OPT_NOTEBOOK_OUTPUTS };

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
		"\n%s\n%s",
		CHUNK_DEFAULT_MAX, CHUNK_MIN_TOKENS, CHUNK_DEFAULT_OVERLAP, CHUNK_DEFAULT_MIN, dp_cli_help, dp_exit_codes_help);
}

int main(int argc, char **argv)
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
		{"help", no_argument, NULL, 'h'},
		DP_CLI_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	dp_cli cli = {0};
	chunk_opts opts = {.max_tokens = CHUNK_DEFAULT_MAX, .overlap = CHUNK_DEFAULT_OVERLAP,
			   .min_tokens = CHUNK_DEFAULT_MIN};
	long max_size = (long)CHUNK_MAX_SIZE_DEFAULT, threads = 1, n;
	enum chunk_format_choice format = CHUNK_FORMAT_AUTO;
	dp_err err;
	int opt, rc, min_set = 0;
	conv_opts conv;

	conv_opts_default(&conv, 0);
	dp_cli_init("chunk");
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			usage(stdout);
			return DP_EXIT_OK;
		case OPT_MAX_TOKENS:
			if (dp_cli_parse_long("max-tokens", optarg, CHUNK_MIN_TOKENS, 1L << 20, &n, &err) < 0)
				goto bad;
			opts.max_tokens = (size_t)n;
			break;
		case OPT_OVERLAP:
			if (dp_cli_parse_long("overlap", optarg, 0, 1L << 19, &n, &err) < 0)
				goto bad;
			opts.overlap = (size_t)n;
			break;
		case OPT_MIN_TOKENS:
			if (dp_cli_parse_long("min-tokens", optarg, 0, 1L << 20, &n, &err) < 0)
				goto bad;
			opts.min_tokens = (size_t)n;
			min_set = 1;
			break;
		case OPT_MAX_SIZE:
			if (dp_cli_parse_long("max-size", optarg, 0, 1L << 30, &max_size, &err) < 0)
				goto bad;
			break;
		case OPT_FORMAT:
			if (strcmp(optarg, "auto") == 0)
				format = CHUNK_FORMAT_AUTO;
			else if (strcmp(optarg, "markdown") == 0)
				format = CHUNK_FORMAT_MARKDOWN;
			else if (strcmp(optarg, "text") == 0)
				format = CHUNK_FORMAT_TEXT;
			else {
				dp_err_set(&err, "--format: '%s' is not auto, markdown or text", optarg);
				goto bad;
			}
			break;
		case OPT_THREADS:
			if (dp_cli_parse_long("threads", optarg, 1, 256, &threads, &err) < 0)
				goto bad;
			break;
		case OPT_HTML_DROP:
			if (conv_opts_drop(&conv, optarg, &err) < 0)
				goto bad;
			break;
		case OPT_CONVERT:
			if (conv_opts_command(&conv, optarg, &err) < 0)
				goto bad;
			break;
		case OPT_CONVERT_TIMEOUT:
			if (dp_cli_parse_long("convert-timeout", optarg, 1, 86400, &n, &err) < 0)
				goto bad;
			conv.timeout_s = (int)n;
			break;
		case OPT_NOTEBOOK_OUTPUTS:
			conv.notebook_outputs = 1;
			break;
		default:
			if ((rc = dp_cli_other_option(&cli, opt, optarg)) >= 0)
				return rc;
		}
	}
	if (optind < argc) {
		dp_err_set(&err, "unexpected argument '%s' (input comes from --in or stdin)",
			   argv[optind]);
		goto bad;
	}

	if (!min_set && opts.min_tokens > opts.max_tokens)
		opts.min_tokens = opts.max_tokens; /* the default follows a small cap */
	chunk_stage cs;
	if (chunk_stage_init(&cs, &opts, (unsigned long long)max_size, format, &err) < 0)
		goto bad;
	conv.max_output = (size_t)max_size * 4; /* a converter's text may be bigger */
	cs.conv = conv;

	dp_source *src;
	dp_sink *sink;
	if (dp_cli_open(&cli, 1, &src, &sink, &err) < 0) {
		dp_diag("%s", err.msg);
		return DP_EXIT_SYSTEM;
	}
	dp_stage_ops ops = {.accepts = DP_KIND_FILE, .process = chunk_stage_process, .ctx = &cs};
	dp_stage_counts counts = {0};
	rc = dp_stage_run(src, sink, &ops, (int)threads, &counts, &err);
	if (rc == DP_EXIT_SYSTEM)
		dp_diag("%s", err.msg);
	dp_source_free(&src);
	if (dp_sink_close(&sink, &err) < 0 && rc != DP_EXIT_SYSTEM) {
		dp_diag("%s", err.msg);
		rc = DP_EXIT_SYSTEM;
	}
	return dp_cli_exit_status(rc);
bad:
	dp_diag("%s", err.msg);
	return DP_EXIT_USAGE;
}
