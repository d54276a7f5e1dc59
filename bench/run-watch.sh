#!/bin/bash
# docpipe run --watch's start: the time to "first pass complete" and to
# idle (every document taken done, none in flight, the same on two
# progress lines a second apart), on a new database and again on the
# stored one, and the documents that went through the graph.
#
#   bench/run-watch.sh [FILES] [BIN-DIR...]   (default 20000 and bin)
#
# Each BIN-DIR (a build's bin/) is run in turn on the same tree, each on a
# database of its own: give two to compare builds (alternate them by
# giving A B A B).
set -euo pipefail
cd "$(dirname "$0")/.."
files=${1:-20000}
shift || true
[ $# -gt 0 ] || set -- "$PWD/bin"
out=$(mktemp -d /tmp/docpipe-run-watch-bench.XXXXXX)
chmod 755 "$out"
eval "$(tests/lib/pg.sh start "$out/pg")"
export PGHOST PGPORT PGUSER
sup=
cleanup() {
	[ -n "$sup" ] && kill -TERM "$sup" 2>/dev/null && wait "$sup" 2>/dev/null
	tests/lib/pg.sh stop "$out/pg" >/dev/null 2>&1 || true
	rm -rf "$out"
}
trap cleanup EXIT

dirs=$(((files + 499) / 500))
awk -v root="$out/docs" -v n="$files" -v dirs="$dirs" 'BEGIN {
	for (i = 0; i < n; i++) {
		d = root "/d" (i % dirs)
		if (i < dirs) system("mkdir -p " d)
		f = d "/f" i ".md"
		printf "# File %d\n\nbody words %d here\n", i, i >f
		close(f)
	}
}'

# progress_line: "DONE TAKEN IN_FLIGHT" of the last progress line.
progress_line() {
	grep -E 'documents [0-9]+/[0-9]+' "$out/err" | tail -1 |
		sed -E 's/.*documents ([0-9]+)\/([0-9]+).* ([0-9]+) in flight.*/\1 \2 \3/'
}
n=0
for bin in "$@"; do
	n=$((n + 1))
	export PGDATABASE=run$n
	createdb "$PGDATABASE"
	for pass in new unchanged; do
		rm -f "$out/err"
		start=$(date +%s.%N)
		setsid "$bin/docpipe" run "$out/docs" --watch --progress plain --opt hub=--progress-every=1 \
			>/dev/null 2>"$out/err" &
		sup=$!
		until grep -q "first pass complete" "$out/err" 2>/dev/null; do sleep 0.1; done
		first=$(echo "$(date +%s.%N) - $start" | bc)
		prev=""
		while :; do
			sleep 1
			line=$(progress_line)
			read -r done taken flight <<<"$line"
			[ "$done" = "$taken" ] && [ "$flight" = 0 ] && [ "$line" = "$prev" ] && break
			prev=$line
		done
		idle=$(echo "$(date +%s.%N) - $start - 1" | bc)
		printf '%s %s: first pass complete %.1f s, idle %.1f s, %s documents through the graph for %s files\n' \
			"$bin" "$pass" "$first" "$idle" "$taken" "$files"
		kill -TERM "$sup"
		wait "$sup" || true
		sup=
	done
done
