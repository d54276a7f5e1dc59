#include "fulltext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

static const char *requested;

void store_fulltext_request(const char *name)
{
	requested = name;
}

/* array_to_string is only STABLE (element output functions in general may
 * change); for text[] it is immutable, which a generated column needs. */
static const char heading_fn[] =
	"CREATE OR REPLACE FUNCTION docpipe.heading_text(text[]) RETURNS text"
	" LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$SELECT array_to_string($1, ' ')$$";

/* The recorded configuration ("" when none) into out.  0 or -1 with err. */
static int recorded_config(PGconn *db, char *out, size_t size, dp_err *err)
{
	PGresult *res = dp_db_query(db, "SELECT value FROM docpipe.settings WHERE key = 'text_config'",
				    0, NULL, err);

	if (res == NULL)
		return -1;
	snprintf(out, size, "%s", PQntuples(res) > 0 ? PQgetvalue(res, 0, 0) : "");
	PQclear(res);
	return 0;
}

/* The oid of configuration name, checked by the server's own parser of
 * regconfig (the column expression then holds a number we read back, not
 * text from the command line), and its canonical name into canon.
 * Returns the oid, or 0 with err. */
static unsigned config_oid(PGconn *db, const char *name, char *canon, size_t size, dp_err *err)
{
	const char *params[] = {name};
	dp_err why;
	PGresult *res = dp_db_query(db, "SELECT $1::regconfig::oid, $1::regconfig::text", 1, params, &why);

	if (res == NULL) {
		dp_err_set(err, "--text-config: '%s' is not a text search configuration of this"
			   " server (see \\dF in psql): %s", name, why.msg);
		return 0;
	}
	unsigned oid = (unsigned)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
	snprintf(canon, size, "%s", PQgetvalue(res, 0, 1));
	PQclear(res);
	return oid;
}

/* 1 when docpipe.chunks has the tsv column, 0 when not, -1 with err. */
static int has_column(PGconn *db, dp_err *err)
{
	PGresult *res = dp_db_query(db,
		"SELECT 1 FROM pg_attribute WHERE attrelid = 'docpipe.chunks'::regclass"
		" AND attname = 'tsv' AND NOT attisdropped", 0, NULL, err);

	if (res == NULL)
		return -1;
	int n = PQntuples(res);
	PQclear(res);
	return n > 0;
}

static int build(PGconn *db, unsigned oid, const char *name, dp_err *err)
{
	char sql[768];

	snprintf(sql, sizeof sql,
		 "ALTER TABLE docpipe.chunks ADD COLUMN tsv tsvector GENERATED ALWAYS AS ("
		 "setweight(to_tsvector(%u::oid::regconfig, coalesce(docpipe.heading_text(heading), '')), 'A')"
		 " || setweight(to_tsvector(%u::oid::regconfig, coalesce(summary, '')), 'B')"
		 " || to_tsvector(%u::oid::regconfig, content)) STORED", oid, oid, oid);
	if (dp_db_exec(db, heading_fn, err) < 0 || dp_db_exec(db, sql, err) < 0 ||
	    dp_db_exec(db, "CREATE INDEX chunks_tsv ON docpipe.chunks USING gin (tsv)", err) < 0)
		return -1;
	const char *params[] = {name};
	PGresult *res = dp_db_query(db,
		"INSERT INTO docpipe.settings (key, value) VALUES ('text_config', $1)"
		" ON CONFLICT (key) DO UPDATE SET value = excluded.value", 1, params, err);
	PQclear(res);
	return res != NULL ? 0 : -1;
}

int store_fulltext_ensure(PGconn *db, dp_err *err)
{
	char have[128], want[128];
	int col;

	if (recorded_config(db, have, sizeof have, err) < 0 || (col = has_column(db, err)) < 0)
		return -1;
	if (col == 1 && requested == NULL)
		return 0;
	unsigned oid = config_oid(db, requested != NULL ? requested
				  : have[0] != '\0' ? have : STORE_TEXT_CONFIG_DEFAULT,
				  want, sizeof want, err);
	if (oid == 0)
		return -1;
	if (col == 1 && strcmp(want, have) == 0)
		return 0;
	if (col == 1 && dp_db_exec(db, "ALTER TABLE docpipe.chunks DROP COLUMN tsv", err) < 0)
		return -1; /* the GIN index goes with its column */
	return build(db, oid, want, err);
}
