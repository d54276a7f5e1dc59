#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# connect_timeout, which docpipe applies itself since its connections are
# made with PQconnectStartParams and its own poll loop (the refusal's
# SQLSTATE, fault_db_refused_language.sh): libpq applies it only inside its
# blocking calls.  A server that takes the TCP connection and never
# answers (hung, SIGSTOP) ends the attempt after connect_timeout, whether
# the URL or PGCONNECT_TIMEOUT sets it; with several hosts the next one
# is tried, as libpq does; a value that is no number is a configuration
# error (exit 2), as libpq said it.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
base=$(free_ports 1) || { ok 1 "a free port"; done_testing; }
silent=$base
# A listener that takes connections and never answers.
python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64); held = []
open(sys.argv[2], "w").close()
while True: held.append(s.accept())' "$silent" "$T_DIR/listening" &
SERVERS+=($!)
wait_for 10 test -e "$T_DIR/listening"

# The bound is the feature, so each is checked from below, which load
# cannot break: a timeout above docpipe's own default (10 s) ends the
# attempt no sooner than it says (the default would end it at 10 s), and
# from above generously (60 s: it ends at all; "from 2 to 6 s" failed at
# load 10).  The cases run side by side.
# begin NAME ENV...: docpipe-store with ENV in the background; its exit
# status and tenths of seconds go to NAME.rc, its message to NAME.err.
begin() {
	local name=$1
	shift
	(
		start=${EPOCHREALTIME/./}
		env "$@" timeout 90 docpipe-store </dev/null >/dev/null 2>"$T_DIR/$name.err"
		echo "$? $(((${EPOCHREALTIME/./} - start) / 100000))" >"$T_DIR/$name.tmp"
		mv "$T_DIR/$name.tmp" "$T_DIR/$name.rc"
	) &
}
# check NAME LABEL WANT-RC MIN MAX REGEX: what begin NAME saw.
check() {
	local name=$1 label=$2 want=$3 min=$4 max=$5 re=$6 rc took
	wait_for 120 test -e "$T_DIR/$name.rc"
	read -r rc took <"$T_DIR/$name.rc"
	is "$rc" "$want" "$label: exit $want" || diag "$(cat "$T_DIR/$name.err")"
	ok "$([ "$took" -ge $((min * 10)) ] && [ "$took" -le $((max * 10)) ]; echo $?)" \
		"... after $((took / 10)).$((took % 10)) s (from $min to $max s)"
	like "$(cat "$T_DIR/$name.err")" "$re" "... saying: $re"
}
begin url DATABASE_URL="postgresql://127.0.0.1:$silent/x?connect_timeout=12"
begin env DATABASE_URL= PGHOST=127.0.0.1 PGPORT=$silent PGCONNECT_TIMEOUT=12
begin one DATABASE_URL="postgresql://127.0.0.1:$silent/x?connect_timeout=1"
begin abc DATABASE_URL="postgresql://127.0.0.1:$silent/x?connect_timeout=abc"
check url "a server that never answers, connect_timeout=12 in the URL" 3 12 60 \
	"port $silent failed: timeout expired\$"
check env "PGCONNECT_TIMEOUT=12" 3 12 60 "port $silent failed: timeout expired\$"
check one "connect_timeout=1 is 2 s, as libpq counts it" 3 2 60 "timeout expired\$"
check abc "a connect_timeout that is no number" 2 0 60 \
	'invalid integer value "abc" for connection option "connect_timeout"'
# Two hosts, the first hung: the second is reached (libpq's own wait
# moves on after connect_timeout).
env DATABASE_URL="postgresql://127.0.0.1:$silent,127.0.0.1:$PGPORT/$PGDATABASE?connect_timeout=2&user=$PGUSER" \
	timeout 60 docpipe-store </dev/null >/dev/null 2>"$T_DIR/err"
is "$?" 0 "two hosts, the first never answers: the store opens on the second" || diag "$(cat "$T_DIR/err")"
is "$(sql "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'docpipe' AND table_name = 'documents'")" 1 \
	"... and made its tables there"
done_testing
