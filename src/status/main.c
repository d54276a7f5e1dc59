/* docpipe-status: the corpus, its failures and its last runs, from the
 * database; or, with --record-run, records a run's report there. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "cli.h"
#include "db.h"
#include "err.h"
#include "../store/outcome.h"
#include "../store/store.h"
#include "live.h"
#include "status.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: docpipe-status [OPTIONS]\n"
		"       docpipe-status --record-run REPORT\n"
		"       docpipe-status --record-run - --claim RUN [--overlap MODE]\n"
		"                      [--db-retry SECONDS] [--tty-fd FD] ROOT...\n"
		"Prints what the database holds: documents and chunks by root, the\n"
		"documents whose last outcome is a failure (stage, reason, since when),\n"
		"the live runs (docpipe run's claims whose lock a session holds; a row\n"
		"none holds is shown stale), the last runs, the corpus settings\n"
		"(embedder, dimension, ...) and the state of the indexes.  The database\n"
		"comes from $DATABASE_URL, or libpq's PG* variables when it is unset.  A\n"
		"database an older docpipe made, not yet brought up to date by\n"
		"docpipe-store, is said so: exit 1.\n"
		"\n"
		"Options:\n"
		"  --json               one JSON object instead of text\n"
		"  --runs N             last runs shown (default 5)\n"
		"  --failures N         failures shown, oldest first (default 50; the\n"
		"                       total is always given)\n"
		"  --record-run REPORT  record a run report (docpipe run's JSON report;\n"
		"                       -: from stdin, read after connecting)\n"
		"                       in docpipe.runs and exit\n"
		"  --claim RUN          before reading the report, claim the ROOTs for run\n"
		"                       RUN (docpipe run's recorder): print \"claimed\" and\n"
		"                       hold the claim until the report is recorded; when a\n"
		"                       live run's roots overlap (one equal to or under\n"
		"                       another), print \"refused: WHY\" and exit 2\n"
		"  --overlap MODE       refuse (default), wait (until such runs end) or allow\n"
		"  --db-retry SECONDS   with --record-run: wait this long for a database\n"
		"                       that is away, for the claim and for the report\n"
		"                       (default 300, as docpipe-store); with --claim, a\n"
		"                       report's input that ends empty (the run's\n"
		"                       supervisor gone): the claim is let go, said, exit 5\n"
		"  --tty-fd FD          with --claim: the terminal of a run whose messages\n"
		"                       (this stderr) go to a file it shows until its\n"
		"                       hub exits: from the report's input on, its\n"
		"                       messages go to FD\n"
		"  --db-env NAME        read the connection URL from $NAME\n"
		"  --version            print the version and exit\n"
		"  --help               print this help and exit\n"
		"\n"
		"Exit status:\n"
		"  0  printed (or recorded)\n"
		"  1  the database was made by an older docpipe: run docpipe-store once\n"
		"  2  usage error; a schema not docpipe's; a login refused for good\n"
		"  3  the database unreachable or failed, the report unreadable, output failed\n"
		"  5  with --claim: the report's input ended empty (the run's supervisor gone)\n");
}

enum {
	OPT_JSON = 0x2000,
	OPT_RUNS,
	OPT_FAILURES,
	OPT_RECORD_RUN,
	OPT_DB_ENV,
	OPT_HELP,
	OPT_CLAIM,
	OPT_OVERLAP,
	OPT_DB_RETRY,
	OPT_TTY_FD
};

/* What the command line asks for. */
struct args {
	const char *db_env, *report, *claim;
	const char *claim_only; /* the first option given that only --claim uses */
	long runs, failures, db_retry, tty_fd;
	int json, db_retry_given;
	enum status_overlap overlap;
	char **roots;
	size_t nroots;
};

/* Notes option name, which only --claim uses, unless one was noted. */
static void claim_only(struct args *a, const char *name)
{
	if (a->claim_only == NULL)
		a->claim_only = name;
}

/* Takes option opt into ctx, a struct args (dp_cli_spec.take). */
static int status_option(void *ctx, int opt, char *arg, dp_err *err)
{
	struct args *a = ctx;

	switch (opt) {
	case OPT_JSON:
		a->json = 1;
		return 1;
	case OPT_RUNS:
	case OPT_FAILURES:
		return dp_cli_parse_long(opt == OPT_RUNS ? "runs" : "failures", arg, 0, 100000,
					 opt == OPT_RUNS ? &a->runs : &a->failures, err) < 0 ? -1 : 1;
	case OPT_DB_RETRY:
		a->db_retry_given = 1;
		return dp_cli_parse_long("db-retry", arg, 0, 86400, &a->db_retry, err) < 0 ? -1 : 1;
	case OPT_TTY_FD:
		claim_only(a, "--tty-fd");
		return dp_cli_parse_long("tty-fd", arg, 0, 1023, &a->tty_fd, err) < 0 ? -1 : 1;
	case OPT_RECORD_RUN:
		a->report = arg;
		return 1;
	case OPT_DB_ENV:
		a->db_env = arg;
		return 1;
	case OPT_CLAIM:
		a->claim = arg;
		return 1;
	case OPT_OVERLAP:
		claim_only(a, "--overlap");
		if (strcmp(arg, "refuse") == 0 || strcmp(arg, "wait") == 0 || strcmp(arg, "allow") == 0) {
			a->overlap = arg[0] == 'r'   ? STATUS_OVERLAP_REFUSE
				     : arg[0] == 'w' ? STATUS_OVERLAP_WAIT
						     : STATUS_OVERLAP_ALLOW;
			return 1;
		}
		dp_err_set(err, "--overlap: '%s' is not refuse, wait or allow", arg);
		return -1;
	default:
		return 0;
	}
}

/* Parses the command line into a.  Returns -1 to go on, else the exit
 * status (after --help, --version or a usage error, said on stderr). */
static int parse(int argc, char **argv, struct args *a)
{
	static const struct option longopts[] = {
		{"json", no_argument, NULL, OPT_JSON},
		{"runs", required_argument, NULL, OPT_RUNS},
		{"failures", required_argument, NULL, OPT_FAILURES},
		{"record-run", required_argument, NULL, OPT_RECORD_RUN},
		{"db-env", required_argument, NULL, OPT_DB_ENV},
		{"claim", required_argument, NULL, OPT_CLAIM},
		{"overlap", required_argument, NULL, OPT_OVERLAP},
		{"db-retry", required_argument, NULL, OPT_DB_RETRY},
		{"tty-fd", required_argument, NULL, OPT_TTY_FD},
		{"help", no_argument, NULL, OPT_HELP},
		{"version", no_argument, NULL, DP_OPT_VERSION},
		{NULL, 0, NULL, 0},
	};
	static const dp_cli_spec spec = {"", longopts, OPT_HELP, usage, status_option};
	int rc = dp_cli_getopt(&spec, argc, argv, a, NULL, NULL);

	if (rc >= 0)
		return rc;
	a->roots = argv + optind;
	a->nroots = (size_t)(argc - optind);
	if (a->claim != NULL && (a->report == NULL || strcmp(a->report, "-") != 0 || a->nroots == 0)) {
		dp_diag("--claim needs --record-run - and at least one ROOT");
		return DP_EXIT_USAGE;
	}
	if (a->report == NULL && a->db_retry_given) {
		dp_diag("--db-retry applies to --record-run only");
		return DP_EXIT_USAGE;
	}
	if (a->claim == NULL && a->claim_only != NULL) {
		dp_diag("%s applies to --claim only (docpipe run's recorder)", a->claim_only);
		return DP_EXIT_USAGE;
	}
	if (a->claim == NULL && a->nroots > 0) {
		dp_diag("unexpected argument '%s'", argv[optind]);
		return DP_EXIT_USAGE;
	}
	return -1;
}

/* Prints the status of the corpus in db (JSON or text).  Returns
 * DP_EXIT_OK, DP_EXIT_FAILED when the outcome tables are an older
 * docpipe's, not yet brought up to date (their runs and failures cannot
 * be read as they are), or DP_EXIT_SYSTEM; err set unless DP_EXIT_OK. */
static int show(PGconn *db, const struct args *a, dp_err *err)
{
	/* Another application's schema docpipe, or docpipe's damaged: said
	 * as what it is, not as a query that failed. */
	int bad = store_schema_check(db, err);
	if (bad != 0)
		return bad > 0 ? DP_EXIT_USAGE : DP_EXIT_SYSTEM;
	int old = dp_db_schema_old(db, DP_DB_NEEDS_OUTCOMES, err);

	if (old != 0)
		return old > 0 ? DP_EXIT_FAILED : DP_EXIT_SYSTEM;
	jv st = status_collect(db, (int)a->runs, (int)a->failures, err);
	/* A limit of the database's settings (temp_file_limit: many roots'
	 * counts sorted) is a configuration error, named, as the query's. */
	if (!jv_is_valid(st))
		return dp_db_limit_refused(dp_db_last_sqlstate(), err) ? DP_EXIT_USAGE : DP_EXIT_SYSTEM;
	return dp_cli_report(st, a->json, status_print, err) < 0 ? DP_EXIT_SYSTEM : DP_EXIT_OK;
}

/* The recorder's claim (claim_and_record), tried until it is made or
 * refused (store_patiently's attempt). */
struct claiming {
	const struct args *a;
	PGconn *db;
	status_live live;
	int refused; /* status_live_claim's 1 */
	int code;    /* the exit status of the last failure */
};

/* Connects (again, when lost), checks the schema, makes the tables and
 * claims.  0 (claimed or refused), -1 with err (maybe the database away
 * for a while), -2 with err for good (a login refused, a schema docpipe
 * not docpipe's, a database that takes no writes). */
static int try_claim(void *ctx, dp_err *err)
{
	struct claiming *c = ctx;

	c->code = DP_EXIT_SYSTEM;
	if (c->db != NULL && dp_db_lost(c->db)) {
		PQfinish(c->db);
		c->db = NULL;
	}
	if (c->db == NULL && (c->db = dp_db_connect(c->a->db_env, "docpipe-status", err)) == NULL) {
		c->code = dp_db_connect_status(err->msg);
		return c->code == DP_EXIT_USAGE ? -2 : -1;
	}
	/* A standby or a read-only database named first, as the store does:
	 * the claim's own failure there gave PostgreSQL's words ("cannot
	 * execute SELECT in a read-only transaction") before the hint.  Then
	 * the schema's check and the tables, under the schema lock: one
	 * check, not one before the lock and one in it (the claim is on every
	 * run's start). */
	int bad = dp_db_unwritable(c->db, err);
	int rc = bad == 0 ? store_outcome_ensure_checked(c->db, err) : -1;
	if (bad > 0 || rc > 0)
		c->code = DP_EXIT_USAGE;
	if (bad != 0 || rc > 0)
		return bad < 0 ? -1 : -2;
	if (rc == 0)
		rc = status_live_claim(c->db, &c->live, c->a->claim, c->a->roots, c->a->nroots, c->a->overlap,
				       err);
	if (rc < 0) {
		status_live_end(c->db, &c->live);
		if (!dp_db_open_refused(err))
			return -1;
		c->code = DP_EXIT_USAGE; /* a read-only database, a privilege */
		return -2;
	}
	c->refused = rc;
	return 0;
}

/* The report's input came (the report, or its end: the supervisor gone):
 * records it as status_record_run does.  With --tty-fd its messages (a
 * wait for the database, up to --db-retry) go to the terminal from now on:
 * the hub that showed the run's messages file has exited, and a wait would
 * be shown only after it. */
static int record_shown(const struct args *a, PGconn **db, dp_err *err)
{
	/* A stop ends a wait for the database, said (a run stopped by its
	 * user does not wait out --db-retry for its report). */
	dp_cli_handle_signals();
	if (a->tty_fd >= 0 && dup2((int)a->tty_fd, STDERR_FILENO) < 0)
		dp_diag("--tty-fd %ld: %s", a->tty_fd, strerror(errno));
	/* The claim made the tables on this connection (try_claim). */
	return status_record_run(db, a->db_env, a->report, (double)a->db_retry, 1, err);
}

/* --claim: the claim made, waiting up to --db-retry for a database that is
 * away (the run starts only once its roots are claimed: nothing is paid
 * meanwhile); its answer on stdout ("claimed", or "refused: WHY" and
 * DP_EXIT_USAGE, err empty: the supervisor says it), then the report
 * recorded, the claim held until then.  A schema docpipe not as docpipe
 * made it is DP_EXIT_USAGE, as for the stores (docpipe run stops at
 * once).  Input that ends before any report (the supervisor killed) lets
 * the claim go, said: DP_EXIT_INTERRUPTED.  Returns an exit status, err
 * set unless DP_EXIT_OK or said. */
static int claim_and_record(const struct args *a, dp_err *err)
{
	struct claiming c = {.a = a};
	pid_t supervisor = getppid();

	/* Until it answers, a recorder whose supervisor is gone (killed with
	 * -9) would wait on for nothing (--wait, a database away), then
	 * claim the roots for a run that is gone: the supervisor's death
	 * ends it (SIGTERM), and one gone already is seen once that is set. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0)
		dp_diag("prctl: %s: a recorder whose run is killed waits on", strerror(errno));
	if (getppid() != supervisor) {
		err->msg[0] = '\0';
		return DP_EXIT_INTERRUPTED;
	}
	if (store_patiently(try_claim, &c, (double)a->db_retry, err) < 0) {
		PQfinish(c.db);
		return c.code;
	}
	/* Answered: from now on its end lets the claim go, said. */
	if (prctl(PR_SET_PDEATHSIG, 0) < 0)
		dp_diag("prctl: %s", strerror(errno));
	if (c.refused)
		printf("refused: %s\n", err->msg);
	else
		printf("claimed\n");
	int rc = DP_EXIT_OK;
	if (fflush(stdout) != 0 || c.refused) {
		/* Refused: said by the supervisor, which stops the run with
		 * this status (the answer is for it); else it is gone. */
		if (!c.refused)
			dp_err_set(err, "writing the claim's answer failed");
		else
			err->msg[0] = '\0';
		rc = c.refused ? DP_EXIT_USAGE : DP_EXIT_SYSTEM;
	} else if (status_live_hold(c.db, &c.live, STDIN_FILENO, err) < 0) {
		rc = DP_EXIT_SYSTEM;
	} else if ((rc = record_shown(a, &c.db, err)) == -2) {
		dp_diag("no report came: the run's supervisor (pid %d) is gone (killed?); its claim on"
			" its roots is let go, nothing recorded", (int)supervisor);
		err->msg[0] = '\0';
		rc = DP_EXIT_INTERRUPTED;
	} else {
		rc = rc == -3 ? DP_EXIT_USAGE : rc < 0 ? DP_EXIT_SYSTEM : DP_EXIT_OK;
	}
	status_live_end(c.db, &c.live);
	PQfinish(c.db);
	return rc;
}

int main(int argc, char **argv)
{
	struct args a = {.runs = 5, .failures = 50, .db_retry = STORE_DB_RETRY_DEFAULT, .tty_fd = -1};
	dp_err err;
	int rc;

	dp_cli_init("status");
	if ((rc = parse(argc, argv, &a)) >= 0)
		return rc;
	dp_db_say_lock_waits(a.db_env, "docpipe-status-watch");
	if (a.claim != NULL) {
		rc = claim_and_record(&a, &err);
		if (rc != DP_EXIT_OK && err.msg[0] != '\0')
			dp_diag("%s", err.msg);
		return rc;
	}
	PGconn *db = NULL;
	if (a.report != NULL) {
		dp_cli_handle_signals();
		rc = status_record_run(&db, a.db_env, a.report, (double)a.db_retry, 0, &err);
		rc = rc == -3 ? DP_EXIT_USAGE : rc < 0 ? DP_EXIT_SYSTEM : DP_EXIT_OK;
	} else if ((db = dp_db_connect(a.db_env, "docpipe-status", &err)) == NULL) {
		dp_diag("%s", err.msg);
		return dp_db_connect_status(err.msg);
	} else {
		rc = show(db, &a, &err);
	}
	if (rc != DP_EXIT_OK && err.msg[0] != '\0')
		dp_diag("%s", err.msg);
	PQfinish(db);
	return rc;
}
