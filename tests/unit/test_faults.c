/* The pure parts of issue 7's fault handling: the end-record proof a sweep
 * needs (endrec.c), the classification of database failures (db.c), and
 * the hub noticing replicas that exit or fall silent (hub.c). */
#include <string.h>

#include "../../src/hub/hub.h"
#include "db.h"
#include "endrec.h"
#include "record.h"
#include "t.h"

static jv rec_of(const char *json)
{
	dp_err err;
	return dp_record_parse(json, strlen(json), &err);
}

static void test_end_proof(void)
{
	char why[256];
	jv end = rec_of("{\"kind\":\"end\",\"records\":3,\"status\":0,\"complete\":true}");

	T_EQ_INT(dp_end_proves(end, 3, why, sizeof why), 1, "end record, counts match: proven");
	T_EQ_INT(dp_end_proves(end, 2, why, sizeof why), 0, "a record missing: not proven");
	T_OK(strstr(why, "wrote 3 records but 2 arrived") != NULL, "says the counts");
	jv_free(end);
	T_EQ_INT(dp_end_proves(jv_invalid(), 3, why, sizeof why), 0, "no end record: not proven");
	T_OK(strstr(why, "discovery did not finish") != NULL, "says discovery did not finish");
	end = rec_of("{\"kind\":\"end\",\"records\":3,\"status\":1,\"complete\":true}");
	T_EQ_INT(dp_end_proves(end, 3, why, sizeof why), 1, "status 1 (error records) still proves");
	jv_free(end);
	end = rec_of("{\"kind\":\"end\",\"records\":3,\"status\":1,\"complete\":false}");
	T_EQ_INT(dp_end_proves(end, 3, why, sizeof why), 0, "a directory unread: not proven");
	jv u = dp_end_unread(end);
	T_EQ_INT(jv_array_length(u), 0, "no unread paths listed");
	jv_free(end);
	/* Each part not read named: proven, what is under them kept. */
	end = rec_of("{\"kind\":\"end\",\"records\":3,\"status\":0,\"complete\":false,\"unread\":[\"/r/a\",\"/r/b\"]}");
	T_EQ_INT(dp_end_proves(end, 3, why, sizeof why), 1, "unread directories listed: proven");
	u = dp_end_unread(end);
	jv second = jv_array_get(u, 1);
	T_EQ_STR(jv_string_value(second), "/r/b", "the unread paths");
	jv_free(second);
	jv_free(end);
	end = rec_of("{\"kind\":\"end\",\"records\":3,\"status\":0,\"complete\":false,\"unread\":[\"/r/a\",7]}");
	T_EQ_INT(dp_end_proves(end, 3, why, sizeof why), 0, "a list that is not of paths: not proven");
	u = dp_end_unread(end);
	T_EQ_INT(jv_array_length(u), 0, "and no path taken from it");
	jv_free(end);
	end = rec_of("{\"kind\":\"end\",\"records\":3,\"status\":0,\"complete\":false,\"unread\":[]}");
	T_EQ_INT(dp_end_proves(end, 3, why, sizeof why), 0, "an empty list: not proven");
	jv_free(end);
	end = rec_of("{\"kind\":\"end\",\"records\":3,\"status\":3,\"complete\":true}");
	T_EQ_INT(dp_end_proves(end, 3, why, sizeof why), 0, "status 3: not proven");
	jv_free(end);
	end = rec_of("{\"kind\":\"file\",\"records\":3,\"status\":0,\"complete\":true}");
	T_EQ_INT(dp_end_proves(end, 3, why, sizeof why), 0, "another kind is no proof");
	jv_free(end);
	end = rec_of("{\"kind\":\"end\",\"status\":0,\"complete\":true}");
	T_EQ_INT(dp_end_proves(end, 0, why, sizeof why), 0, "no count: not proven");
	jv_free(end);
}

static void test_db_classes(void)
{
	/* By SQLSTATE: the server's words are in its language. */
	T_EQ_INT(dp_db_unreachable("", "connection to server at \"h\" failed: Connection refused"), 1,
		 "refused connection (no SQLSTATE): wait");
	T_EQ_INT(dp_db_unreachable("57P03", "FATAL: Das Datenbanksystem startet"), 1, "starting up: wait");
	T_EQ_INT(dp_db_unreachable("53300", "FATAL: zu viele Verbindungen"), 1, "too many connections: wait");
	T_EQ_INT(dp_db_unreachable("55000", "FATAL: database \"d\" is not currently accepting connections"), 1,
		 "not accepting connections: wait");
	T_EQ_INT(dp_db_unreachable("28000", "FATAL: Rolle »x« hat keine Berechtigung zum Einloggen"), 0,
		 "NOLOGIN, in German: give up");
	T_EQ_INT(dp_db_unreachable("28000", "FATAL: pg_hba.conf rejects connection for host"), 0,
		 "a pg_hba.conf reject line: give up");
	T_EQ_INT(dp_db_unreachable("28P01", "FATAL: Passwort-Authentifizierung für Benutzer »x« fehlgeschlagen"), 0,
		 "bad password: give up");
	T_EQ_INT(dp_db_unreachable("3D000", "FATAL: Datenbank »nope« existiert nicht"), 0, "no database: give up");
	T_EQ_INT(dp_db_unreachable("42501", "FATAL: Zugriff auf Datenbank »d« verweigert"), 0,
		 "no CONNECT privilege: give up");
	T_EQ_INT(dp_db_unreachable("57P03", "FATAL: the password file says nothing"), 1,
		 "a SQLSTATE decides alone");
	/* libpq's own words, no SQLSTATE. */
	T_EQ_INT(dp_db_unreachable(NULL, "connection to server failed: fe_sendauth: no password supplied"), 0,
		 "no password supplied: give up");
	T_EQ_INT(dp_db_unreachable("", "SSL error: certificate verify failed"), 0, "certificate: give up");
	T_EQ_INT(dp_db_unreachable("", "invalid sslmode value: \"bogus\""), 0, "misconfigured: give up");
	T_EQ_INT(dp_db_unreachable("", "connection to server at \"h\" (127.0.0.1), port 5432 failed: server does"
				   " not support SSL, but SSL was required"), 0,
		 "sslmode=require, a server without SSL: give up");
	T_EQ_INT(dp_db_unreachable("", "connection to server at \"h\" failed: GSSAPI encryption required but"
				   " was impossible (possibly no credential cache, no server support, or"
				   " using a local socket)"), 0, "gssencmode=require: give up");
	T_EQ_INT(dp_db_unreachable("25006", "CREATE SCHEMA IF NOT EXISTS docpipe: cannot execute CREATE SCHEMA"
				   " in a read-only transaction"), 0, "a database that takes no writes: give up");
	T_EQ_INT(dp_db_unreachable("", "connection to server at \"h\" failed: SSL SYSCALL error: EOF detected"),
		 1, "an SSL connection cut: wait");

	/* libpq's verbose message as the default verbosity shows it, and the
	 * last host's SQLSTATE. */
	char line[DP_ERR_MAX], st[6];
	dp_db_login_message("connection to server on socket \"/tmp/.s.PGSQL.5432\" failed: FATAL:  3D000: "
			    "Datenbank »nope« existiert nicht\nLOCATION:  InitPostgres, postinit.c:885\n",
			    line, sizeof line, st);
	T_EQ_STR(line, "connection to server on socket \"/tmp/.s.PGSQL.5432\" failed: FATAL: Datenbank »nope«"
		       " existiert nicht", "SQLSTATE and LOCATION taken out");
	T_EQ_STR(st, "3D000", "the SQLSTATE");
	dp_db_login_message("connection to server at \"a\" (10.0.0.1), port 5432 failed: FATAL:  57P03: "
			    "the database system is starting up\nLOCATION:  f, p.c:1\n"
			    "connection to server at \"b\" (10.0.0.2), port 5432 failed: Connection refused\n"
			    "\tIs the server running on that host and accepting TCP/IP connections?\n",
			    line, sizeof line, st);
	T_EQ_STR(st, "", "several hosts: the last one's (none)");
	T_OK(strstr(line, "FATAL: the database system is starting up connection to server at \"b\"") != NULL,
	     "every host's failure said");
	dp_db_login_message("connection to server at \"a\" (10.0.0.1), port 5432 failed: Connection refused\n"
			    "connection to server at \"b\" (10.0.0.2), port 5432 failed: ВАЖНО:  28000: "
			    "роль \"x\" не имеет права входа\nDETAIL:  ABCDE: x\nLOCATION:  f, p.c:1\n",
			    line, sizeof line, st);
	T_EQ_STR(st, "28000", "several hosts: the last one's");
	T_OK(strstr(line, "failed: ВАЖНО: роль \"x\" не имеет права входа DETAIL: ABCDE: x") != NULL &&
		     strstr(line, "LOCATION") == NULL,
	     "a DETAIL line kept as it is");
	dp_db_login_message("fe_sendauth: no password supplied\n", line, sizeof line, st);
	T_EQ_STR(st, "", "libpq's own message: no SQLSTATE");
	T_EQ_INT(dp_db_environmental("25006"), 1, "read-only is the database's");
	T_EQ_INT(dp_db_environmental("53100"), 1, "disk full is the database's");
	T_EQ_INT(dp_db_environmental("42501"), 1, "no privilege is the database's");
	T_EQ_INT(dp_db_environmental("22021"), 0, "bad encoding is the document's");
	T_EQ_INT(dp_db_environmental(""), 0, "no SQLSTATE: not counted");

	/* 53400: the setting PostgreSQL's words name, in any language. */
	dp_err e;
	dp_err_set(&e, "recording the outcomes failed: query failed: Größe der temporären Datei"
		   " überschreitet temp_file_limit (0kB)");
	T_EQ_INT(dp_db_limit_refused("53400", &e), 1, "53400: a limit of the settings");
	T_OK(strstr(e.msg, "(0kB) (a limit") != NULL && strstr(e.msg, "session: temp_file_limit;") != NULL &&
		     strstr(e.msg, "SET temp_file_limit = ...") != NULL,
	     "... the setting named from the server's words (German), how to raise it");
	dp_err_set(&e, "query failed: too many of them");
	T_EQ_INT(dp_db_limit_refused("53400", &e), 1, "53400 naming no setting");
	T_OK(strstr(e.msg, "raise the setting named") != NULL, "... still said as a limit");
	dp_err_set(&e, "query failed: disk full");
	T_EQ_INT(dp_db_limit_refused("53100", &e), 0, "another SQLSTATE: not a limit");
	T_EQ_STR(e.msg, "query failed: disk full", "... its words untouched");
}

static void test_silent(void)
{
	static hub_stats s;
	jv m = rec_of("{\"kind\":\"stats\",\"stage\":\"embed\",\"host\":\"a\",\"pid\":1}");

	hub_stats_update(&s, m);
	jv_free(m);
	double t = dp_clock_s();
	T_EQ_INT(hub_stats_silent(&s, t), 0, "a replica just heard from is alive");
	T_EQ_INT(hub_stats_silent(&s, t + HUB_SILENT_S + 1), 1, "silent for HUB_SILENT_S: dead");
	T_EQ_INT(hub_stats_silent(&s, t + HUB_SILENT_S + 2), 0, "counted once");
	m = rec_of("{\"kind\":\"stats\",\"stage\":\"embed\",\"host\":\"a\",\"pid\":1}");
	hub_stats_update(&s, m);
	jv_free(m);
	T_EQ_INT(hub_stats_silent(&s, dp_clock_s()), 0, "heard from again: alive");
	m = rec_of("{\"kind\":\"stats\",\"stage\":\"embed\",\"host\":\"a\",\"pid\":1,\"final\":true}");
	hub_stats_update(&s, m);
	jv_free(m);
	T_EQ_INT(hub_stats_silent(&s, dp_clock_s()), 1, "its goodbye: ended (what it held is re-sent)");
}

int main(void)
{
	test_end_proof();
	test_db_classes();
	test_silent();
	return t_done();
}
