#!/bin/bash
# Settings a database, a role or the environment may impose on every
# session, which docpipe's sessions must not inherit (src/lib/db.c,
# dp_db_connect and session_setup; src/store/store.h,
# STORE_SESSION_SETTINGS; src/store/write.c, write_retrying):
# - client_encoding other than UTF8 (ALTER DATABASE, PGCLIENTENCODING):
#   under LATIN1 every non-ASCII character was stored double-encoded,
#   without a word; under WIN1252 documents failed;
# - default_transaction_isolation = serializable: store replicas side by
#   side failed a fifth of the documents with 40001;
# - lock_timeout (20 ms): a store waiting on a lock failed its documents,
#   and its start read as a database outage.
# - statement_timeout (a hosted database's role default): a document whose
#   write took longer failed on every run, never stored.
# - extra_float_digits -15: docpipe-query's text scores read as one digit.
# - search_path with a schema before pg_catalog: its now() stamped the documents.
# - session_replication_role replica: a swept document's chunks stayed.
# - idle_in_transaction_session_timeout 1 ms: the store's sessions cut mid-write.
# - temp_file_limit 0 (work_mem 64kB): a spill said as a database refusing every write.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
D=$T_DIR/docs
mkdir -p "$D"
printf '# Café naïve 東京\n\nRésumé of 東京 text, 0x9d: 東.\n' >"$D/utf8.md"
pipeline() { docpipe-discover "$D" | docpipe-chunk | docpipe-embed | docpipe-store -q; }
stored() { PGCLIENTENCODING=UTF8 sql "SELECT string_agg(content, '|' ORDER BY seq) FROM docpipe.chunks"; }
want=$(cat "$D/utf8.md")

sql "ALTER DATABASE $PGDATABASE SET client_encoding = 'LATIN1'"
out=$(pipeline 2>&1 >/dev/null)
is "$?/$(stored)" "0/$want" "a database whose client_encoding is LATIN1: the text stored as written"
if grep -qi "encoding\|error\|fail" <<<"$out"; then ok 1 "without a word"; diag "$out"; else ok 0 "without a word"; fi
got=$(docpipe-query --json --mode text "naïve" | jq -r .path)
like "$got" "utf8\.md$" "and found by its non-ASCII word"

# extra_float_digits -15 (fault sweep 21b): a float's text has one digit,
# and docpipe-query's text scores were read as "score": 6, tied.
sql "ALTER DATABASE $PGDATABASE SET extra_float_digits = -15"
like "$(docpipe-query --json --mode text "naïve" | jq .score)" '^[0-9]+\.[0-9]{5,}' \
	"a database's extra_float_digits -15: text scores read exactly"
sql "ALTER DATABASE $PGDATABASE RESET extra_float_digits"
sql "ALTER DATABASE $PGDATABASE RESET client_encoding"
printf 'and 東京 again\n' >>"$D/utf8.md"
want=$(cat "$D/utf8.md")
PGCLIENTENCODING=WIN1252 pipeline >"$T_DIR/w.out" 2>&1
is "$?/$(stored)" "0/$want" "PGCLIENTENCODING=WIN1252 (no equivalent for byte 0x9d): stored as written"

# A search_path that puts a schema of its own before pg_catalog, whose
# now() answers 2001 (fault sweep 21b): it stamped every document's
# updated_at.  docpipe's sessions put pg_catalog first.
newdb || exit 1
sql "CREATE SCHEMA shadow; CREATE FUNCTION shadow.now() RETURNS timestamptz LANGUAGE sql AS \$\$SELECT '2001-01-01'::timestamptz\$\$;
	ALTER DATABASE $PGDATABASE SET search_path = shadow, pg_catalog, public" >/dev/null
pipeline 2>"$T_DIR/sp.err" >/dev/null
is "$?/$(sql "SELECT bool_and(updated_at > '2020-01-01') FROM docpipe.documents")" 0/t \
	"a search_path with a schema before pg_catalog: the system's now(), not that schema's" ||
	diag "$(cat "$T_DIR/sp.err")"

# session_replication_role = replica on the database (a superuser's
# replication or restore habit; fault sweep 21b): foreign keys are
# triggers, which replica does not fire, and each document the sweep
# deleted left its chunks for good.  A superuser's sessions set it back;
# another role, which may not, is refused by the store (exit 2).
newdb || exit 1
numbered_docs "$T_DIR/srr" 4 6 doc
sql "ALTER DATABASE $PGDATABASE SET session_replication_role = replica"
docpipe run "$T_DIR/srr" --progress none >/dev/null 2>&1
rm "$T_DIR/srr/doc1.md" "$T_DIR/srr/doc2.md"
docpipe run "$T_DIR/srr" --progress none >"$T_DIR/srr.json" 2>"$T_DIR/srr.err"
is "$?/$(jq -c .deleted "$T_DIR/srr.json")/$(sql "SELECT count(*) FROM docpipe.chunks c WHERE NOT EXISTS
	(SELECT FROM docpipe.documents d WHERE d.id = c.document_id)")" 0/2/0 \
	"session_replication_role replica: 2 documents swept, no chunk left behind" || diag "$(cat "$T_DIR/srr.err")"
ROLE="t_srr_$$_$RANDOM"
sql "CREATE ROLE $ROLE LOGIN; ALTER ROLE $ROLE SET session_replication_role = replica;
	GRANT USAGE ON SCHEMA docpipe TO $ROLE; GRANT ALL ON ALL TABLES IN SCHEMA docpipe TO $ROLE" >/dev/null
DATABASE_URL="postgresql:///$PGDATABASE?host=$PGHOST&port=$PGPORT&user=$ROLE" docpipe-store --db-retry 300 </dev/null \
	>/dev/null 2>"$T_DIR/srr.err"
is "$?" 2 "a role that may not set it back: the store exits 2"
like "$(cat "$T_DIR/srr.err")" "session_replication_role is not origin .* RESET session_replication_role" "... naming the mend"
sql "DROP OWNED BY $ROLE; DROP ROLE $ROLE" >/dev/null

# idle_in_transaction_session_timeout of 1 ms on the database (fault sweep
# 21b): kept as the user's, it cut the store's session between the
# statements of its transactions (the client computes there): a 3,972-file
# run stored 7 and stopped, status 3, 140 s.  docpipe's sessions raise a
# limit shorter than DP_DB_IDLE_TX_FLOOR (5 s) to it.
newdb || exit 1
numbered_docs "$T_DIR/iit" 300 40 doc
sql "ALTER DATABASE $PGDATABASE SET idle_in_transaction_session_timeout = '1ms'"
docpipe run "$T_DIR/iit" --progress none >"$T_DIR/iit.json" 2>"$T_DIR/iit.err"
is "$?/$(jq -c '[.added, .failed]' "$T_DIR/iit.json")" "0/[300,0]" \
	"a database's idle_in_transaction_session_timeout of 1 ms: every document stored" ||
	diag "$(head -c 600 "$T_DIR/iit.err")"

# Serializable by default, three store replicas writing side by side.
newdb || exit 1
sql "ALTER DATABASE $PGDATABASE SET default_transaction_isolation = 'serializable'"
numbered_docs "$T_DIR/many" 300 40 doc
docpipe run "$T_DIR/many" --replicas store=3 --progress none >"$T_DIR/r.json" 2>"$T_DIR/r.err"
is "$?/$(jq -c '[.added, .failed]' "$T_DIR/r.json")" "0/[300,0]" \
	"default_transaction_isolation serializable, 3 store replicas: every document stored"

# A role's lock_timeout of 20 ms: a store writing a document whose row
# another session holds waits for it, then stores.
newdb || exit 1
numbered_docs "$T_DIR/few" 3 6 doc
docpipe-discover "$T_DIR/few" | docpipe-chunk | docpipe-embed | docpipe-store -q >/dev/null
sql "ALTER DATABASE $PGDATABASE SET lock_timeout = '20ms'"
hold_lock holder "UPDATE docpipe.documents SET updated_at = now() WHERE path LIKE '%/doc2.md'"
ok $? "another session holds doc2's row"
echo more words >>"$T_DIR/few/doc2.md"
docpipe-discover "$T_DIR/few" | docpipe-chunk | docpipe-embed | docpipe-store >"$T_DIR/s.out" 2>"$T_DIR/s.err" &
store=$!
wait_for 30 sql_ge "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'docpipe-store' AND wait_event_type = 'Lock'
	AND datname = current_database()" 1
ok $? "the store waits on the lock (beyond the database's lock_timeout of 20 ms)"
release_lock holder
wait $store
is "$?/$(sql "SELECT count(*) FROM docpipe.chunks c JOIN docpipe.documents d ON d.id = c.document_id WHERE d.path LIKE '%/doc2.md' AND c.content LIKE '%more words%'")" \
	0/1 "then stores the document once the lock is released"
if grep -q "waiting up to\|database is back\|lock timeout" "$T_DIR/s.err"; then
	ok 1 "no outage or lock-timeout message"
	diag "$(cat "$T_DIR/s.err")"
else
	ok 0 "no outage or lock-timeout message"
fi

# A database's statement_timeout of 1 s and a document whose write
# takes 2 s (a trigger sleeps on its row: a large document on a busy
# server; at 100 ms, the store's own first statements met it at load 25): stored once, whole; before, it failed "canceling statement due
# to statement timeout" on every run.  The sweep keeps the timeout
# (store_sweep_batches).
newdb || exit 1
numbered_docs "$T_DIR/st" 3 6 doc
docpipe-discover "$T_DIR/st" | docpipe-chunk | docpipe-embed | docpipe-store -q >/dev/null
sql "CREATE FUNCTION public.t_slow() RETURNS trigger LANGUAGE plpgsql AS
	\$\$BEGIN PERFORM pg_sleep(2); RETURN NEW; END\$\$" >/dev/null
sql "CREATE TRIGGER t_slow BEFORE INSERT OR UPDATE ON docpipe.documents FOR EACH ROW
	WHEN (NEW.path LIKE '%/doc1.md') EXECUTE FUNCTION public.t_slow()" >/dev/null
sql "ALTER DATABASE $PGDATABASE SET statement_timeout = '1s'"
echo "words written later" >>"$T_DIR/st/doc1.md"
docpipe-discover "$T_DIR/st" | docpipe-chunk | docpipe-embed | docpipe-store >"$T_DIR/st.out" 2>"$T_DIR/st.err"
is "$?/$(jq -sc 'map(select(.kind == "receipt") | .status) | sort' "$T_DIR/st.out")" '0/["stored","unchanged","unchanged"]' \
	"a database's statement_timeout shorter than a document's write: the document is stored" ||
	sed 's/^/# /' "$T_DIR/st.err"
# (The test's own reading is no write: the database's 1 s could cancel
# it on a loaded machine.)
is "$(PGOPTIONS='-c statement_timeout=0' sql "SELECT count(*) FILTER (WHERE c.content LIKE '%words written later%') || '/' || (d.chunk_count = count(*))
	FROM docpipe.chunks c JOIN docpipe.documents d ON d.id = c.document_id
	WHERE d.path LIKE '%/doc1.md' GROUP BY d.chunk_count")" 1/true "once and whole"
is "$(sql "SELECT current_setting('statement_timeout')")" 1s "the database's setting still holds for other sessions"
# The outcome rows under that statement_timeout: a batch's failures whose
# recording takes 2 s (a trigger; 5,000 failed files under a role's 20 ms)
# were cancelled, and the store exited 3 and was restarted each time (fault
# sweep 19).  Now they are written untimed, as the documents.
sql "CREATE TRIGGER t_slow_failure BEFORE INSERT ON docpipe.failures FOR EACH ROW
	WHEN (NEW.path LIKE '%/bad.md') EXECUTE FUNCTION public.t_slow()" >/dev/null
printf '{"v":1,"kind":"error","path":"%s/bad.md","stage":"chunk","error":"invalid UTF-8 at byte 3","run":"r-slow"}\n' "$T_DIR/st" |
	docpipe-store >"$T_DIR/fail.out" 2>"$T_DIR/fail.err"
is "$?/$(jq -r .status "$T_DIR/fail.out")" 1/failed \
	"a failure whose recording outlasts the database's statement_timeout: recorded, exit 1 (a failure), not 3" ||
	sed 's/^/# /' "$T_DIR/fail.err"
is "$(PGOPTIONS='-c statement_timeout=0' sql "SELECT stage || ': ' || error FROM docpipe.failures WHERE path LIKE '%/bad.md'")" \
	"chunk: invalid UTF-8 at byte 3" "... in docpipe.failures"
# And a run's report (docpipe run's recorder): one of thousands of
# failures outlasted a role's 20 ms; the recorder took the cancel for the
# database away and waited (fault sweep 19).
sql "CREATE TRIGGER t_slow_run BEFORE INSERT OR UPDATE ON docpipe.runs FOR EACH ROW
	WHEN (NEW.id = 'r-slow-report') EXECUTE FUNCTION public.t_slow()" >/dev/null
docpipe-status --record-run - --db-retry 5 <<<'{"v":1,"kind":"report","run":"r-slow-report","complete":true,"documents":3}' \
	2>"$T_DIR/report.err"
is "$?/$(cat "$T_DIR/report.err")" 0/ "a run's report whose recording outlasts statement_timeout: recorded, nothing said"
is "$(PGOPTIONS='-c statement_timeout=0' sql "SELECT complete || '/' || documents FROM docpipe.runs WHERE id = 'r-slow-report'")" \
	true/3 "... in docpipe.runs"

# A role that may not create docpipe's schema (no CREATE on the
# database): a configuration error, exit 2 at once, saying what to grant;
# before, exit 3, and the supervisor restarted the stage 5 times.
newdb || exit 1
role=t_nocreate_$BASHPID
sql "CREATE ROLE $role LOGIN" >/dev/null
DATABASE_URL= PGUSER=$role docpipe-store </dev/null >/dev/null 2>"$T_DIR/p.err"
is "$?" 2 "a role without CREATE on the database: docpipe-store exits 2 (configuration)"
like "$(cat "$T_DIR/p.err")" "permission denied.*GRANT CREATE ON DATABASE" "saying what to grant"
DATABASE_URL= PGUSER=$role OPENAI_BASE_URL=http://127.0.0.1:1/v1 docpipe-embed --backend openai </dev/null >/dev/null 2>"$T_DIR/e.err"
is "$?" 2 "docpipe-embed with a remote backend (its result cache): exits 2"
if [ "$(wc -c <"$T_DIR/e.err")" -lt 600 ]; then ok 0 "its message names the statement, not the cache's whole script"; else ok 1 "its message names the statement, not the cache's whole script"; diag "$(cat "$T_DIR/e.err")"; fi
sql "DROP ROLE $role" >/dev/null

# temp_file_limit 0 with work_mem 64kB on the database (fault sweep 21b):
# a statement that spills fails with SQLSTATE 53400, a limit of the
# database's settings.  It was "the database refuses every write,
# stopping" (the store, exit 4) or a failed query (exit 3); now named, with
# how to raise it, exit 2 (configuration).  The store's two ways to meet it
# (its outcome rows, its documents' writes) come from a trigger raising
# PostgreSQL's own words: which of its statements spills is the data's.
newdb || exit 1
gen_docs --docs 600 --chunks 2 --dim 8 --run r1 >"$T_DIR/lim.ndjson"
docpipe-store -q <"$T_DIR/lim.ndjson" >/dev/null || exit 1
sql "ALTER DATABASE $PGDATABASE SET temp_file_limit = 0; ALTER DATABASE $PGDATABASE SET work_mem = '64kB'" >/dev/null
limit_words='temporary file size exceeds temp_file_limit \(0kB\) \(a limit .*: temp_file_limit; .*ALTER ROLE <role> SET temp_file_limit'
docpipe-query -k 1000 --mode vector --vector PeOkP2+HuT8S24c9IrlDv1XMi7+fWAA9R9SCvwfqt78= >/dev/null 2>"$T_DIR/lim.err"
is "$?" 2 "docpipe-query over temp_file_limit (-k 1000 spills): exit 2, a configuration error"
like "$(cat "$T_DIR/lim.err")" "$limit_words" "... naming the setting and how to raise it"
# docpipe-status the same: its count by root sorts every root (long ones
# here) and spills.
sql "UPDATE docpipe.documents SET root = repeat(path, 20)" >/dev/null
docpipe-status >/dev/null 2>"$T_DIR/lim.err"
is "$?" 2 "docpipe-status over temp_file_limit (its roots' counts spill): exit 2"
like "$(cat "$T_DIR/lim.err")" "docpipe-status: .*$limit_words" "... naming the setting and how to raise it"
sql "ALTER DATABASE $PGDATABASE RESET temp_file_limit; ALTER DATABASE $PGDATABASE RESET work_mem;
	CREATE FUNCTION over_limit() RETURNS trigger LANGUAGE plpgsql AS
	\$\$BEGIN RAISE EXCEPTION 'temporary file size exceeds temp_file_limit (0kB)' USING ERRCODE = '53400'; END\$\$;
	CREATE TRIGGER over_limit BEFORE INSERT ON docpipe.runs FOR EACH ROW EXECUTE FUNCTION over_limit()" >/dev/null
gen_docs --docs 3 --chunks 1 --dim 8 --run r2 --prefix /lim2 | docpipe-store -q >/dev/null 2>"$T_DIR/lim.err"
is "$?" 2 "the store's outcome rows over temp_file_limit: exit 2, a configuration error (was 4)"
like "$(cat "$T_DIR/lim.err")" "recording the outcomes failed \(SQLSTATE 53400\): .*$limit_words" "... naming it"
ok "$(! grep -q "refuses every write" "$T_DIR/lim.err"; echo $?)" "... not as a database that refuses every write"
sql "DROP TRIGGER over_limit ON docpipe.runs;
	CREATE TRIGGER over_limit BEFORE INSERT OR UPDATE ON docpipe.documents FOR EACH ROW EXECUTE FUNCTION over_limit()" >/dev/null
gen_docs --docs 5 --chunks 1 --dim 8 --run r3 --prefix /lim3 | docpipe-store -q >"$T_DIR/lim.out" 2>"$T_DIR/lim.err"
is "$?" 2 "documents failing alone over temp_file_limit, 3 in a row: the store stops, exit 2"
like "$(cat "$T_DIR/lim.err")" "3 documents in a row failed the same way \(SQLSTATE 53400\): .*$limit_words" "... naming it"

# A run's sweep when the role has no free connection slot at its go (the
# run's replicas still hold theirs): it waits as they do (--db-retry);
# before, it failed at once, the run exited 3 and the deleted files stayed.
newdb || exit 1
role=t_sweeper_$BASHPID
sql "CREATE ROLE $role LOGIN CONNECTION LIMIT 1" >/dev/null
sql "ALTER DATABASE $PGDATABASE OWNER TO $role" >/dev/null
numbered_docs "$T_DIR/sw" 3 6 doc
as_role() { DATABASE_URL= PGUSER=$role "$@"; }
docpipe-discover "$T_DIR/sw" | docpipe-chunk | docpipe-embed | as_role docpipe-store -q >/dev/null
is "$(sql 'SELECT count(*) FROM docpipe.documents')" 3 "stored by a role allowed one connection"
as_role env PGAPPNAME=slot psql -X -q -c "SELECT pg_sleep(600)" >/dev/null 2>&1 &
wait_for 30 sql_ge "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'slot'" 1
ok $? "another session holds the role's one slot"
rm -r "$T_DIR/sw" # the files gone: what a sweep deletes
echo go | as_role docpipe-store -q --sweep-on-go --sweep another-run "$T_DIR/sw" >/dev/null 2>"$T_DIR/sw.err" &
sweeper=$!
wait_for 30 grep -q "waiting up to" "$T_DIR/sw.err"
ok $? "the sweep waits for a connection slot"
release_lock slot
wait $sweeper
is "$?/$(sql 'SELECT count(*) FROM docpipe.documents')" 0/0 "then sweeps once the slot is free"
done_testing
