# TAP helpers for integration tests (sourced).  Each check prints one TAP
# line; `done_testing` prints the plan and sets the exit status.
#
# Environment set by tests/run: DOCPIPE_BIN (binaries of the variant under
# test), PGHOST/PGPORT/PGUSER of the throwaway server, TEST_TMP (scratch).
set -u
T_N=0
T_FAILED=0
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
: "${DOCPIPE_BIN:=$TOP/bin}"
PATH="$DOCPIPE_BIN:$TOP/bin:$PATH"
export PATH

ok() { # ok CONDITION-EXIT-STATUS NAME
	T_N=$((T_N + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $T_N - $2"
	else
		echo "not ok $T_N - $2"
		T_FAILED=$((T_FAILED + 1))
	fi
}
is() { # is GOT WANT NAME
	if [ "$1" = "$2" ]; then ok 0 "$3"; else ok 1 "$3"; printf '#   got: %s\n#  want: %s\n' "$1" "$2"; fi
}
like() { # like GOT REGEX NAME
	if printf '%s' "$1" | grep -Eq -- "$2"; then ok 0 "$3"; else ok 1 "$3"; printf '#   got: %s\n# wanted match: %s\n' "$1" "$2"; fi
}
skip() { T_N=$((T_N + 1)); echo "ok $T_N # SKIP $1"; }
diag() { printf '# %s\n' "$*"; }
done_testing() { echo "1..$T_N"; [ "$T_FAILED" -eq 0 ]; exit $?; }

# A scratch directory removed at exit.
T_DIR=$(mktemp -d "${TEST_TMP:-/tmp}/dpt.XXXXXX")
trap 'rm -rf "$T_DIR"' EXIT

# newdb: creates an empty database for this test and exports DATABASE_URL.
newdb() {
	# tests/run runs store and query tests a second time with
	# DOCPIPE_TEST_PGVECTOR=1: their databases are then on the pgvector server.
	if [ "${DOCPIPE_TEST_PGVECTOR:-}" = 1 ]; then
		export PGHOST=$PGVECTOR_PGHOST PGPORT=$PGVECTOR_PGPORT
	fi
	local name="t_$(basename "$0" .sh | tr -c 'a-z0-9\n' '_')_$$_$RANDOM"
	createdb "$name" || return 1
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
# free_ports N: prints a base port B such that B..B+N-1 are not listening
# on this machine (the graph's --listen takes nine consecutive ports).
free_ports() {
	local n=$1 base p busy
	for _ in $(seq 50); do
		base=$((20000 + RANDOM % 30000)) busy=0
		for p in $(seq "$base" $((base + n - 1))); do
			ss -Htln "sport = :$p" | grep -q . && { busy=1; break; }
		done
		[ $busy = 0 ] && { echo "$base"; return 0; }
	done
	return 1
}
# numbered_docs DIR N WORDS NAME: writes N Markdown files DIR/NAME<i>.md,
# each a heading and a line of WORDS numbers (distinct texts, same shape).
numbered_docs() {
	local i
	mkdir -p "$1"
	for i in $(seq 1 "$2"); do
		printf '# %s %d\n\n%s\n' "$4" "$i" "$(seq -s ' ' "$i" $((i + $3)))" >"$1/$4$i.md"
	done
}
