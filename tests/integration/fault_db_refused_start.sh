#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# A database that no wait mends, met as a run starts, is a configuration
# error: exit 2 at once, saying what to change, nothing restarted (fault
# sweep 11).  Before, each was waited for as a database away, the whole
# --db-retry (300 s), then status 3 (the store restarted by the
# supervisor):
# - DATABASE_URL with sslmode=require (or gssencmode=require) against a
#   server without SSL: libpq's own words, no SQLSTATE
#   (dp_db_unreachable's permanent list, src/lib/db.c);
# - a database that takes no writes (default_transaction_read_only on
#   for it, a standby): SQLSTATE 25006 at the schema's CREATE, which
#   docpipe run's claim and summarize's result cache meet first
#   (dp_db_refused_for_good, dp_db_open_refused); the store asks first
#   (dp_db_unwritable), its start writing nothing on an up-to-date corpus;
# - a database whose encoding is not UTF-8 (LATIN1: fault sweep 20): the
#   store exited 3 at the first character LATIN1 lacks, restarted until
#   the run stopped (status 3, 28 s), no file named (dp_db_connect,
#   DP_DB_NOT_UTF8).
# The same database turned read-only mid-run stops the store with exit 4
# (fault_db_outage.sh).
. "$(dirname "$0")/../lib/tap.sh"
mkdir -p "$T_DIR/docs" && printf '# A\n\ntext\n' >"$T_DIR/docs/a.md"
newdb || exit 1

# exits_at_once NAME WANT-REGEX COMMAND...: exit 2 within 30 s (the wait
# was --db-retry's 300 s: killed, 124), not "waiting up to", stderr
# matching WANT.
exits_at_once() {
	local name=$1 want=$2 start=$SECONDS
	shift 2
	timeout 30 "$@" </dev/null >/dev/null 2>"$T_DIR/err"
	local rc=$? took=$((SECONDS - start))
	is "$rc" 2 "$name: exit 2" || diag "$(cut -c1-300 "$T_DIR/err")"
	ok "$(! grep -q 'waiting up to' "$T_DIR/err"; echo $?)" \
		"... at once ($took s), not waiting for the database"
	like "$(cat "$T_DIR/err")" "$want" "... saying why" || diag "$(cut -c1-300 "$T_DIR/err")"
}

# The run's server listens on 127.0.0.1 without SSL (tests/lib/pg.sh).
ssl_url="postgresql://$PGUSER@127.0.0.1:$PGPORT/$PGDATABASE?sslmode=require"
DATABASE_URL=$ssl_url exits_at_once "docpipe-store, sslmode=require, a server without SSL" \
	'server does not support SSL, but SSL was required' docpipe-store --db-retry 300
DATABASE_URL=$ssl_url exits_at_once "docpipe run, sslmode=require" \
	'server does not support SSL, but SSL was required' docpipe run "$T_DIR/docs" --progress none
DATABASE_URL="postgresql://$PGUSER@127.0.0.1:$PGPORT/$PGDATABASE?gssencmode=require" \
	exits_at_once "docpipe-store, gssencmode=require" 'GSSAPI encryption required' \
	docpipe-store --db-retry 300

# A database that takes no writes from its first statement on.
sql "ALTER DATABASE \"$PGDATABASE\" SET default_transaction_read_only = on"
read_only='the database takes no writes: default_transaction_read_only is on'
# The run's claim (docpipe-status --record-run --claim) names it first, as
# the store does (dp_db_unwritable): it said PostgreSQL's "cannot execute
# CREATE SCHEMA in a read-only transaction", the cause after it (fault
# sweep 21b, a standby: "cannot execute SELECT ...").
exits_at_once "docpipe run, a read-only database" "docpipe-status: $read_only" \
	docpipe run "$T_DIR/docs" --progress none
ok "$(! grep -q 'hub on\|restarting it' "$T_DIR/err"; echo $?)" "... no stage started, none restarted" ||
	diag "$(cut -c1-300 "$T_DIR/err")"
exits_at_once "docpipe-store, a read-only database" "$read_only" docpipe-store --db-retry 300
fakeapi
OPENAI_API_KEY=k exits_at_once "docpipe-summarize's result cache, a read-only database" "$read_only" \
	docpipe-summarize --backend openai --base-url "$BASE/v1"

# A LATIN1 database: refused by every program at its connection.
latin1="${PGDATABASE}_latin1"
createdb -E LATIN1 -T template0 -l C "$latin1" || exit 1
printf '# 東京\n\ntext\n' >"$T_DIR/docs/東京.md"
not_utf8='its encoding is LATIN1, which cannot hold every text docpipe stores'
DATABASE_URL="postgresql:///$latin1?host=$PGHOST&port=$PGPORT&user=$PGUSER" \
	exits_at_once "docpipe run, a LATIN1 database" "$not_utf8" docpipe run "$T_DIR/docs" --progress none
ok "$(! grep -q 'hub on\|restarting it' "$T_DIR/err"; echo $?)" "... no stage started, none restarted" ||
	diag "$(cut -c1-300 "$T_DIR/err")"
DATABASE_URL="postgresql:///$latin1?host=$PGHOST&port=$PGPORT&user=$PGUSER" \
	exits_at_once "docpipe-store, a LATIN1 database" "$not_utf8" docpipe-store --db-retry 300
dropdb "$latin1"
rm "$T_DIR/docs/東京.md"

# Writable again: the same run stores its document.
psql -X -q -d postgres -c "ALTER DATABASE \"$PGDATABASE\" RESET default_transaction_read_only"
docpipe run "$T_DIR/docs" --progress none >"$T_DIR/report" 2>"$T_DIR/err"
is "$?/$(jq -r .added "$T_DIR/report")" 0/1 "the database writable again: the run stores the document" ||
	diag "$(cut -c1-300 "$T_DIR/err")"

# Read-only again under an up-to-date corpus: the store's start writes
# nothing there, and met the refusal only at its first outcome: exit 4,
# "the database refuses every write", no cause named (fault sweep 21b).
sql "ALTER DATABASE \"$PGDATABASE\" SET default_transaction_read_only = on"
exits_at_once "docpipe-store, a read-only database holding an up-to-date corpus" "$read_only" \
	docpipe-store --db-retry 300
psql -X -q -d postgres -c "ALTER DATABASE \"$PGDATABASE\" RESET default_transaction_read_only"
done_testing
