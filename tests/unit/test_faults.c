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
	T_EQ_INT(dp_db_unreachable("connection to server at \"h\" failed: Connection refused"), 1,
		 "refused connection: wait");
	T_EQ_INT(dp_db_unreachable("FATAL: the database system is starting up"), 1, "starting up: wait");
	T_EQ_INT(dp_db_unreachable("FATAL: database \"d\" is not currently accepting connections"), 1,
		 "not accepting connections: wait");
	T_EQ_INT(dp_db_unreachable("FATAL: role \"x\" is not permitted to log in"), 0, "NOLOGIN: give up");
	T_EQ_INT(dp_db_unreachable("FATAL: password authentication failed for user \"x\""), 0,
		 "bad password: give up");
	T_EQ_INT(dp_db_unreachable("FATAL: database \"nope\" does not exist"), 0, "no database: give up");
	T_EQ_INT(dp_db_environmental("25006"), 1, "read-only is the database's");
	T_EQ_INT(dp_db_environmental("53100"), 1, "disk full is the database's");
	T_EQ_INT(dp_db_environmental("42501"), 1, "no privilege is the database's");
	T_EQ_INT(dp_db_environmental("22021"), 0, "bad encoding is the document's");
	T_EQ_INT(dp_db_environmental(""), 0, "no SQLSTATE: not counted");
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
