#!/bin/bash
# One document held up while many others flow: how long the others take.
#
#   bench/graph-held-doc.sh [-n RUNS] [DOCS]      (default 1 run, 2000 documents)
#
# DOCS small Markdown files and one whose summary the test server answers
# a byte at a time over 20 s (a slow answer, not a lost one: summarize
# waits for it), sorted second (the first request opens the limiter),
# through `docpipe run` (its --window: 256) with summarize at 8 requests
# in flight against the test server (16 slots, 150 ms a chat request).
# Prints, per run, the seconds until every other document was done (from
# the hub's progress, once a second) and the run's wall time.  The held
# document stands for a huge one or a slow answer.  DOCPIPE_BIN=DIR
# measures another build.
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$(pwd)
BIN=${DOCPIPE_BIN:-$TOP/bin}
runs=1
[ "${1:-}" = -n ] && { runs=$2; shift 2; }
docs=${1:-2000}
out=$(mktemp -d /tmp/docpipe-held-doc.XXXXXX)
chmod 755 "$out"
server=
cleanup() {
	[ -n "$server" ] && kill "$server" 2>/dev/null
	tests/lib/pg.sh stop "$out/pg" >/dev/null 2>&1 || true
	[ -n "${KEEP:-}" ] && cp "$out/err" "$KEEP"; rm -rf "$out"
}
trap cleanup EXIT
unset OPENAI_API_KEY DATABASE_URL PGDATABASE
latency=chat=150,embed=20
. bench/api-common.sh
eval "$(tests/lib/pg.sh start "$out/pg")"
export PGHOST PGPORT PGUSER
serve 16
export PATH="$BIN:$PATH"

mkdir -p "$out/docs"
for i in $(seq "$docs"); do printf '# Page %d\n\n%s\n' "$i" "$(seq -s ' ' "$i" $((i + 40)))" >"$out/docs/page$i.md"; done
printf '# Held\n\nheldmarker %s\n' "$(seq -s ' ' 1 50)" >"$out/docs/page10-held.md"
echo "# $docs documents + 1 held 20 s, summarize 8 in flight, chat 150 ms; $(nproc) cores"
for r in $(seq "$runs"); do
	reset
	curl -sf -X POST -d '{"faults":[{"endpoint":"chat","kind":"trickle","seconds":20,"input":"heldmarker"}]}' \
		"$base/_control" >/dev/null
	createdb "held$r"
	start=$(date +%s.%N)
	PGDATABASE=held$r docpipe run "$out/docs" --progress plain --opt hub=--progress-every=1 \
		--opt summarize=--backend=openai --threads summarize=8 --opt summarize=--timeout=20 \
		>"$out/report" 2>"$out/err"
	wall=$(calc "$(date +%s.%N) - $start")
	others=$(awk -v n="$docs" '/^docpipe-hub: documents [0-9]+\// { split($3, d, "/")
		if (d[1] + 0 >= n) { sub(/.*re-sent, /, ""); print $1; exit } }' "$out/err")
	echo "run $r: the $docs others done at ${others:-?} s; wall $wall s; $(jq -c '{added, failed, resent}' "$out/report")"
done
