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

# times NAME WANT-RC MIN MAX REGEX [ENV...]: docpipe-store with ENV exits
# WANT-RC after MIN to MAX seconds, its message matching REGEX.
times() {
	local name=$1 want=$2 min=$3 max=$4 re=$5 start=${EPOCHREALTIME/./}
	shift 5
	env "$@" timeout 60 docpipe-store </dev/null >/dev/null 2>"$T_DIR/err"
	local rc=$? took=$(( (${EPOCHREALTIME/./} - start) / 100000 ))
	is "$rc" "$want" "$name: exit $want" || diag "$(cat "$T_DIR/err")"
	ok "$([ $took -ge $((min * 10)) ] && [ $took -le $((max * 10)) ]; echo $?)" \
		"... after $((took / 10)).$((took % 10)) s (from $min to $max s)"
	like "$(cat "$T_DIR/err")" "$re" "... saying: $re"
}
times "a server that never answers, connect_timeout=2 in the URL" 3 2 6 \
	"port $silent failed: timeout expired\$" DATABASE_URL="postgresql://127.0.0.1:$silent/x?connect_timeout=2"
times "PGCONNECT_TIMEOUT=2" 3 2 6 "port $silent failed: timeout expired\$" \
	DATABASE_URL= PGHOST=127.0.0.1 PGPORT=$silent PGCONNECT_TIMEOUT=2
times "connect_timeout=1 is 2 s, as libpq counts it" 3 2 6 "timeout expired\$" \
	DATABASE_URL="postgresql://127.0.0.1:$silent/x?connect_timeout=1"
times "a connect_timeout that is no number" 2 0 5 'invalid integer value "abc" for connection option "connect_timeout"' \
	DATABASE_URL="postgresql://127.0.0.1:$silent/x?connect_timeout=abc"
# Two hosts, the first hung: the second is reached (libpq's own wait
# moves on after connect_timeout).
env DATABASE_URL="postgresql://127.0.0.1:$silent,127.0.0.1:$PGPORT/$PGDATABASE?connect_timeout=2&user=$PGUSER" \
	timeout 60 docpipe-store </dev/null >/dev/null 2>"$T_DIR/err"
is "$?" 0 "two hosts, the first never answers: the store opens on the second" || diag "$(cat "$T_DIR/err")"
is "$(sql "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'docpipe' AND table_name = 'documents'")" 1 \
	"... and made its tables there"
done_testing
