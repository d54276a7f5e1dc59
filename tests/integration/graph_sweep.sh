#!/bin/bash
# The sweep and documents stored without a run (a plain pipeline): under the
# run's roots, those whose file still exists are seen by the run (unchanged,
# last_run set) and kept; those whose file is gone are deleted; other roots
# are never touched.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1

for d in docs other; do
	mkdir -p "$T_DIR/$d"
	for i in 1 2 3; do printf '# %s %d\n\nSome text %d.\n' "$d" "$i" "$i" >"$T_DIR/$d/f$i.md"; done
done
for d in docs other; do
	docpipe-discover "$T_DIR/$d" | docpipe-chunk | docpipe-summarize | docpipe-embed | docpipe-store -q >/dev/null
	ok $? "plain pipeline over $d: every stage exits 0"
done
is "$(sql 'SELECT count(*) FROM docpipe.documents WHERE last_run IS NULL')" 6 \
	"plain pipeline: 6 documents stored without a run"

rm "$T_DIR/docs/f3.md" "$T_DIR/other/f3.md"
docpipe run "$T_DIR/docs" --progress none >"$T_DIR/report" 2>"$T_DIR/err"
rc=$?
is "$rc" 0 "graph run over the root exits 0"
[ "$rc" = 0 ] || sed 's/^/# /' "$T_DIR/err"
RUN=$(jq -r .run "$T_DIR/report")
is "$(jq -r '[.unchanged, .added, .deleted, .failed] | @tsv' "$T_DIR/report")" "$(printf '2\t0\t1\t0')" \
	"existing files unchanged, the removed one deleted"
is "$(sql "SELECT string_agg(regexp_replace(path, '.*/', '') || '=' || (last_run = '$RUN'), ' ' ORDER BY path)
	   FROM docpipe.documents WHERE root = '$T_DIR/docs'")" "f1.md=true f2.md=true" \
	"documents stored without a run whose file exists survive, now marked with the run"
is "$(sql "SELECT count(*) FROM docpipe.documents WHERE root = '$T_DIR/other' AND last_run IS NULL")" 3 \
	"another root's documents without a run are untouched (even the one whose file is gone)"

# A document that never reaches the store (dropped by --jq: no receipt, the
# hub gives up on it) keeps its stored version: the run skips the sweep
# rather than delete it.
rm "$T_DIR/docs/f2.md"
docpipe run "$T_DIR/docs" --opt 'chunk=--jq=select(.path | endswith("/f1.md") | not)' \
	--opt hub=--timeout=1 --opt hub=--attempts=1 --progress none >"$T_DIR/report" 2>"$T_DIR/err"
is "$?" 1 "a document without receipt: exit 1"
is "$(jq -r '[.failed, .deleted] | @tsv' "$T_DIR/report")" "$(printf '1\t0')" \
	"one failed, nothing swept"
like "$(cat "$T_DIR/err")" "sweep skipped" "says the sweep was skipped"
is "$(sql "SELECT count(*) FROM docpipe.documents WHERE root = '$T_DIR/docs'")" 2 \
	"the document without receipt is still stored (and f2.md is swept only by a later run)"
docpipe run "$T_DIR/docs" --progress none >"$T_DIR/report" 2>"$T_DIR/err"
is "$(jq -r '[.unchanged, .deleted] | @tsv' "$T_DIR/report")" "$(printf '1\t1')" "the next full run sweeps"

# docpipe-store --sweep-on-go, as the hub starts its sweep (at the run's
# first receipt): connected at once, it sweeps on "go"; stdin ending
# without it deletes nothing; a connection lost while it waited is made
# again at the go.
docs() { sql "SELECT count(*) FROM docpipe.documents WHERE root = '$T_DIR/docs'"; }
docpipe-store -q --sweep-on-go --sweep another-run "$T_DIR/docs" </dev/null >"$T_DIR/swept"
is "$?/$(docs)/$(wc -c <"$T_DIR/swept")" "0/1/0" "--sweep-on-go: stdin ends without go: exit 0, nothing deleted"
docpipe-store --sweep-on-go </dev/null >/dev/null 2>"$T_DIR/err"
is "$?/$(grep -c 'needs --sweep' "$T_DIR/err")" "2/1" "--sweep-on-go without --sweep: usage error"
docpipe-store --sweep "" "$T_DIR/docs" </dev/null >/dev/null 2>"$T_DIR/err"
is "$?/$(grep -c 'RUN is empty' "$T_DIR/err")" "2/1" "--sweep \"\" (a RUN variable unset): usage error"
mkfifo "$T_DIR/go"
# What it deletes is gone from disk (a document whose file is still there
# is kept: fault sweep 19).
rm -r "$T_DIR/docs"
docpipe-store -q --sweep-on-go --sweep another-run "$T_DIR/docs" <"$T_DIR/go" >"$T_DIR/swept" 2>"$T_DIR/err" &
sweeper=$!
exec {go}>"$T_DIR/go"
backend() { sql "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
	AND application_name LIKE 'docpipe-store%'"; }
for _ in $(seq 200); do [ "$(backend)" = 1 ] && break; sleep 0.05; done
is "$(backend)/$(docs)" "1/1" "--sweep-on-go: connected before the go, nothing deleted yet"
sql "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database()
	AND application_name LIKE 'docpipe-store%'" >/dev/null
echo go >&$go
exec {go}>&-
wait $sweeper
is "$?/$(docs)/$(jq -r .status "$T_DIR/swept")" "0/0/deleted" \
	"--sweep-on-go: its connection ended while it waited, it connects again at the go and sweeps"
[ "$(docs)" = 0 ] || sed 's/^/# /' "$T_DIR/err"

# The hub's --help: its own options, the exit codes; stage options refused.
help=$(docpipe-hub --help)
like "$help" "Exit status:" "hub --help lists the exit codes"
like "$help" "--version" "hub --help lists --version"
like "$help" "are refused: the hub binds every edge" "hub --help says stage options are refused"
for o in "--in tcp://127.0.0.1:1" "--out tcp://127.0.0.1:1" "--stats tcp://127.0.0.1:1" "--jq ." \
	"--curve-server $T_DIR/x" "--curve-key $T_DIR/x"; do
	# shellcheck disable=SC2086
	docpipe-hub --run r $o </dev/null >/dev/null 2>"$T_DIR/err"
	is "$?/$(grep -c 'not the hub' "$T_DIR/err")" "2/1" "hub refuses the stage option ${o%% *}"
done
done_testing
