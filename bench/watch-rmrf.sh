#!/bin/bash
# docpipe-watch alone: a tree of DIRS directories with a file each is made,
# its first pass taken, then removed with `rm -rf`; the time from the rm to
# the last delete record, and the watcher's CPU.
#
#   bench/watch-rmrf.sh [DIRS] [BIN]        (default 10000 and bin)
set -euo pipefail
cd "$(dirname "$0")/.."
dirs=${1:-10000}
bin=${2:-bin}
out=$(mktemp -d /tmp/docpipe-watch-rmrf.XXXXXX)
watcher=
cleanup() {
	[ -n "$watcher" ] && kill "$watcher" 2>/dev/null
	wait 2>/dev/null || true
	rm -rf "$out"
}
trap cleanup EXIT
count() { grep -c "\"kind\":\"$1\"" "$out/records" || true; }

/usr/bin/python3 -c "
import os, sys
for i in range(int(sys.argv[2])):
    d = '%s/tree/d%03d/e%05d' % (sys.argv[1], i % 100, i)
    os.makedirs(d)
    open(d + '/f.md', 'w').write('# F %d\n\ntext\n' % i)
" "$out" "$dirs"
"$bin/docpipe-watch" --settle 100 "$out/tree" >"$out/records" 2>"$out/watch.err" &
watcher=$!
until [ "$(count file)" -ge "$dirs" ]; do sleep 0.1; done
cpu0=$(awk '{print $14 + $15}' "/proc/$watcher/stat")
start=$(date +%s%N)
rm -rf "$out/tree"
until [ "$(count delete)" -ge "$dirs" ]; do sleep 0.1; done
end=$(date +%s%N)
cpu1=$(awk '{print $14 + $15}' "/proc/$watcher/stat")
echo "$dirs directories of a file each (in 100 parents), $bin: all $dirs deletes in $(((end - start) / 1000000)) ms, watcher CPU $(((cpu1 - cpu0) * 10)) ms"
grep -c overflow "$out/watch.err" | sed 's/^/queue overflows said: /'
