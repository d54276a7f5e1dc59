/* docpipe-store: writes document records into PostgreSQL, one receipt per
 * record; or, with --sweep, removes documents a run no longer saw. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blocker.h"
#include "cli_io.h"
#include "crash.h"
#include "endrec.h"
#include "feed.h"
#include "err.h"
#include "fulltext.h"
#include "lines.h"
#include "path.h"
#include "record.h"
#include "run.h"
#include "stats.h"
#include "store.h"
#include "zmqsock.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: docpipe-store [OPTIONS] < documents.ndjson > receipts.ndjson\n"
		"       docpipe-store [OPTIONS] --sweep RUN ROOT...\n"
		"Stores document records (chunks, summaries, vectors) in PostgreSQL schema\n"
		"docpipe and writes one receipt per record.  The database comes from\n"
		"$DATABASE_URL, or libpq's PG* variables when it is unset.\n"
		"\n"
		"Options:\n"
		"  --db-env NAME           read the connection URL from $NAME instead of\n"
		"                          $DATABASE_URL\n"
		"  --write-method METHOD   copy (binary COPY, default) or insert (pipelined\n"
		"                          INSERTs, for servers without COPY FROM STDIN)\n"
		"  --vector-type TYPE      auto (default: pgvector's vector when CREATE\n"
		"                          EXTENSION vector works, else real[]), vector,\n"
		"                          halfvec or real; fixed when the corpus is created\n"
		"  --bulk-load WHEN        auto (default: drop the HNSW index while a run adds\n"
		"                          many chunks relative to the table, build it at the\n"
		"                          end), always, or never\n"
		"  --vector-index METHOD  hnsw (default for a new corpus: best recall per\n"
		"                          query time) or ivfflat (builds in seconds, see\n"
		"                          docpipe-store(1)); a change rebuilds the index\n"
		"  --hnsw-ef-construction N  HNSW build quality, %d-%d (default 64; lower:\n"
		"                          faster builds, lower recall); kept for later builds\n"
		"  --db-retry SECONDS      wait this long for a database that went away\n"
		"                          (restart, outage), holding the batch, before\n"
		"                          giving up with status 3 (default %d; 0: no wait);\n"
		"                          at start only with --in ENDPOINT or when given\n"
		"  --sweep RUN ROOT...     delete the documents under the ROOTs whose last run\n"
		"                          is not RUN; print a deleted receipt for each\n"
		"  --require-end RECEIPTS  with --sweep: sweep only if RECEIPTS (this run's\n"
		"                          store output) ends with discover's end record\n"
		"                          (--end-record) proving the walk finished and every\n"
		"                          record arrived, stamped with run RUN; else exit 5,\n"
		"                          nothing deleted\n"
		"  --delete-excluded       with --sweep: also delete the documents whose files\n"
		"                          are still there but were not taken by the run (its\n"
		"                          --glob, --exclude, --hidden); by default only those\n"
		"                          whose files are gone\n"
		"  --sweep-on-go           with --sweep: connect now, sweep when a line \"go\"\n"
		"                          comes on stdin (\"go [PATH,...]\": keep what is\n"
		"                          stored under those JSON strings); stdin ending\n"
		"                          without it exits 0, nothing deleted (docpipe-hub\n"
		"                          starts its sweep so)\n"
		"  --text-config NAME      text search configuration of the full-text index\n"
		"                          (default: the corpus's, english for a new one;\n"
		"                          simple for mixed languages); a change re-indexes\n"
		"  --crash-dir DIR         journal the documents of the batch being written,\n"
		"                          and a record of 1 MiB or more being read, in DIR;\n"
		"                          fail the documents DIR/crashed lists (a replica\n"
		"                          died writing or reading them) unwritten, and\n"
		"                          process those it lists as suspects alone; docpipe\n"
		"                          run gives it\n"
		"  -q, --quiet             no summary line on stderr\n"
		"\n%s\n%s",
		STORE_EF_CONSTRUCTION_MIN, STORE_EF_CONSTRUCTION_MAX, STORE_DB_RETRY_DEFAULT, dp_cli_help,
		dp_exit_codes_help);
}

enum { OPT_DB_ENV = 0x2000, OPT_WRITE_METHOD, OPT_SWEEP, OPT_TEXT_CONFIG, OPT_HELP, OPT_VECTOR_TYPE, OPT_BULK,
       OPT_EF_CONSTRUCTION, OPT_DB_RETRY, OPT_REQUIRE_END, OPT_VECTOR_INDEX, OPT_SWEEP_ON_GO,
       OPT_DELETE_EXCLUDED, OPT_CRASH_DIR };

static const struct option longopts[] = {
	{"db-env", required_argument, NULL, OPT_DB_ENV},
	{"write-method", required_argument, NULL, OPT_WRITE_METHOD},
	{"sweep", required_argument, NULL, OPT_SWEEP},
	{"sweep-on-go", no_argument, NULL, OPT_SWEEP_ON_GO},
	{"delete-excluded", no_argument, NULL, OPT_DELETE_EXCLUDED},
	{"text-config", required_argument, NULL, OPT_TEXT_CONFIG},
	{"vector-type", required_argument, NULL, OPT_VECTOR_TYPE},
	{"vector-index", required_argument, NULL, OPT_VECTOR_INDEX},
	{"bulk-load", required_argument, NULL, OPT_BULK},
	{"hnsw-ef-construction", required_argument, NULL, OPT_EF_CONSTRUCTION},
	{"db-retry", required_argument, NULL, OPT_DB_RETRY},
	{"require-end", required_argument, NULL, OPT_REQUIRE_END},
	{"crash-dir", required_argument, NULL, OPT_CRASH_DIR},
	{"quiet", no_argument, NULL, 'q'},
	{"help", no_argument, NULL, OPT_HELP},
	DP_CLI_LONGOPTS,
	{NULL, 0, NULL, 0},
};

/* What the command line asks for. */
struct args {
	dp_cli cli;
	store_options so;
	const char *sweep_run, *require_end, *crash_dir;
	int sweep_on_go;
	enum store_sweep_scope sweep_scope;
	long db_retry;
	int db_retry_given;
	char **roots;
	size_t nroots;
};

/* Index of arg in names (NULL-terminated), or -1 after a diagnostic. */
static int pick(const char *opt, const char *arg, const char *const *names)
{
	for (int i = 0; names[i] != NULL; i++)
		if (strcmp(arg, names[i]) == 0)
			return i;
	dp_diag("%s: '%s' is not one of the accepted values (see --help)", opt, arg);
	return -1;
}

/* A number option into *out.  Returns 0, or -1 after a diagnostic. */
static int number(const char *name, const char *arg, long min, long max, long *out)
{
	dp_err err;

	if (dp_cli_parse_long(name, arg, min, max, out, &err) < 0) {
		dp_diag("%s", err.msg);
		return -1;
	}
	return 0;
}

/* One option of the store's own into a.  Returns -1 to go on, or an exit
 * code (a usage error, --help, or dp_cli's verdict on the others). */
static int option(struct args *a, int opt, const char *arg)
{
	/* Each list in the order of its enum (store.h). */
	static const char *const methods[] = {"copy", "insert", NULL};
	static const char *const vector_types[] = {"auto", "vector", "halfvec", "real", NULL};
	static const char *const bulk_modes[] = {"auto", "always", "never", NULL};
	static const char *const index_methods[] = {"corpus", "hnsw", "ivfflat", NULL};
	int rc = 0;
	long n = 0;

	switch (opt) {
	case OPT_DB_ENV: a->so.db_env = arg; break;
	case OPT_SWEEP: a->sweep_run = arg; break;
	case OPT_SWEEP_ON_GO: a->sweep_on_go = 1; break;
	case OPT_DELETE_EXCLUDED: a->sweep_scope = STORE_SWEEP_EXCLUDED_TOO; break;
	case OPT_REQUIRE_END: a->require_end = arg; break;
	case OPT_CRASH_DIR: a->crash_dir = arg; break;
	case OPT_TEXT_CONFIG: store_fulltext_request(arg); break;
	case 'q': a->so.quiet = 1; break;
	case OPT_HELP: usage(stdout); return DP_EXIT_OK;
	case OPT_WRITE_METHOD:
		a->so.method = (enum store_write_method)(rc = pick("--write-method", arg, methods));
		break;
	case OPT_VECTOR_TYPE:
		a->so.vector_type = (enum store_vector_type)(rc = pick("--vector-type", arg, vector_types));
		break;
	case OPT_BULK:
		a->so.bulk = (enum store_bulk_mode)(rc = pick("--bulk-load", arg, bulk_modes));
		break;
	case OPT_VECTOR_INDEX:
		a->so.index_method = (enum store_index_method)(rc = pick("--vector-index", arg, index_methods));
		break;
	case OPT_EF_CONSTRUCTION:
		rc = number("hnsw-ef-construction", arg, STORE_EF_CONSTRUCTION_MIN, STORE_EF_CONSTRUCTION_MAX, &n);
		a->so.ef_construction = (int)n;
		break;
	case OPT_DB_RETRY:
		rc = number("db-retry", arg, 0, 86400, &a->db_retry);
		a->db_retry_given = 1;
		break;
	default: return dp_cli_other_option(&a->cli, opt, arg);
	}
	return rc < 0 ? DP_EXIT_USAGE : -1;
}

/* Parses the command line into a.  Returns -1 to go on, or an exit code. */
static int parse(int argc, char **argv, struct args *a)
{
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "q", longopts, NULL)) != -1)
		if ((rc = option(a, opt, optarg)) >= 0)
			return rc;
	a->roots = argv + optind;
	a->nroots = (size_t)(argc - optind);
	/* An empty RUN (--sweep "$RUN" with RUN unset) names a run that saw
	 * nothing: it was taken, and said nothing. */
	if (a->sweep_run != NULL && a->sweep_run[0] == '\0') {
		dp_diag("--sweep: RUN is empty (the run id the records carry)");
		return DP_EXIT_USAGE;
	}
	if (a->sweep_run != NULL && a->nroots == 0) {
		dp_diag("--sweep needs at least one ROOT");
		return DP_EXIT_USAGE;
	}
	if ((a->sweep_on_go || a->sweep_scope != STORE_SWEEP_GONE) && a->sweep_run == NULL) {
		dp_diag("%s needs --sweep", a->sweep_on_go ? "--sweep-on-go" : "--delete-excluded");
		return DP_EXIT_USAGE;
	}
	if (a->sweep_run == NULL && a->nroots > 0) {
		dp_diag("unexpected argument '%s' (records come from the input)", a->roots[0]);
		return DP_EXIT_USAGE;
	}
	for (size_t i = 0; i < a->nroots; i++)
		if (a->roots[i][0] == '\0') {
			dp_diag("--sweep: a ROOT must not be empty");
			return DP_EXIT_USAGE;
		}
	return -1;
}

struct opening {
	const store_options *so;
	double db_retry;
	store *s;      /* the store, once open */
	int exit_code; /* why the last store_open failed */
};

static int try_open(void *ctx, dp_err *err)
{
	struct opening *o = ctx;

	if ((o->s = store_open(o->so, &o->exit_code, err)) == NULL)
		return o->exit_code == DP_EXIT_USAGE ? -2 : -1;
	o->s->db_retry = o->db_retry;
	return 0;
}

/* Opens the store, waiting up to patience for a database that is away;
 * the wait, or one on a lock the opening needs, is the store's (stats.h):
 * the hub does not re-send what it sent meanwhile.  0, or -1 with err. */
static int open_waiting(struct opening *o, double patience, dp_err *err)
{
	dp_stats_wait_begin("database");
	int rc = store_patiently(try_open, o, patience, err);
	dp_stats_wait_end();
	return rc;
}

/* Sweeps, after --require-end's proof when given; a lost connection is
 * made again (--db-retry) and the sweep tried again (what its batches
 * deleted stays deleted).  Returns an exit code. */
static int sweep(store *s, const struct args *a, jv kept, dp_sink *sink, dp_err *err)
{
	const char *run = a->sweep_run, *require_end = a->require_end;
	char **roots = a->roots;
	size_t nroots = a->nroots;
	size_t deleted = 0, spared = 0;
	char why[DP_ERR_MAX];
	int lost = 0;

	if (require_end != NULL) {
		jv_free(kept);
		kept = jv_invalid();
		if (store_sweep_proven(require_end, run, &kept, why, sizeof why) == 0) {
			dp_diag("sweep refused: %s (%s); nothing deleted", why, require_end);
			return DP_EXIT_INTERRUPTED;
		}
	}
	int n = jv_array_length(jv_copy(kept));
	if (n > 0) {
		jv first = jv_array_get(jv_copy(kept), 0);
		dp_diag("sweep: what is stored under %d path(s) the walk could not read is kept (%s%s)",
			n, jv_string_value(first), n > 1 ? ", ..." : "");
		jv_free(first);
	}
	/* A root that is an empty directory is kept whole: a share or disk
	 * not mounted leaves its mount point so, and the walk of it proved
	 * nothing gone.  Before, `docpipe run /mnt/share` with the share down
	 * swept the 1,106 documents stored from it, exit 0 (fault sweep 19). */
	for (size_t i = 0; i < nroots && jv_is_valid(kept); i++) {
		if (!dp_path_empty_directory(roots[i]))
			continue;
		dp_diag("sweep: %s is an empty directory (a share or disk not mounted?): what is"
			" stored under it is kept (to remove it, sweep with a file in the directory)",
			roots[i]);
		dp_err ignored;
		char *abs = dp_path_absolute(roots[i], &ignored); /* as the sweep matches roots */
		kept = jv_array_append(kept, jv_string(abs != NULL ? abs : roots[i]));
		free(abs);
	}
	jv text = jv_dump_string(kept, 0);
	int rc = 0;
	while (rc == 0 && store_sweep(s, run, roots, nroots, jv_string_value(text), a->sweep_scope, sink, &deleted,
				    &spared, err) < 0)
		if (!store_reconnect(s, &lost, err))
			rc = -1;
	jv_free(text);
	if (rc < 0)
		return DP_EXIT_SYSTEM;
	if (spared > 0)
		dp_diag("sweep: kept %zu document(s) whose files are still there, though this run did"
			" not take them (its --glob, --exclude or --hidden; --delete-excluded deletes"
			" them)", spared);
	if (!a->so.quiet)
		dp_diag("swept %zu document(s)", deleted);
	return DP_EXIT_OK;
}

/* --sweep-on-go: tells the hub (a "wait" record among the receipts, see
 * docs/graph.md) what a statement of the sweep waits for, as said on
 * stderr (dp_db_on_lock_wait; what NULL: it waits no more), so that its
 * progress shows it. */
static void tell_hub(void *ctx, const char *what, double waited_s)
{
	dp_sink *sink = ctx;
	jv r = jv_object();
	dp_err err;

	r = jv_object_set(r, jv_string("v"), jv_number(DP_PROTOCOL_VERSION));
	r = jv_object_set(r, jv_string("kind"), jv_string(DP_KIND_WAIT));
	r = jv_object_set(r, jv_string("on"), jv_string(what != NULL ? what : ""));
	r = jv_object_set(r, jv_string("seconds"), jv_number(waited_s));
	/* Only the progress needs it: a hub gone is found by the receipts. */
	if (dp_sink_put(sink, r, &err) >= 0)
		dp_sink_flush(sink, &err);
}

/* --sweep-on-go: reads stdin to its first newline or its end.  Returns 1
 * on the line "go" (*kept, an empty array, kept), or "go [PATH, ...]",
 * *kept replaced by those paths (their stored documents are kept); 0 when stdin ended (or
 * said anything else) without it, -1 with err on a read error. */
static int await_go(jv *kept, dp_err *err)
{
	dp_lines *lines = dp_lines_new(STDIN_FILENO, DP_END_GO_LINE_MAX);
	const char *line;
	size_t len;
	unsigned long lineno;

	if (lines == NULL) {
		dp_err_set(err, "out of memory");
		return -1;
	}
	int st = dp_lines_next(lines, &line, &len, &lineno, err);
	int go = st == DP_LINES_OK && len >= 2 && memcmp(line, "go", 2) == 0;
	if (go && len == 2) {
		/* *kept stays the empty array it is. */
	} else if (go && line[2] == ' ') {
		jv paths = jv_parse_sized(line + 3, (int)(len - 3));
		go = jv_get_kind(paths) == JV_KIND_ARRAY;
		if (go)
			jv_array_foreach(paths, i, p) {
				go &= jv_get_kind(p) == JV_KIND_STRING;
				jv_free(p);
			}
		if (go) {
			jv_free(*kept);
			*kept = paths;
		} else {
			jv_free(paths);
		}
	} else {
		go = 0;
	}
	dp_lines_free(&lines);
	return st == DP_LINES_ERROR ? -1 : go;
}

int main(int argc, char **argv)
{
	struct args a = {.so = {.method = STORE_WRITE_COPY}, .db_retry = STORE_DB_RETRY_DEFAULT};
	int rc;
	dp_err err;

	dp_cli_init("store");
	if ((rc = parse(argc, argv, &a)) >= 0)
		return rc;
	dp_source *src = NULL;
	dp_sink *sink = NULL;
	dp_crash *crash = NULL;
	if (a.crash_dir != NULL && (crash = dp_crash_open(a.crash_dir, &err)) == NULL) {
		dp_diag("%s", err.msg);
		return DP_EXIT_SYSTEM;
	}
	if ((rc = dp_cli_open(&a.cli, a.sweep_run == NULL, &src, &sink, &err)) != 0) {
		dp_diag("%s", err.msg);
		dp_crash_close(&crash);
		return rc;
	}
	/* A database that is down at start is waited for like one lost later:
	 * a restarted replica waits instead of failing (and counting as a
	 * crash) again.  In a shell pipeline (stdin, no --db-retry given, no
	 * run's sweep) it is an error at once: nothing was read yet, nothing
	 * is lost. */
	/* Only explains waits: the store works without it.  A sweep's
	 * statements say their own (no thread runs: dp_db_say_lock_waits),
	 * and the hub's sweep tells the hub too. */
	if (a.sweep_run != NULL) {
		dp_db_say_lock_waits(a.so.db_env, "docpipe-store-watch");
		if (a.sweep_on_go)
			dp_db_on_lock_wait(tell_hub, sink);
	} else if ((a.so.blocker = store_blocker_start(a.so.db_env, &err)) == NULL) {
		dp_diag("%s; a long wait for the database will not be explained", err.msg);
	}
	struct opening o = {.so = &a.so, .db_retry = (double)a.db_retry, .exit_code = DP_EXIT_SYSTEM};
	/* A run's sweep (--sweep-on-go) waits as the run's replicas do: the
	 * run is done but for it, and a database without a free connection
	 * slot for it at that moment (the replicas' still held) failed the
	 * run with status 3 and left the deleted files stored. */
	double patience = dp_zmq_is_endpoint(a.cli.in) || a.db_retry_given || a.sweep_on_go
				  ? (double)a.db_retry : 0;
	store *s = NULL;
	int go = 1;
	jv kept = jv_array();
	/* --sweep-on-go connects before the go, so that a run's end waits for
	 * the sweep's statement only; a database away now is waited for after
	 * the go, as by a sweep started then. */
	if (a.sweep_on_go) {
		if (try_open(&o, &err) < 0)
			o.s = NULL;
		go = await_go(&kept, &err);
	}
	/* Each way ends with rc and, for an error, err: said once, here. */
	if (go <= 0) {
		rc = go == 0 ? DP_EXIT_OK : DP_EXIT_SYSTEM;
		s = o.s;
	} else if (o.s == NULL && open_waiting(&o, patience, &err) < 0) {
		/* A usage error (vector type, a connection string that cannot
		 * be used, a login refused for good) or a system one. */
		rc = o.exit_code;
	} else if (s = o.s, a.sweep_run != NULL) {
		rc = sweep(s, &a, kept, sink, &err);
		kept = jv_invalid();
	} else {
		store_counts c;
		rc = store_run(s, src, sink, crash, &c, &err);
		if (!a.so.quiet)
			dp_diag("%lu stored, %lu unchanged, %lu deleted, %lu skipped, %lu failed",
				c.stored, c.unchanged, c.deleted, c.skipped, c.failed);
	}
	if (rc == DP_EXIT_SYSTEM || rc == DP_EXIT_REFUSED || rc == DP_EXIT_USAGE)
		dp_diag("%s", err.msg);
	rc = dp_cli_close_sink(&sink, rc);
	jv_free(kept);
	store_close(&s);
	store_blocker_stop(&a.so.blocker);
	dp_crash_close(&crash);
	dp_source_free(&src);
	return dp_cli_exit_status(rc);
}
