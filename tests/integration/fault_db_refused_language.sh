#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# A login the server refuses for good (no such database, a NOLOGIN role, a
# wrong password, a pg_hba.conf reject line, no CONNECT privilege) makes
# docpipe-store exit 2 at once (a configuration error: no wait, no
# supervisor's restart), in any server language: a server with
# lc_messages=de_DE.UTF-8 says "FATAL: Datenbank »x« existiert nicht",
# whose English words the store looked for, so it waited the whole
# --db-retry (300 s) "for the database" (sweep 7).  The refusal is told by
# its SQLSTATE (src/lib/db.c, dp_db_connect and dp_db_unreachable); the
# message is shown as before (no SQLSTATE, no LOCATION line).  A server
# starting or shutting down (57P03), too many connections (53300) or no
# server at all is still waited for.  Own cluster (its lc_messages), the
# German locale made with localedef into the test's directory (LOCPATH).
. "$(dirname "$0")/../lib/tap.sh"
release_only "waits out --db-retry several times"

# store_exits NAME SECONDS [ENV...]: docpipe-store --db-retry 300 with ENV
# exits 2 within SECONDS, without waiting for the database.
store_exits() {
	local name=$1 limit=$2 start=$SECONDS
	shift 2
	env "$@" timeout 60 docpipe-store --db-retry 300 </dev/null >/dev/null 2>"$T_DIR/err"
	local rc=$? took=$((SECONDS - start))
	is "$rc" 2 "$name: exit 2" || diag "$(cat "$T_DIR/err")"
	ok "$([ $took -lt "$limit" ] && ! grep -q 'waiting up to' "$T_DIR/err"; echo $?)" \
		"... at once ($took s), not waiting for the database"
}
# store_waits NAME [ENV...]: docpipe-store --db-retry 3 with ENV waits
# for the database (says so), then gives up: exit 3 after 3 s.
store_waits() {
	local name=$1 start=$SECONDS
	shift
	env "$@" timeout 60 docpipe-store --db-retry 3 </dev/null >/dev/null 2>"$T_DIR/err"
	local rc=$? took=$((SECONDS - start))
	is "$rc/$(grep -c 'waiting up to 3 s for the database' "$T_DIR/err")" 3/1 \
		"$name: waited for the database ($took s)" || diag "$(cat "$T_DIR/err")"
}

# English (the run's server): as before.
store_exits "English server, no such database" 15 PGDATABASE=t_nosuchdb_$$

mkdir -p "$T_DIR/loc"
if ! localedef -i de_DE -f UTF-8 "$T_DIR/loc/de_DE.UTF-8" >"$T_DIR/localedef.log" 2>&1; then
	skip "localedef cannot make de_DE.UTF-8 here: $(head -c 200 "$T_DIR/localedef.log")"
	done_testing
fi
chmod -R a+rX "$T_DIR"
PGD=$T_DIR/pg
at_exit 'tests/lib/pg.sh stop "$PGD"' # on tests/run's timeout too (tap.sh)
start_de() {
	local env
	env=$(PG_ENV="LOCPATH=$T_DIR/loc" PG_OPTS="-c lc_messages=de_DE.UTF-8" tests/lib/pg.sh start "$PGD") &&
		eval "$env"
}
pg_ctl_de() { runuser -u postgres -- "$(pg_config --bindir)/pg_ctl" -D "$PGD/data" "$@" >/dev/null; }
# shutting_down: psql's refusal in hand before grep (psql | grep under
# pipefail failed with psql whenever the refusal came: wait_for waited
# out its 30 s every time).
shutting_down() { local out; out=$(psql -X -c 'SELECT 1' 2>&1); grep -q 'fährt herunter' <<<"$out"; }
start_de || { ok 1 "a cluster with lc_messages=de_DE.UTF-8 starts"; done_testing; }
export PGHOST PGPORT PGUSER PGDATABASE=postgres
unset DATABASE_URL
out=$(psql -X -d t_nosuchdb -c 'SELECT 1' 2>&1)
if ! grep -q 'existiert nicht' <<<"$out"; then
	skip "the server does not speak German here (no translations?): $out"
	done_testing
fi
ok 0 "the server speaks German: $out"

store_exits "no such database" 15 PGDATABASE=t_nosuchdb
like "$(cat "$T_DIR/err")" '^docpipe-store: cannot connect to the database \(PG\* variables\): connection to server on socket .* failed: FATAL: Datenbank »t_nosuchdb« existiert nicht$' \
	"the message as libpq words it, on one line (no SQLSTATE, no LOCATION)"
psql -X -q -v ON_ERROR_STOP=1 -c "CREATE ROLE t_nologin NOLOGIN" -c "CREATE ROLE t_pw LOGIN PASSWORD 'right'" \
	-c "CREATE ROLE t_rejected LOGIN" -c "CREATE ROLE t_noconnect LOGIN" \
	-c "CREATE ROLE t_limited LOGIN CONNECTION LIMIT 0" -c "CREATE DATABASE t_private" \
	-c "REVOKE CONNECT ON DATABASE t_private FROM PUBLIC" >/dev/null
ok $? "roles and a private database made"
# pg_hba.conf: the first line that matches decides.
sed -i "1i host all t_pw 127.0.0.1/32 scram-sha-256\nhost all t_rejected 127.0.0.1/32 reject" "$PGD/data/pg_hba.conf"
psql -X -q -c "SELECT pg_reload_conf()" >/dev/null
store_exits "a NOLOGIN role" 15 PGUSER=t_nologin
store_exits "a wrong password" 15 DATABASE_URL="postgresql://t_pw:wrong@127.0.0.1:$PGPORT/postgres"
store_exits "a pg_hba.conf reject line" 15 DATABASE_URL="postgresql://t_rejected@127.0.0.1:$PGPORT/postgres"
store_exits "no CONNECT privilege on the database" 15 PGUSER=t_noconnect PGDATABASE=t_private
store_waits "too many connections for the role (53300)" PGUSER=t_limited
# A smart shutdown waits for the sessions it has and refuses new ones with
# 57P03 ("Das Datenbanksystem fährt herunter").
PGAPPNAME=t_holder psql -X -q -c "SELECT pg_sleep(600)" >/dev/null 2>&1 &
holder=$!
wait_for 30 sql_ge "SELECT count(*) FROM pg_stat_activity WHERE application_name = 't_holder'" 1
pg_ctl_de -m smart -W stop
wait_for 30 shutting_down
store_waits "a server shutting down (57P03)" PGDATABASE=postgres
like "$(cat "$T_DIR/err")" 'fährt herunter' "... saying so in the server's words"
pg_ctl_de -m fast -w stop # ends the session the smart shutdown waits for
wait $holder 2>/dev/null
store_waits "no server (connection refused)" PGDATABASE=postgres
PGPORT_WANTED=$PGPORT start_de || { ok 1 "the cluster starts again"; done_testing; }
docpipe-store </dev/null >/dev/null 2>"$T_DIR/err"
is "$?" 0 "a login the server takes: the store opens (schema made)" || diag "$(cat "$T_DIR/err")"
# Refused when it makes its connection again (dp_db_reset): a role made
# NOLOGIN while the store runs, its session ended.
psql -X -q -c "CREATE ROLE t_later LOGIN SUPERUSER" >/dev/null
doc() { printf '{"v":1,"kind":"document","path":"/d/%s.md","root":"/d","hash":"%s","chunker":"t","chunks":[{"seq":0,"text":"x"}]}\n' "$1" "$1"; }
mkfifo "$T_DIR/in"
PGUSER=t_later docpipe-store --db-retry 300 <"$T_DIR/in" >"$T_DIR/out" 2>"$T_DIR/err" &
store=$!
exec 3>"$T_DIR/in"
doc one >&3
wait_for 30 test -s "$T_DIR/out"
ok $? "a store of role t_later writes a document"
psql -X -q -c "ALTER ROLE t_later NOLOGIN" -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 't_later'" >/dev/null
start=$SECONDS
doc two >&3
wait_for 30 exited $store
exec 3>&-
wait $store
rc=$? took=$((SECONDS - start))
is "$rc" 3 "made NOLOGIN meanwhile: the store, reconnecting, exits 3" || diag "$(cat "$T_DIR/err")"
ok "$([ $took -lt 15 ] && ! grep -q 'waiting up to' "$T_DIR/err"; echo $?)" "... at once ($took s), not waiting for the database"
like "$(cat "$T_DIR/err")" 'could not reconnect: connection to server .* failed: FATAL: Rolle »t_later« hat keine Berechtigung zum Einloggen' \
	"... saying why, as libpq words it" || diag "$(cat "$T_DIR/err")"

mkdir -p "$T_DIR/docs" && printf '# A\n\ntext\n' >"$T_DIR/docs/a.md"
start=$SECONDS
PGDATABASE=t_nosuchdb timeout 120 docpipe run "$T_DIR/docs" --progress none >/dev/null 2>"$T_DIR/err"
rc=$? took=$((SECONDS - start))
is "$rc" 2 "docpipe run, no such database: exit 2" || diag "$(tail -5 "$T_DIR/err")"
ok "$([ $took -lt 8 ]; echo $?)" "... after $took s: no wait, no restart (it took 33 s)" || diag "$(cat "$T_DIR/err")"
ok "$(! grep -q '; restarting it' "$T_DIR/err"; echo $?)" "... nothing restarted" || diag "$(cat "$T_DIR/err")"
# The run's recorder meets the refusal first, as it claims the roots
# (ops_run_overlap.sh): the run ends before any stage starts.
is "$(grep -c 'Datenbank »t_nosuchdb« existiert nicht' "$T_DIR/err")/$(grep -c 'hub on' "$T_DIR/err")" 1/0 \
	"... the refusal said once, no stage started" || diag "$(cat "$T_DIR/err")"
done_testing
