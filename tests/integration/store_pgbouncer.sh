#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# docpipe through PgBouncer in transaction pooling (the "pooler" URL of
# hosted PostgreSQL): each transaction may run on another server session,
# which serves other clients in between.  With DOCPIPE_DB_POOLED=1 a run
# with store replicas stores every document once, none failed, and another
# client of the pool sees none of docpipe's settings; without it, every
# program finds the pool out at connect (the pool's own process id) before
# it sets anything; with DOCPIPE_DB_POOLED=0 (said direct) the store finds
# the pooler out by its prepared statements (SQLSTATE 42P05/26000), says so
# once and stores every document all the same.  A pool in statement
# pooling (no transaction) is a configuration error met at the connection,
# exit 2 naming pool_mode (fault sweep 20: the claim waited --db-retry,
# 300 s, "server closed the connection unexpectedly", then status 3).
. "$(dirname "$0")/../lib/tap.sh"

PGB=$(command -v pgbouncer || ls /usr/sbin/pgbouncer 2>/dev/null)
if [ -z "$PGB" ]; then
	skip "no pgbouncer binary (scripts/install-deps installs it)"
	done_testing
fi
newdb || exit 1
chmod 755 "$T_DIR"
PORT=$(free_ports 1) || { ok 1 "a free port for pgbouncer"; done_testing; }
# pool: the run's; pool1: one server session, so that a second store
# meets the first one's prepared statements on it.
cat >"$T_DIR/pgb.ini" <<INI
[databases]
pool = host=127.0.0.1 port=$PGPORT dbname=$PGDATABASE user=$PGUSER
pool1 = host=127.0.0.1 port=$PGPORT dbname=$PGDATABASE user=$PGUSER pool_size=1
pool2 = host=127.0.0.1 port=$PGPORT dbname=$PGDATABASE user=$PGUSER pool_size=1
stmt = host=127.0.0.1 port=$PGPORT dbname=$PGDATABASE user=$PGUSER pool_mode=statement
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PORT
unix_socket_dir =
auth_type = any
pool_mode = transaction
default_pool_size = 6
max_client_conn = 200
ignore_startup_parameters = extra_float_digits
logfile = $T_DIR/pgb.log
pidfile = $T_DIR/pgb.pid
INI
as_user=()
[ "$(id -u)" = 0 ] && { chown nobody "$T_DIR" "$T_DIR/pgb.ini"; as_user=(runuser -u nobody --); }
"${as_user[@]}" "$PGB" -d "$T_DIR/pgb.ini" >"$T_DIR/pgb.out" 2>&1
wait_for 30 test -s "$T_DIR/pgb.pid"
PGB_PID=$(cat "$T_DIR/pgb.pid" 2>/dev/null)
ok $? "pgbouncer starts in transaction pooling"
[ -n "$PGB_PID" ] || { sed 's/^/# /' "$T_DIR/pgb.out" "$T_DIR/pgb.log"; done_testing; }
SERVERS+=("$PGB_PID")
POOL="postgresql://$PGUSER@127.0.0.1:$PORT/pool"

# The settings docpipe needs, which a session of the pool must never get
# from it (source 'session': a SET or set_config(..., false)).
LEAK_SQL="SELECT coalesce(string_agg(name || '=' || setting, ' ' ORDER BY name), '') FROM pg_settings
	WHERE source = 'session' AND name IN ('idle_in_transaction_session_timeout', 'lock_timeout',
	'statement_timeout', 'default_transaction_isolation', 'work_mem')"
leaks() { psql -X -q -A -t "$POOL" -c "$LEAK_SQL"; }
# Another application of the pool: short queries every 20 ms, noting what
# settings its sessions had that it did not make.
hammer() {
	while :; do
		psql -X -q -A -t "$POOL" -c "SELECT pg_sleep(0.005)" -c "$LEAK_SQL" >"$T_DIR/hammer.out" \
			2>>"$T_DIR/hammer.err" && echo >>"$T_DIR/hammer.n"
		grep . "$T_DIR/hammer.out" >>"$T_DIR/hammer.leaks"
		sleep 0.02
	done
}
: >"$T_DIR/hammer.leaks"
hammer &
HAMMER=$!
SERVERS+=("$HAMMER")
wait_for 30 test -s "$T_DIR/hammer.n"
ok $? "another client queries through the pool"

N=100
numbered_docs "$T_DIR/docs" $N 40 doc
DATABASE_URL=$POOL DOCPIPE_DB_POOLED=1 PGHOST= PGPORT= PGDATABASE= \
	docpipe run "$T_DIR/docs" --replicas store=3 --progress none >"$T_DIR/report" 2>"$T_DIR/err"
rc=$?
is "$rc/$(jq -c '[.added, .failed]' "$T_DIR/report")" "0/[$N,0]" \
	"DOCPIPE_DB_POOLED=1, 3 store replicas through the pool: exit 0, $N added, 0 failed"
[ "$rc" = 0 ] || sed 's/^/# /' "$T_DIR/err" | head -20
is "$(sql "SELECT count(*), count(DISTINCT path), sum(chunk_count) = (SELECT count(*) FROM docpipe.chunks)
	   FROM docpipe.documents WHERE root = '$T_DIR/docs'")" "$N|$N|t" \
	"every document stored once, with its chunks"
is "$(grep -c 'transaction-pooled' "$T_DIR/err")" 0 "said pooled: nothing to find out"

# The result cache (summarize and embed with an API backend) through the pool.
unset OPENAI_API_KEY
fakeapi
docpipe-discover "$T_DIR/docs" | docpipe-chunk >"$T_DIR/chunked.ndjson"
head -n 20 "$T_DIR/chunked.ndjson" >"$T_DIR/twenty.ndjson"
for pass in 1 2; do
	DATABASE_URL=$POOL DOCPIPE_DB_POOLED=1 PGHOST= PGPORT= PGDATABASE= \
		docpipe-summarize --backend openai <"$T_DIR/twenty.ndjson" 2>"$T_DIR/api.err$pass" |
		DATABASE_URL=$POOL DOCPIPE_DB_POOLED=1 PGHOST= PGPORT= PGDATABASE= \
		docpipe-embed --backend openai >"$T_DIR/api.out$pass" 2>>"$T_DIR/api.err$pass"
	is "$?/$(grep -c . "$T_DIR/api.out$pass")" "0/20" "API stages with the result cache through the pool (pass $pass)"
done
is "$(sql "SELECT (SELECT count(*) FROM docpipe.summary_cache) > 0, (SELECT count(*) FROM docpipe.embedding_cache) > 0")" \
	"t|t" "the result cache kept results through the pool"

# Every server session of the pool, after: none holds docpipe's settings.
seen=""
for _ in $(seq 30); do seen+=$(leaks); done
is "$seen" "" "no session of the pool holds docpipe's settings after the run"
is "$(sort -u "$T_DIR/hammer.leaks" | head -5)" "" \
	"the other client never saw docpipe's settings meanwhile ($(wc -l <"$T_DIR/hammer.n") queries)"

# With DOCPIPE_DB_POOLED=0 (the user says direct): a store prepares its
# statements on the one server session of pool1; the next store meets them
# there (42P05), or a later transaction misses them (26000): it says so
# once and stores every document all the same.
kill "$HAMMER" 2>/dev/null
POOL1="postgresql://$PGUSER@127.0.0.1:$PORT/pool1"
numbered_docs "$T_DIR/p1" 20 30 p
docpipe-discover "$T_DIR/p1" | docpipe-chunk | docpipe-summarize | docpipe-embed >"$T_DIR/p1.ndjson"
for i in 1 2; do
	sed -n "$((i * 10 - 9)),$((i * 10))p" "$T_DIR/p1.ndjson" |
		DATABASE_URL=$POOL1 DOCPIPE_DB_POOLED=0 PGHOST= PGPORT= PGDATABASE= docpipe-store >"$T_DIR/r$i" 2>"$T_DIR/e$i"
	is "$?/$(jq -r 'select(.status) | .status' "$T_DIR/r$i" | sort | uniq -c | xargs)" "0/10 stored" \
		"DOCPIPE_DB_POOLED=0, store $i through a pool of one session: 10 stored, none failed"
done
is "$(grep -c 'looks transaction-pooled (PgBouncer?)' "$T_DIR/e2")" 1 "the second store says once that it found a pooler"
is "$(sql "SELECT count(*) FROM docpipe.documents WHERE root = '$T_DIR/p1'")" 20 "its documents are stored"
[ "$(grep -c . "$T_DIR/e2")" -le 3 ] || sed 's/^/# /' "$T_DIR/e2" | head
# The settings both stores sent before (at their connections' start) went
# to pool1's one server session; the second store, on finding the pooler,
# RESET them there: another client of the pool gets the role's settings.
leaks1() { psql -X -q -A -t "$POOL1" -c "$LEAK_SQL"; }
is "$(leaks1)" "" "after the store found the pooler out, another client of the pool sees none of its settings"

# Without the variable, every program finds the pool out at connect, before
# it sets anything: pool2's one server session serves each in turn, and
# holds none of their settings, locks or statements after.
POOL2="postgresql://$PGUSER@127.0.0.1:$PORT/pool2"
leaks2() { psql -X -q -A -t "$POOL2" -c "$LEAK_SQL"; }
via2() { DATABASE_URL=$POOL2 PGHOST= PGPORT= PGDATABASE= "$@"; }
numbered_docs "$T_DIR/p2" 10 30 q
docpipe-discover "$T_DIR/p2" | docpipe-chunk | docpipe-summarize | docpipe-embed |
	via2 docpipe-store >"$T_DIR/s2" 2>"$T_DIR/s2.err"
is "$?/$(jq -r 'select(.status) | .status' "$T_DIR/s2" | sort | uniq -c | xargs)" "0/10 stored" \
	"a store alone through pool2, no variable: 10 stored, none failed"
is "$(grep -c 'transaction-pooled' "$T_DIR/s2.err")" 0 "it met no prepared statement: nothing to find out"
is "$(leaks2)" "" "a store that never met a prepared statement left none of its settings on the pool"
via2 docpipe-query -k 1 --json "q1" >"$T_DIR/q2" 2>"$T_DIR/q2.err"
is "$?/$(jq -s length "$T_DIR/q2")" "0/1" "docpipe-query through pool2: one result"
is "$(leaks2)" "" "... and none of its settings left on the pool"
# pool2's one server session given extra_float_digits -15 by another
# client (a session SET, which transaction pooling keeps there): docpipe's
# statements outside a transaction got no extra_float_digits 3, and the
# text scores were read as one digit (fault sweep 21b's leftover).
psql -X -q "$POOL2" -c "SET extra_float_digits = -15"
like "$(via2 docpipe-query -k 1 --json --mode text "q1" 2>&1 | jq .score)" '^[0-9]+\.[0-9]{5,}' \
	"docpipe-query through pool2, its server session at extra_float_digits -15: text scores exact"
psql -X -q "$POOL2" -c "RESET extra_float_digits"
via2 docpipe-status >"$T_DIR/st2" 2>"$T_DIR/st2.err"
is "$?" 0 "docpipe-status through pool2"
is "$(leaks2)" "" "... and none of its settings left on the pool"
via2 docpipe plan "$T_DIR/p2" --json >"$T_DIR/pl2" 2>"$T_DIR/pl2.err"
is "$?" 0 "docpipe plan through pool2"
is "$(leaks2)" "" "... and none of its settings left on the pool"
# docpipe run's recorder claims its roots with a session advisory lock,
# which a pool's server session would keep after the run (a later run
# found the dead run live, or its own probe on that session took it for
# dead): through a pool it claims nothing and says so.
numbered_docs "$T_DIR/p3" 5 30 r
via2 docpipe run "$T_DIR/p3" --progress none >"$T_DIR/run2" 2>"$T_DIR/run2.err"
is "$?/$(jq -c '[.added, .failed]' "$T_DIR/run2")" "0/[5,0]" "docpipe run through pool2, no variable: 5 added"
like "$(cat "$T_DIR/run2.err")" "connected through a transaction pooler" "it says it claims nothing"
is "$(sql "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
	   AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")" 0 \
	"no session advisory lock is left held on the pool's server session"
is "$(leaks2)" "" "... and none of the run's settings left on the pool"

# summarize and embed without the variable: the result cache, which has no
# prepared statement to fail, is pooled at connect as every program.
for i in 1 2; do
	DATABASE_URL=$POOL1 PGHOST= PGPORT= PGDATABASE= \
		docpipe-summarize --backend openai <"$T_DIR/twenty.ndjson" 2>"$T_DIR/api1.err$i" |
		DATABASE_URL=$POOL1 PGHOST= PGPORT= PGDATABASE= \
		docpipe-embed --backend openai >"$T_DIR/api1.out$i" 2>>"$T_DIR/api1.err$i"
	is "$?/$(grep -c . "$T_DIR/api1.out$i")" "0/20" "API stages with the result cache through pool1, no variable (pass $i)"
	is "$(leaks1)" "" "... and the pool's session holds none of their settings after (pass $i)"
done

# Statement pooling: every program refuses it at its connection.
stmt_said='the connection pooler runs no transaction, which docpipe needs \(FATAL: +transaction blocks not allowed in statement pooling mode\): set its pool_mode to transaction or session'
for pooled in "" 1; do
	DATABASE_URL="postgresql://$PGUSER@127.0.0.1:$PORT/stmt" DOCPIPE_DB_POOLED=$pooled PGHOST= PGPORT= PGDATABASE= \
		timeout 60 docpipe run "$T_DIR/p3" --progress none >/dev/null 2>"$T_DIR/stmt.err"
	is "$?" 2 "docpipe run through a statement pool (DOCPIPE_DB_POOLED=$pooled): exit 2 at once" ||
		diag "$(cut -c1-300 "$T_DIR/stmt.err")"
	like "$(cat "$T_DIR/stmt.err")" "$stmt_said" "... naming pool_mode"
done
DATABASE_URL="postgresql://$PGUSER@127.0.0.1:$PORT/stmt" PGHOST= PGPORT= PGDATABASE= \
	timeout 60 docpipe-store --db-retry 300 </dev/null >/dev/null 2>"$T_DIR/stmt.err"
is "$?" 2 "docpipe-store through a statement pool: exit 2 at once" || diag "$(cut -c1-300 "$T_DIR/stmt.err")"

DOCPIPE_DB_POOLED=yes docpipe-store </dev/null >/dev/null 2>"$T_DIR/bad"
is "$?" 2 "DOCPIPE_DB_POOLED=yes: a configuration error, exit 2"
like "$(cat "$T_DIR/bad")" 'DOCPIPE_DB_POOLED is not 0 or 1' "which is said"
done_testing
