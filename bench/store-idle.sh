#!/bin/bash
# Receipt latency of a document that reaches an idle docpipe-store (a
# store between documents, its full-text pending list not yet merged):
# 20 documents sent one at a time through a FIFO after random pauses of
# 10-90 ms; prints each document's time from the write to its receipt (ms).
#   bench/store-idle.sh [N]    DOCPIPE_BIN selects the build
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20}
BIN=${DOCPIPE_BIN:-$PWD/bin}
out=$(mktemp -d /tmp/docpipe-bench.XXXXXX)
chmod 755 "$out"
cleanup() { tests/lib/pg.sh stop "$out/pg" >/dev/null; rm -rf "$out"; }
trap cleanup EXIT
eval "$(tests/lib/pg.sh start "$out/pg")"
export PGHOST PGPORT PGUSER PGDATABASE=idle
unset DATABASE_URL
createdb idle
"$BIN/docpipe-store" -q </dev/null
mkfifo "$out/in"
"$BIN/docpipe-store" -q <"$out/in" >"$out/receipts" &
exec 3>"$out/in"
printf 'latency ms:'
for i in $(seq 1 "$n"); do
	had=$(wc -l <"$out/receipts")
	sleep "0.0$((RANDOM % 9 + 1))"
	start=${EPOCHREALTIME/./}
	printf '{"v":1,"kind":"document","path":"/d/%d.md","root":"/d","hash":"h%d","chunker":"t","chunks":[{"seq":0,"text":"words of document %d"}]}\n' \
		"$i" "$i" "$i" >&3
	while [ "$(wc -l <"$out/receipts")" -le "$had" ]; do :; done
	printf ' %d' $(((${EPOCHREALTIME/./} - start) / 1000))
done
echo
exec 3>&-
wait
