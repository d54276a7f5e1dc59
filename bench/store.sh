#!/bin/bash
# Store throughput: chunks/s written by docpipe-store with binary COPY at
# dim 384 into a throwaway PostgreSQL (documents generated beforehand, so
# only the store is timed), and the server's CPU seconds per run (its
# backends': steadier than the wall on a loaded machine) and the store's
# own (user + system) and peak RSS.
#   bench/store.sh [DOCS [CHUNKS_PER_DOC]]     (default 2000 x 10)
# RECORDS=FILE: stores FILE's document records instead of generated ones
# (e.g. ../shared/corpora through discover | chunk | embed).
# BINS="DIR..." [ROUNDS=N]: each build's store (DIR/docpipe-store) in turn,
# N rounds (default 3), new then unchanged: two builds compared on the same
# server in the same minutes (the insert method is left out).
set -eu
cd "$(dirname "$0")/.."
docs=${1:-2000} chunks=${2:-10}
tmp=$(mktemp -d /tmp/docpipe-bench-store.XXXXXX)
chmod 755 "$tmp"
eval "$(tests/lib/pg.sh start "$tmp/pg")"
export PGHOST PGPORT PGUSER
trap 'tests/lib/pg.sh stop "$tmp/pg"; rm -rf "$tmp"' EXIT
if [ -n "${RECORDS:-}" ]; then
	input=$RECORDS
	total=$(jq -n '[inputs | select(.kind == "document") | .chunks | length] | add' "$input")
else
	input=$tmp/docs.ndjson
	python3 bench/store-gen.py --docs "$docs" --chunks "$chunks" --dim 384 >"$input"
	total=$((docs * chunks))
fi
createdb bench
export DATABASE_URL="postgresql:///bench?host=$PGHOST&port=$PGPORT&user=$PGUSER"
# Schema first, so the timed run measures writes only.
bin/docpipe-store -q </dev/null
# The server's CPU: the postmaster's reaped children (the backends), in
# clock ticks, once the backends of earlier runs have exited (bounded wait).
pm=$(head -1 "$tmp/pg/data/postmaster.pid")
sleep 1
base=$(pgrep -c -P "$pm")
server_ticks() {
	for _ in $(seq 100); do
		[ "$(pgrep -c -P "$pm")" -le "$base" ] && break
		sleep 0.05
	done
	awk '{print $16 + $17}' "/proc/$pm/stat"
}
run() { # run LABEL [BIN_DIR [ARGS...]]: times one store of all documents
	local dir=${1:-bin} start end c0 c1
	shift || true
	c0=$(server_ticks)
	start=$(date +%s.%N)
	/usr/bin/time -f "%U %S %M" -o "$tmp/time" "$dir/docpipe-store" -q "$@" <"$input" >"$tmp/receipts"
	end=$(date +%s.%N)
	c1=$(server_ticks)
	read -r user sys rss <"$tmp/time"
	python3 -c "import sys; s=float(sys.argv[2])-float(sys.argv[1]); n=int(sys.argv[3]); print('%-28s %6d chunks in %.2f s = %7.0f chunks/s, server %.2f CPU-s, store %.2f CPU-s, %3.0f MB' % (sys.argv[4], n, s, n/s, (int(sys.argv[6])-int(sys.argv[5]))/int(sys.argv[7]), float(sys.argv[8])+float(sys.argv[9]), int(sys.argv[10])/1024))" \
		"$start" "$end" "$total" "$LABEL" "$c0" "$c1" "$(getconf CLK_TCK)" "$user" "$sys" "$rss"
}
if [ -n "${BINS:-}" ]; then
	for round in $(seq "${ROUNDS:-3}"); do
		for dir in $BINS; do
			psql -X -q -d bench -c "TRUNCATE docpipe.documents CASCADE" 2>/dev/null
			LABEL="$round $(basename "$(dirname "$dir")") new" run "$dir"
			LABEL="$round $(basename "$(dirname "$dir")") unchanged" run "$dir"
		done
	done
	exit 0
fi
LABEL="store (copy, new)" run
LABEL="store (copy, unchanged)" run
psql -X -q -d bench -c "TRUNCATE docpipe.documents CASCADE"
LABEL="store (insert, new)" run bin --write-method insert
