# TAP helpers for integration tests (sourced).  Each check prints one TAP
# line; `done_testing` prints the plan and sets the exit status.
#
# Environment set by tests/run: DOCPIPE_BIN (binaries of the variant under
# test), PGHOST/PGPORT/PGUSER of the throwaway server, TEST_TMP (this
# test's own directory), ASAN_OPTIONS/UBSAN_OPTIONS whose log_path is in it
# (tests/run fails the test if any process leaves a report there).
#
# pipefail: a pipeline fails when any stage does, not only the last one.
set -u -o pipefail
T_N=0
T_FAILED=0
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
: "${DOCPIPE_BIN:=$TOP/bin}"
PATH="$DOCPIPE_BIN:$TOP/bin:$PATH"
export PATH

ok() { # ok CONDITION-EXIT-STATUS NAME; returns 1 when it failed (ok ... || diag ...)
	T_N=$((T_N + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $T_N - $2"
	else
		echo "not ok $T_N - $2"
		T_FAILED=$((T_FAILED + 1))
		return 1
	fi
}
is() { # is GOT WANT NAME; returns 1 when it failed (is ... || diag ...)
	if [ "$1" = "$2" ]; then ok 0 "$3"; else ok 1 "$3"; printf '#   got: %s\n#  want: %s\n' "$1" "$2"; return 1; fi
}
like() { # like GOT REGEX NAME; returns 1 when it failed
	if grep -Eq -- "$2" <<<"$1"; then ok 0 "$3"; else ok 1 "$3"; printf '#   got: %s\n# wanted match: %s\n' "$1" "$2"; return 1; fi
}
# contains GOT PART NAME: PART is in GOT as written, newlines included (like
# would read each line of a multi-line pattern as a pattern of its own).
contains() {
	if [[ $1 == *"$2"* ]]; then ok 0 "$3"; else ok 1 "$3"; printf '#   got: %s\n# wanted: %s\n' "$1" "$2"; return 1; fi
}
skip() { T_N=$((T_N + 1)); echo "ok $T_N # SKIP $1"; }
# chunk_files DIR FILE...: docpipe-chunk over DIR's FILEs, records in
# $T_DIR/out, stderr in $T_DIR/err; its status.  chunks_text FILE: the texts
# of DIR/FILE's chunks there, a blank line between two.
chunk_files() {
	CHUNKED_DIR=$1; shift
	printf '{"v":1,"kind":"file","path":"%s"}\n' "${@/#/$CHUNKED_DIR/}" | docpipe-chunk >"$T_DIR/out" 2>"$T_DIR/err"
}
chunks_text() { jq -r --arg p "$CHUNKED_DIR/$1" 'select(.path == $p) | [.chunks[].text] | join("\n\n")' "$T_DIR/out"; }
diag() { printf '# %s\n' "$*"; }
done_testing() { T_DONE=1; echo "1..$T_N"; [ "$T_FAILED" -eq 0 ]; exit $?; }

# release_only REASON: ends a test whose time is waiting (a server's outage,
# restart delays, timeouts) with one skip in the ASan pass: the same code
# under ASan would double make check's time for no new path.  The tsan
# variant (tests/run tsan, not part of make check) runs it: its waits are
# where a stage's threads meet (the store's lock watch, the reuse cache's
# flusher through an outage, the hub's re-sends).
release_only() {
	[ "${DOCPIPE_VARIANT:-release}" != asan ] && return 0
	skip "$1; run once, in the release pass"
	done_testing
}
# unsanitized_only REASON: ends a test with one skip in every sanitizer's
# variant: it measures or limits memory (a sanitizer's shadow memory and
# allocator are no measure of a stage's), or runs no docpipe binary.
unsanitized_only() {
	[ "${DOCPIPE_VARIANT:-release}" = release ] && return 0
	skip "$1; run in the release pass only"
	done_testing
}
# wait_for SECONDS COMMAND...: runs COMMAND until it succeeds (status 0) or
# SECONDS have passed (status 1).  The way to wait for a state -- a file, a
# socket, a database count, a log line -- never a bare sleep.  It polls
# every 0.05 s, then every tenth of the time waited so far, at most every
# 0.25 s: a psql is a fork and a connection (70 ms of CPU at load 10), and
# 20 a second through a long wait took a core.
wait_for() {
	local limit=$1 start=${EPOCHREALTIME/./} waited pause; shift
	until "$@"; do
		waited=$(( ${EPOCHREALTIME/./} - start ))
		[ $waited -ge $(( ${limit%.*} * 1000000 )) ] && return 1
		# printf -v: a $(printf) was a subshell, a fork every poll.
		printf -v pause '0.%06d' $(( waited / 10 < 50000 ? 50000 : waited / 10 > 250000 ? 250000 : waited / 10 ))
		nap "$pause"
	done
}
# nap SECONDS: sleeps without a fork, for polling loops: a read that times
# out on a FIFO nobody writes (opened for the read alone, so no process the
# test starts inherits it).  A sleep process costs 6 ms of CPU at load 10,
# and a loop polling 20 times a second over a minute runs 1,200.
nap() {
	[ -p "${T_NAP:-}" ] || { sleep "$1"; return 0; }
	local REPLY
	read -r -t "$1" <>"$T_NAP" || :
}
# sql_ge QUERY N: true when the (numeric) answer of QUERY is at least N.
# The answer through a file, not $(...): a subshell forked every poll
# beside psql.
sql_ge() {
	local n= f=$T_DIR/sql_ge.$BASHPID
	sql "$1" >"$f" 2>/dev/null && read -r n <"$f"
	[ -n "$n" ] && [ "$n" -ge "$2" ]
}
# exited PID: true when process PID is gone (for wait_for).
exited() { ! kill -0 "$1" 2>/dev/null; }
# hold_lock NAME SQL: runs "BEGIN; SQL" in a background psql session
# whose application_name is NAME, which keeps the locks SQL took until
# release_lock NAME; returns once SQL is done (status 1 if not in 30 s).
# Both look at this database's sessions only: tests beside use the same
# names (a release_lock holder ended another test's holder).
hold_lock() {
	PGAPPNAME=$1 psql -X -q -v ON_ERROR_STOP=1 -c "BEGIN; $2; SELECT pg_sleep(600)" >/dev/null 2>&1 &
	wait_for 30 sql_ge "SELECT count(*) FROM pg_stat_activity WHERE application_name = '$1' AND wait_event = 'PgSleep'
		AND datname = current_database()" 1
}
# release_lock NAME: ends hold_lock NAME's session (killing psql would
# not: its server process notices only when it next writes to it).
release_lock() {
	sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '$1'
		AND datname = current_database()" >/dev/null
	wait_for 30 sql_ge "SELECT 1 - count(*) FROM pg_stat_activity WHERE application_name = '$1'
		AND datname = current_database()" 1
}
# live_claim ROOT: a live run's recorder (docpipe-status --record-run -
# --claim t_live) claims ROOT and holds the claim until live_claim_end;
# its pid in LIVE, its output in $T_DIR/live.out and .err.  Status 1 when
# it did not claim in 30 s.
live_claim() {
	mkfifo "$T_DIR/live.in"
	docpipe-status --record-run - --claim t_live "$1" <"$T_DIR/live.in" >"$T_DIR/live.out" 2>"$T_DIR/live.err" &
	LIVE=$!
	exec {LIVE_FD}>"$T_DIR/live.in"
	wait_for 30 grep -qx claimed "$T_DIR/live.out"
}
# live_claim_end: the live run ends: its report recorded, its claim let go;
# the recorder's exit status.
live_claim_end() {
	printf '{"v":1,"kind":"report","run":"t_live","complete":true,"documents":0,"added":0,"updated":0,"unchanged":0,"deleted":0,"skipped":0,"failed":0,"failures":[],"resent":0,"requests":0,"tokens":0,"retries":0,"seconds":0.5}\n' >&"$LIVE_FD"
	exec {LIVE_FD}>&-
	wait $LIVE
}
# worker_finishes PID NAME WORKER-ARGS...: `docpipe worker WORKER-ARGS...`
# joins a run (PID) that waits for it; the run must then end with status
# 0 (test NAME) within 60 s.  The worker is stopped after it.
worker_finishes() {
	local run=$1 name=$2 worker
	shift 2
	docpipe worker "$@" 2>"$T_DIR/worker.err" &
	worker=$!
	wait_for 60 exited "$run" || kill -TERM "$run"
	wait "$run"
	is "$?" 0 "$name"
	kill -TERM $worker
	wait $worker
}

# f32_base64 X...: the numbers as a vector in the records' form (float32
# little-endian, base64), for tests that store and search known vectors.
f32_base64() {
	python3 -c 'import base64,struct,sys; x = sys.argv[1:]; print(base64.b64encode(struct.pack("<%df" % len(x), *map(float, x))).decode())' "$@"
}

# fingerprint: an md5 of everything stored about every document and its
# chunks except ids, run ids and times (path, root, hash, summary,
# summarizer, chunker, embedder, dim, chunk count, size, metadata; each
# chunk's seq, text, heading, tokens, summary and vector).  Compare a
# database with one filled by a plain pipeline run: duplicates, lost or
# extra chunks and changed content all change it.  An optional SQL
# condition on d (the documents row) fingerprints only those documents.
fingerprint() {
	sql "SELECT md5(coalesce(string_agg(concat_ws('/', d.path, d.root, d.content_hash, d.summary,
	       d.summarizer, d.chunker, d.embedder, d.dim, d.chunk_count, d.size, d.metadata::text,
	       c.seq, c.content, array_to_string(c.heading, '>'), c.tokens, c.summary, c.embedding::text),
	       '|' ORDER BY d.path, c.seq), ''))
	     FROM docpipe.documents d LEFT JOIN docpipe.chunks c ON c.document_id = d.id
	     WHERE ${1:-true}"
}

# plain_fingerprint ROOT: the fingerprint of a database of its own (newdb)
# filled by a plain pipeline over ROOT (discover | chunk | summarize | embed
# | store); status 1 when the pipeline failed.  Call it in $(...): the
# caller's database stays its own.
plain_fingerprint() {
	newdb || return 1
	docpipe-discover "$1" | docpipe-chunk | docpipe-summarize | docpipe-embed | docpipe-store -q >/dev/null ||
		return 1
	fingerprint
}

# Processes of one run: start it with `tag_env NAME` in its environment and
# every process it starts inherits the tag, whatever its command line.
# tagged NAME prints the pids of the processes that still carry it.
tag_env() { printf 'DOCPIPE_TEST_TAG=%s-%s' "$$" "$1"; }
# One grep reads every process's environment: a grep each (170 processes
# here) took 7 s under a load of 20, and a test's wait_for ran out.
tagged() {
	local e want p
	want=$(tag_env "$1")
	for e in $(grep -lzxF -- "$want" /proc/[0-9]*/environ 2>/dev/null); do
		p=${e#/proc/}; p=${p%/environ}
		[ "$p" = $$ ] || [ "$p" = "$BASHPID" ] && continue
		echo "$p"
	done
	return 0
}

# A scratch directory removed at exit, and the test servers a test started
# (their pids in SERVERS: fakeapi adds its own) killed.
T_DIR=$(mktemp -d "${TEST_TMP:-/tmp}/dpt.XXXXXX")
T_NAP=$T_DIR/nap
mkfifo "$T_NAP" || T_NAP=
SERVERS=()
# at_exit COMMAND: runs COMMAND (a string, expanded when it runs, as a trap's
# is) when the test ends, however it ends: done_testing, any exit, the end
# of the script, or a fatal signal such as the TERM of tests/run's timeout
# (bash runs its EXIT trap then, at once; a `trap ... TERM` would wait for
# the foreground command to end first).  The commands run last given first,
# then SERVERS are killed and T_DIR removed.  A test never sets its own
# EXIT trap: it would replace this one.
AT_EXIT=()
at_exit() { AT_EXIT+=("$1"); }
# private_pg: starts a PostgreSQL cluster of the test's own in
# PGD=$T_DIR/pg and points the PG* variables at it, for a fault that would reach every other test's
# connections on the shared one (a restart, a stopped server, a server
# setting); stopped at exit (after the at_exit commands given later).
private_pg() {
	chmod 755 "$T_DIR"
	PGD=$T_DIR/pg
	eval "$(tests/lib/pg.sh start "$PGD")" || { ok 1 "a private PostgreSQL cluster starts"; done_testing; exit; }
	export PGHOST PGPORT PGUSER
	at_exit 'tests/lib/pg.sh stop "$PGD"'
}
# private_pg_restart: `pg_ctl restart -m immediate` of private_pg's
# cluster (every session ended at once, as a crash restart does).  A
# caller holding a FIFO's write end closes it for the call ({fd}>&-): the
# server must not inherit it (its reader would never see the end).
private_pg_restart() {
	runuser -u postgres -- "$(pg_config --bindir)/pg_ctl" -D "$PGD/data" -l "$PGD/log" -m immediate -w \
		restart >/dev/null
}
t_exit() {
	local i
	# Only the test's own shell cleans up: a child bash forked for `cmd &`
	# holds this trap until its exec, so a SIGTERM in that moment (a test
	# that signals the run it just started) ran t_exit there: T_DIR
	# removed and the servers killed mid-test (fault_supervisor_spawn, once
	# in ASan, session 58; 296 of 300 children so killed ran it).  Which
	# process runs it, the kernel says: $BASHPID can still be the parent's
	# there (scripts/docpipe's in_main_shell).
	local task=(/proc/self/task/*)
	[ "${task[0]##*/}" = "$$" ] || return 0
	# A test of tests/run (TEST_TMP: its session is the test's) ended
	# before done_testing (the runner's timeout: bash's $? in this trap is
	# then 0): what was still running, so that a hang says where it was
	# (one in ops_status left no trace).
	if [ -z "${T_DONE:-}" ] && [ -n "${TEST_TMP:-}" ]; then
		echo "# ended before done_testing; the processes of its session then:"
		local sid
		sid=$(ps -o sid= -p $$)
		ps -o pid=,ppid=,stat=,etimes=,wchan:24=,args= -s "${sid// /}" 2>&1 | sed 's/^/#   /'
	fi
	for ((i = ${#AT_EXIT[@]} - 1; i >= 0; i--)); do eval "${AT_EXIT[i]}"; done
	kill "${SERVERS[@]}" 2>/dev/null
	rm -rf "$T_DIR"
}
trap t_exit EXIT

# newdb: creates an empty database for this test and exports DATABASE_URL.
newdb() {
	# tests/run runs store and query tests a second time with
	# DOCPIPE_TEST_PGVECTOR=1: their databases are then on the pgvector server.
	if [ "${DOCPIPE_TEST_PGVECTOR:-}" = 1 ]; then
		export PGHOST=$PGVECTOR_PGHOST PGPORT=$PGVECTOR_PGPORT
	fi
	local name
	# BASHPID, not $$: newdb in $(...) subshells (graph_options) shares $$,
	# and two subshells' $RANDOM once gave the same name ("already exists").
	# A count of the process's own calls: $RANDOM's 15 bits alone repeated
	# within one test (store_db_settings, its third of six databases).
	NEWDB_CALLS=$((${NEWDB_CALLS:-0} + 1))
	# The script's name by expansions (basename and tr were three
	# processes a database, ~800 a make check).
	name=${0##*/}
	name=${name%.sh}
	name="t_${name//[^a-z0-9]/_}_${BASHPID}_${NEWDB_CALLS}_$RANDOM"
	# FILE_COPY, not PostgreSQL 15's default WAL_LOG: half the server's CPU
	# (~85 against ~150 ms), and no copy of the template in the WAL.
	createdb -S file_copy "$name" || return 1
	export PGDATABASE="$name"
	export DATABASE_URL="postgresql:///$name?host=$PGHOST&port=$PGPORT&user=$PGUSER"
}
# newdb_pgvector: like newdb, on the server with pgvector (tests/run starts
# it; PGHOST/PGPORT then point there).  Returns 1 with the reason in
# PGVECTOR_SKIP when there is none: callers skip.
newdb_pgvector() {
	if [ -z "${PGVECTOR_PGHOST:-}" ]; then
		: "${PGVECTOR_SKIP:=no pgvector server (run the test through tests/run)}"
		return 1
	fi
	export PGHOST=$PGVECTOR_PGHOST PGPORT=$PGVECTOR_PGPORT
	newdb
}
# sql QUERY: runs a query in the test database, unaligned, tuples only.
sql() { psql -X -q -A -t -v ON_ERROR_STOP=1 -c "$1"; }
# db_allow true|false: whether the test's database ($PGDATABASE) takes new
# connections; with db_kick, a database gone for its sessions (an outage).
db_allow() { psql -X -q -d postgres -c "ALTER DATABASE \"$PGDATABASE\" ALLOW_CONNECTIONS $1" >/dev/null; }
# db_kick LIKE: ends the sessions on the test's database whose
# application_name is LIKE the pattern; prints how many it ended.
db_kick() { psql -X -q -A -t -d postgres -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
	WHERE datname = '$PGDATABASE' AND application_name LIKE '$1'"; }
# gen_docs ARGS...: tests/lib/gen_docs.py (generated document records).
gen_docs() { python3 "$TOP/tests/lib/gen_docs.py" "$@"; }
# db_setting KEY: the corpus's docpipe.settings value of KEY ("" for none).
db_setting() { sql "SELECT coalesce((SELECT value FROM docpipe.settings WHERE key = '$1'), '')"; }
# vector_indexes: the chunks' vector indexes, by name, comma-separated.
vector_indexes() { sql "SELECT coalesce(string_agg(indexname, ',' ORDER BY indexname), '') FROM pg_indexes WHERE schemaname = 'docpipe' AND indexname LIKE 'chunks_embedding%'"; }
# free_ports N: prints a base port B such that B..B+N-1 (N <= 16) are not
# listening on this machine and no other test holds them.  They cannot be
# taken between the pick and the hub's bind: B is below the kernel's
# ephemeral range (ports picked for port 0 and outgoing connections,
# /proc/sys/net/ipv4/ip_local_port_range) and below the ports tests/lib/pg.sh
# and bench/ pick at random (20000 and up); and a block of 16 is reserved
# for the calling test (a file naming its pid; a dead test's reservation is
# taken over).  The pick is made under one lock: two tests that took over
# the same dead reservation at once (each removed it and made it again)
# both held the block.
free_ports() {
	local n=$1 base p busy k dir=/tmp/docpipe-test-ports.$(id -u) low lock found=
	low=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
	low=${low:-32768}
	[ "$low" -gt 20000 ] && low=20000
	[ "$n" -le 16 ] && [ "$low" -gt 10016 ] || return 1
	mkdir -p "$dir" && exec {lock}>"$dir/lock" && flock "$lock" || return 1
	for _ in $(seq 50); do
		k=$((RANDOM % ((low - 10000) / 16))) base=$((10000 + 16 * k)) busy=0
		p=$(cat "$dir/$k.pid" 2>/dev/null)
		[ -n "$p" ] && kill -0 "$p" 2>/dev/null && continue
		echo $$ >"$dir/$k.pid"
		for p in $(seq "$base" $((base + n - 1))); do
			ss -Htln "sport = :$p" | grep -q . && { busy=1; break; }
		done
		[ $busy = 0 ] && { found=$base; break; }
	done
	exec {lock}>&-
	[ -n "$found" ] && echo "$found"
}
# listen_run N START: PORT=$(free_ports N), then calls START, the test's
# function that starts `docpipe run ... --listen 127.0.0.1:$PORT` in the
# background (its pid in SUP, its stderr in $T_DIR/err), and waits (30 s)
# until the hub listens on PORT.  A run that ended first because a port was
# taken ("Address already in use": free_ports sees only listening sockets,
# and a process outside the tests can take a port after it looked) starts
# again on another block, 3 times at most.  Returns 1, with the run's
# stderr as diagnostics, when the hub never listened.  (ops_refused failed
# a CI run so: no hub after 30 s, the run gone, its stderr never shown.)
listen_run() {
	local n=$1 start=$2 try
	for try in 1 2 3; do
		PORT=$(free_ports "$n") || return 1
		"$start"
		wait_for 30 eval 'ss -Htln "sport = :$PORT" | grep -q . || exited $SUP'
		! exited $SUP && ss -Htln "sport = :$PORT" | grep -q . && return 0
		exited $SUP || kill -TERM $SUP
		wait $SUP
		grep -q "Address already in use" "$T_DIR/err" || break
		diag "try $try: a port of $PORT..$((PORT + n - 1)) was taken; another block"
	done
	diag "the hub did not listen on $PORT; the run's stderr:"
	sed 's/^/#   /' "$T_DIR/err"
	return 1
}
# curve_run: listen_run's START for a CurveZMQ run over $T_DIR/docs without a
# chunk replica of its own: the hub's keys $K/hub.key, the workers allowed
# $K/worker.pub; its report in $T_DIR/report.
curve_run() {
	docpipe run "$T_DIR/docs" --listen "127.0.0.1:$PORT" --curve-secret "$K/hub.key" \
		--allow "$K/worker.pub" --replicas chunk=0 --progress none >"$T_DIR/report" 2>"$T_DIR/err" &
	SUP=$!
}
# run_then_stop PROCESS REPORT ERR ROOT [RUN-OPTION...]: starts docpipe run
# ROOT in the background (its pid in SUP; report and stderr to REPORT and
# ERR; the hub's metrics on METRICS_PORT) against the last fakeapi, which
# holds its answers meanwhile, stops (SIGSTOP) a process named PROCESS (as
# pgrep -x sees it: 15 characters; pid in STOPPED) in a state the run
# cannot end from without it, then lets the server answer:
#   docpipe-summari, docpipe-embed: a replica that holds a record (the
#     hub's metrics), which it cannot finish;
#   docpipe-store: a replica that has read a record, the server holding
#     every answer after 16 chat requests (the rest of the documents still
#     to come);
#   docpipe-hub: the hub, once summarize has asked.
# Returns 1 when the run did not get under way.  (It waited for 8
# documents stored, then stopped the first process of the name: on a
# loaded machine summarize had done every document by then and held
# nothing, or the run had ended.)
run_then_stop() {
	local process=$1 report=$2 err=$3
	shift 3
	METRICS_PORT=$(free_ports 1) || return 1
	STOPPED=
	if [ "$process" = docpipe-store ]; then
		api_control '{"hold_after": {"chat": 16}}'
	else
		api_control '{"hold": true}'
	fi
	docpipe run "$@" --progress none --metrics "127.0.0.1:$METRICS_PORT" >"$report" 2>"$err" &
	SUP=$!
	case $process in
	docpipe-summari) wait_for 60 eval 'STOPPED=$(metric_pid summarize docpipe_records_in_flight)' ;;
	docpipe-embed) wait_for 60 eval 'STOPPED=$(metric_pid embed docpipe_records_in_flight)' ;;
	docpipe-store) wait_for 60 eval 'STOPPED=$(metric_pid store docpipe_records_in_total)' ;;
	*) wait_for 60 api_requests_ge chat 1 && STOPPED=$(pgrep -P $SUP -x "$process" | head -1) ;;
	esac
	[ -n "$STOPPED" ] && kill -STOP "$STOPPED"
	local rc=$?
	api_control '{"hold": false}'
	return $rc
}
# metric_pid STAGE METRIC: the pid of a replica of STAGE whose METRIC the
# hub's metrics (METRICS_PORT) show at 1 or more; status 1 when none does.
metric_pid() {
	local m
	m=$(curl -sf --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics") || return 1
	m=$(sed -nE "s/^$2\{stage=\"$1\",replica=\"[^\"]*\/([0-9]+)\"\} [1-9].*/\1/p" <<<"$m")
	[ -n "$m" ] && echo "${m%%$'\n'*}"
}
# numbered_docs DIR N WORDS NAME: writes N Markdown files DIR/NAME<i>.md,
# each a heading and a line of WORDS + 1 numbers, i to i + WORDS (distinct
# texts, same shape).  One awk for every file: two forks a file (seq in
# $(...)) took 147 s for fault_discover_kill's 2,500 on a loaded 2-core
# machine (3 s now), 5 s for graph_replica_frozen's 120 of 300 words.
numbered_docs() {
	mkdir -p "$1" && awk -v dir="$1" -v n="$2" -v words="$3" -v name="$4" 'BEGIN {
		for (i = 1; i <= n; i++) {
			f = dir "/" name i ".md"
			line = i
			for (j = i + 1; j <= i + words; j++) line = line " " j
			printf "# %s %d\n\n%s\n", name, i, line >f
			close(f)
		}
	}'
}
# fakeapi ARGS...: starts tests/fakeapi.py --port 0 ARGS in the background
# (its pid in SERVER and added to SERVERS: killed at exit), waits for its port, sets BASE to its root URL and exports
# OPENAI_BASE_URL.  Each call starts a server of its own.  A --port in ARGS
# wins (one from free_ports, for a server started again on its port).  The
# wait is long (30 s): Python's start on a loaded machine is no test.
FAKEAPI_N=0
fakeapi() {
	local f=$T_DIR/server-$((FAKEAPI_N += 1))
	python3 "$TOP/tests/fakeapi.py" --port 0 "$@" >"$f.port" 2>"$f.err" &
	SERVER=$!
	SERVERS+=("$SERVER")
	wait_for 30 test -s "$f.port"
	local _ port
	read -r _ port _ <"$f.port"
	BASE=http://127.0.0.1:$port
	export OPENAI_BASE_URL=$BASE/v1
}
# two_apis: two test servers (fakeapi), one for a live run and one for a
# second run over its roots, their root URLs in A_BASE and B_BASE: what the
# second run pays is counted alone.
two_apis() {
	fakeapi
	A_BASE=$BASE
	fakeapi
	B_BASE=$BASE
}
# big_doc_round MS: for tests of a stage stopped mid-round: a test server
# answering chat in MS ms, SUMMARIZE (--chunk-summaries, 4 threads), kept
# (the summaries cached), and one whole run over a 200-chunk document
# ($T_DIR/big.ndjson), checked, its requests in TOTAL.
big_doc_round() {
	fakeapi --latency chat="$1"
	SUMMARIZE=(docpipe-summarize --backend openai --chunk-summaries --threads 4)
	chunked_doc /d/big.md 200 >"$T_DIR/big.ndjson"
	"${SUMMARIZE[@]}" <"$T_DIR/big.ndjson" >/dev/null 2>"$T_DIR/e0"
	is "$?" 0 "a whole run: exit 0"
	TOTAL=$(api_requests chat)
	ok $((TOTAL >= 200 ? 0 : 1)) "it pays $TOTAL requests (the summary's and 200 chunks')"
}
kept() { sql "SELECT count(*) FROM docpipe.summary_cache"; }
# The last fakeapi's controls (tests/fakeapi.py): api_reset forgets its
# faults, settings and counts; api_control JSON sets faults and settings;
# api_stats [FILTER] prints its counts and log through jq -rc FILTER;
# api_requests ENDPOINT prints how many requests ENDPOINT (chat, embed)
# got; api_requests_ge ENDPOINT N: whether at least N (for wait_for).
api_reset() { curl -sf -X POST -d '{}' "$BASE/_reset" >/dev/null; }
api_control() { curl -sf -X POST -d "$1" "$BASE/_control" >/dev/null; }
api_stats() { curl -sf "$BASE/_stats" | jq -rc "${1:-.}"; }
api_requests() { api_stats ".requests.$1"; }
api_requests_ge() { [ "$(api_requests "$1")" -ge "$2" ]; }
# inexact_vectors FILE: how many chunks of FILE's document records have a
# vector (base64 float32) that is not exactly the test server's for their
# text (tests/fakeapi.py's vector, rounded to float32).
inexact_vectors() {
	TOP=$TOP python3 - "$1" <<'PY'
import base64, json, os, struct, sys
sys.path.insert(0, os.environ["TOP"] + "/tests")
from fakeapi import vector
bad = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["kind"] != "document":
        continue
    for c in r["chunks"]:
        got = list(struct.unpack("<%df" % r["dim"], base64.b64decode(c["vec"])))
        want = [struct.unpack("<f", struct.pack("<f", x))[0] for x in vector(c["text"], r["dim"])]
        bad += got != want
print(bad)
PY
}
# chunked_doc PATH N [DOCS]: one document record of N chunks of 31 words
# each; with DOCS, that many, PATH holding a %d for their number (0 up).
chunked_doc() {
	python3 - "$1" "$2" "${3:-}" <<'PY'
import json, sys
docs = int(sys.argv[3]) if sys.argv[3] else None
for d in range(docs if docs is not None else 1):
    print(json.dumps({"v": 1, "kind": "document", "path": sys.argv[1] % d if docs is not None else sys.argv[1],
        "chunks": [{"seq": i, "text": "chunk %d: %s" % (i, " ".join(["word"] * 30)), "heading": ["H"]}
                   for i in range(int(sys.argv[2]))]}))
PY
}
# doc_record PATH HASH TEXT: a document record of one chunk (TEXT: no
# characters JSON must escape), root the directory of PATH.
doc_record() {
	printf '{"v":1,"kind":"document","path":"%s","root":"%s","hash":"%s","chunker":"t","chunks":[{"seq":0,"text":"%s"}]}\n' \
		"$1" "${1%/*}" "$2" "$3"
}
