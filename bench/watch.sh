#!/bin/bash
# docpipe-watch feeding the local pipeline (issue 13 targets): an edited
# file's new version queryable within 2 s of the write (p95 over 100 edits),
# and 10,000 files created at once all ingested exactly once.
#
#   bench/watch.sh [EDITS] [BURST]        (default 100 and 10000)
set -euo pipefail
cd "$(dirname "$0")/.."
edits=${1:-100}
burst=${2:-10000}
out=$(mktemp -d /tmp/docpipe-watch-bench.XXXXXX)
chmod 755 "$out"
eval "$(tests/lib/pg.sh start "$out/pg")"
export PGHOST PGPORT PGUSER
createdb watch && export PGDATABASE=watch
watcher=
cleanup() {
	[ -n "$watcher" ] && kill "$watcher" 2>/dev/null
	wait 2>/dev/null || true
	tests/lib/pg.sh stop "$out/pg" >/dev/null 2>&1 || true
	rm -rf "$out"
}
trap cleanup EXIT
sql() { psql -X -q -A -t -c "$1"; }

mkdir -p "$out/docs"
for i in $(seq 0 9); do printf '# File %d\n\nfirst version\n' "$i" >"$out/docs/f$i.md"; done
mkfifo "$out/records"
bin/docpipe-watch --settle 100 "$out/docs" >"$out/records" 2>"$out/watch.err" &
watcher=$!
bin/docpipe-chunk <"$out/records" | bin/docpipe-summarize | bin/docpipe-embed |
	bin/docpipe-store >"$out/receipts" 2>"$out/store.err" &
until [ "$(sql 'SELECT count(*) FROM docpipe.documents' 2>/dev/null || echo 0)" = 10 ]; do sleep 0.05; done

# Edits, one at a time: from the write to the text being found by SQL.
: >"$out/lat"
for i in $(seq 1 "$edits"); do
	f=$out/docs/f$((i % 10)).md
	start=$(date +%s.%N)
	printf '# File\n\nversion marker%dx\n' "$i" >"$f"
	until [ "$(sql "SELECT count(*) FROM docpipe.chunks WHERE content LIKE '%marker${i}x%'")" = 1 ]; do
		sleep 0.01
	done
	echo "$(date +%s.%N) $start" | awk '{ printf "%.3f\n", $1 - $2 }' >>"$out/lat"
done
sort -n "$out/lat" | awk '{ a[NR] = $1 } END { printf "edits: %d, latency p50 %.3f s, p95 %.3f s, max %.3f s (settle 100 ms)\n", NR, a[int(NR * 0.5)], a[int(NR * 0.95)], a[NR] }'

# A burst: all files created at once.
mkdir "$out/docs/burst"
start=$(date +%s.%N)
/usr/bin/python3 -c "
import sys
for i in range(int(sys.argv[2])):
    open('%s/b%05d.md' % (sys.argv[1], i), 'w').write('# B %d\n\nburst text %d\n' % (i, i))
" "$out/docs/burst" "$burst"
created=$(date +%s.%N)
until [ "$(sql "SELECT count(*) FROM docpipe.documents WHERE path LIKE '%/burst/%'")" = "$burst" ]; do sleep 0.2; done
done_at=$(date +%s.%N)
once=$(jq -r 'select(.path | test("/burst/")) | .path' "$out/receipts" | sort | uniq -c | awk '$1 == 1' | wc -l)
twice=$(jq -r 'select(.path | test("/burst/")) | .path' "$out/receipts" | sort | uniq -c | awk '$1 > 1' | wc -l)
echo "burst: $burst files created in $(echo "$created $start" | awk '{printf "%.2f", $1-$2}') s," \
	"all stored $(echo "$done_at $start" | awk '{printf "%.2f", $1-$2}') s after the first;" \
	"receipts: $once paths once, $twice more than once; overflow rescans: $(grep -c overflowed "$out/watch.err" || true)"
echo "nproc $(nproc), load $(cut -d' ' -f1-3 /proc/loadavg)"
