#!/bin/bash
# docpipe's own maintenance under a role's statement_timeout (hosted
# PostgreSQL sets one for its applications, e.g. ALTER ROLE app SET
# statement_timeout = '5s'): it runs without it (src/lib/db.h,
# DP_DB_UNTIMED), as pg_dump and pg_restore do.  Each piece is made
# slower than the role's 1 s by a lock another session holds or by a
# large pending list:
# - the schema lock, held while another store migrates: the store's
#   start, the run's recorder (docpipe-status) and the result cache's
#   tables (docpipe-embed) wait for it; before, the store and docpipe-embed
#   exited 3 and the recorder waited as for a database outage;
# - a migration of an old database (its ALTER TABLE): before, exit 3 on
#   every start;
# - a vector index build (pgvector): before, exit 3 on every start and the
#   index stayed dropped (queries scanned exactly);
# - the full-text pending list's merge on the store's second connection
#   and at the input's pause: before, "merged by the writes instead", and
#   the final merge gave up without a word.
# vector-rerun: no (its index part is on the pgvector server already)
. "$(dirname "$0")/../lib/tap.sh"
set -o pipefail
cd "$T_DIR"
role=t_untimed_$BASHPID
STORE_LOCK_KEY=7237112460664137009 # store.h, 0x646f637069706531
# as_role: a new database owned by $role, whose statement_timeout is 1 s,
# and DATABASE_URL logging in as it (the test's own psql stays postgres).
as_role() {
	sql "DO \$\$BEGIN CREATE ROLE $role LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END\$\$" >/dev/null &&
		sql "ALTER ROLE $role SET statement_timeout = '1s'" >/dev/null &&
		sql "ALTER DATABASE $PGDATABASE OWNER TO $role" >/dev/null &&
		export DATABASE_URL="postgresql:///$PGDATABASE?host=$PGHOST&port=$PGPORT&user=$role"
}
# waits_past_timeout APP [N] [WHAT]: N (1) sessions of application APP (a
# regex) have waited on a lock (WHAT: its wait_event, else any) for more
# than 2 s, twice the role's timeout, in one statement.
waits_past_timeout() {
	wait_for 60 sql_ge "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
		AND application_name ~ '^($1)\$' AND wait_event_type = 'Lock' AND wait_event ~ '${3:-.}'
		AND now() - query_start > interval '2 s'" "${2:-1}"
}
# quiet FILE: FILE has no word of a timeout or an outage.
quiet() {
	if grep -q "statement timeout\|waiting up to\|instead" "$1"; then
		ok 1 "$2"
		sed 's/^/# /' "$1"
	else
		ok 0 "$2"
	fi
}

# The schema lock held for longer than the timeout, as a store migrating
# a large table holds it.
newdb && as_role || exit 1
numbered_docs "$T_DIR/docs" 3 6 doc
hold_lock migrating "SELECT pg_advisory_xact_lock($STORE_LOCK_KEY)"
ok $? "another session holds the schema lock"
docpipe run "$T_DIR/docs" --progress none >run.json 2>run.err &
run=$!
docpipe-store </dev/null >/dev/null 2>store.err &
store=$!
OPENAI_BASE_URL=http://127.0.0.1:1/v1 OPENAI_API_KEY=x docpipe-embed --backend openai </dev/null >/dev/null 2>embed.err &
embed=$!
waits_past_timeout "docpipe-status|docpipe-store|docpipe-embed" 3 advisory
ok $? "the run's recorder, a store and the result cache wait for it beyond the role's statement_timeout" ||
	sql "SELECT application_name, state, wait_event, now() - query_start FROM pg_stat_activity
		WHERE datname = current_database()" | sed 's/^/# /'
release_lock migrating
wait $store
is "$?" 0 "the store then starts (no input: exit 0)"
quiet store.err "... without a timeout"
wait $embed
is "$?" 0 "docpipe-embed then makes its cache's tables (no input: exit 0)"
quiet embed.err "... without a timeout"
wait $run
is "$?/$(jq -c '[.added, .failed]' run.json)" "0/[3,0]" "the run then stores its documents" ||
	sed 's/^/# /' run.err store.err embed.err
quiet run.err "... without a timeout or a wait for the database"

# A migration that waits (a reader holds the old chunks table): before,
# exit 3 on every start.
newdb && as_role || exit 1
psql -X -q -v ON_ERROR_STOP=1 -U "$role" -f "$TOP/tests/data/old-schema/0cd28be.sql" >/dev/null
ok $? "a database an older docpipe made, owned by the role"
hold_lock reader "SELECT count(*) FROM docpipe.chunks"
docpipe-store </dev/null >/dev/null 2>migrate.err &
store=$!
waits_past_timeout docpipe-store
ok $? "the migration waits for the reader beyond the role's statement_timeout"
release_lock reader
wait $store
is "$?" 0 "then the store brings the database up to date"
is "$(sql "SELECT count(*) FROM pg_attribute WHERE attrelid = 'docpipe.chunks'::regclass AND attname IN ('byte_start', 'tsv')")" 2 \
	"... (provenance and full-text columns added)"
quiet migrate.err "... without a timeout"

# The vector index's build (a bulk load's, repaired at the next start)
# while a writer holds the table: before, exit 3 on every start, the
# index never built.
if newdb_pgvector && as_role; then
	sql "CREATE EXTENSION IF NOT EXISTS vector" >/dev/null
	gen_docs --docs 20 --chunks 5 --dim 8 | docpipe-store -q >/dev/null 2>&1
	is "$?/$(vector_indexes)" "0/chunks_embedding_hnsw" "pgvector: a corpus with its HNSW index"
	sql "DROP INDEX docpipe.chunks_embedding_hnsw; INSERT INTO docpipe.settings VALUES ('index_state', 'building')
		ON CONFLICT (key) DO UPDATE SET value = 'building'" >/dev/null
	hold_lock writer "LOCK TABLE docpipe.chunks IN ROW EXCLUSIVE MODE"
	docpipe-store </dev/null >/dev/null 2>index.err &
	store=$!
	waits_past_timeout docpipe-store
	ok $? "the index build waits for the writer beyond the role's statement_timeout"
	release_lock writer
	wait $store
	is "$?/$(vector_indexes)/$(db_setting index_state)" "0/chunks_embedding_hnsw/ready" "then the index is built"
	quiet index.err "... without a timeout"
else
	skip "pgvector: $PGVECTOR_SKIP"
fi

# The full-text pending list's merge, over a list that takes seconds
# (another writer's 10,000 chunks, which its size let wait: a large
# gin_pending_list_limit on the index).
newdb && as_role || exit 1
gen_docs --docs 1 --chunks 1 --dim 8 | docpipe-store -q >/dev/null 2>&1
is "$?" 0 "a corpus"
sql "CREATE EXTENSION IF NOT EXISTS pgstattuple" >/dev/null
pending() { sql "SELECT pending_tuples FROM pgstatginindex('docpipe.chunks_tsv')"; }
# A short tail is left at a store's end, merged at the next store's start
# (store_fulltext_end, store_fulltext_merge_left): the list is filled once
# this store's start merged it, so that the merge seen is the pause's.
is "$(pending)" 1 "the first store left its one chunk in the pending list"
mkfifo in
docpipe-store <in >receipts.ndjson 2>merge.err &
store=$!
exec 3>in
wait_for 60 sql_ge "SELECT (pending_tuples = 0)::int FROM pgstatginindex('docpipe.chunks_tsv')" 1
ok $? "the next store's start merges it"
sql "ALTER INDEX docpipe.chunks_tsv SET (gin_pending_list_limit = 2000000);
	INSERT INTO docpipe.chunks (document_id, seq, content, tsv)
	SELECT (SELECT min(id) FROM docpipe.documents), 1000 + g, 'x',
		array_to_tsvector(ARRAY(SELECT md5((g * 40 + k)::text) FROM generate_series(1, 40) k))
	FROM generate_series(1, 10000) g" >/dev/null
is "$(pending)" 10000 "10,000 chunks in the pending list"
gen_docs --docs 1 --chunks 2 --dim 8 --prefix /more >&3
# The input stays open: the merge is the pause's (on the second
# connection), not the end's.
wait_for 120 sql_ge "SELECT (pending_tuples = 0)::int FROM pgstatginindex('docpipe.chunks_tsv')" 1
ok $? "the input pauses: the pending list is merged"
exec 3>&-
wait $store
is "$?/$(jq -r 'select(.kind == "receipt") | .status' receipts.ndjson)" "0/stored" "the store exits 0, its document stored"
quiet merge.err "... without a timeout or a merge left to the writes"
done_testing
