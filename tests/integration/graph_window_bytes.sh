#!/bin/bash
# The hub's byte bound (--window-bytes): documents enter while the sizes of
# the files in flight are under it, each file counted up to a quarter of
# it, so a corpus of big files cannot fill the hub's memory through a
# window of 256 documents.  The run is held (no store replica: what
# entered stays in flight) and the hub's metrics say how much entered;
# then a store worker lets it finish.
. "$(dirname "$0")/../lib/tap.sh"
set -o pipefail

# 12 small files (~1,000 bytes) and 6 big ones (~20,000 bytes).
mkdir -p "$T_DIR/small" "$T_DIR/big"
line=$(printf 'word%.0s ' $(seq 1 30))
for i in $(seq 1 12); do
	{ printf '# Small %02d\n\n' "$i"; for _ in $(seq 1 5); do echo "$line"; done; } >"$T_DIR/small/s$i.md"
done
for i in $(seq 1 6); do
	{ printf '# Big %02d\n\n' "$i"; for _ in $(seq 1 100); do echo "$line"; echo; done; } >"$T_DIR/big/b$i.md"
done
PORT=$(free_ports 11) || exit 1
URL=http://127.0.0.1:$((PORT + 9))/metrics
scrape() { curl -sf --max-time 2 "$URL" >"$T_DIR/metrics"; }
metric() { awk -v k="$1" 'index($0, k) == 1 { print $NF; exit }' "$T_DIR/metrics"; }
sizes() { stat -c %s "$@" | awk '{ s += $1 } END { print s }'; }

# held DIR BYTES WANT: runs DIR with --window-bytes BYTES and no store
# replica until the hub holds WANT documents, checks that no more enter,
# then lets a store worker finish the run.
held() {
	local dir=$1 bytes=$2 want=$3 label=$4
	newdb || exit 1
	docpipe run "$dir" --listen "127.0.0.1:$PORT" --replicas store=0 --window-bytes "$bytes" \
		--metrics "127.0.0.1:$((PORT + 9))" --progress plain --opt hub=--progress-every=1 \
		>"$T_DIR/report" 2>"$T_DIR/err" &
	SUP=$!
	full() { scrape && [ "$(metric 'docpipe_window_documents ')" = "$want" ]; }
	wait_for 30 full
	ok $? "$label: $want documents enter"
	sleep 1 # what could still enter has had the time to
	scrape
	is "$(metric 'docpipe_window_documents ')" "$want" "$label: and no more while they are in flight"
	is "$(metric 'docpipe_window_bytes_max ')" "$bytes" "$label: the bound in the metrics"
	wait_for 30 grep -q "$want in flight (at --window-bytes)" "$T_DIR/err"
	ok $? "$label: the progress says which bound holds them"
	worker_finishes $SUP "$label: the run completes once a store worker joins" \
		store --connect "127.0.0.1:$PORT"
	is "$(sql 'SELECT count(*) FROM docpipe.documents')" "$(ls "$dir" | wc -l)" "$label: every document stored"
	[ "$T_FAILED" = 0 ] || sed 's/^/# /' "$T_DIR/err"
}

# Four small files' sizes and one byte: the fifth enters (under the bound
# before it), the sixth does not.
s4=$(sizes "$T_DIR"/small/s{1,2,3,4}.md)
held "$T_DIR/small" $((s4 + 1)) 5 "small files"
is "$(metric 'docpipe_window_size ')" 256 "small files: the window of documents is not what holds them"
# Big files, each over a quarter of the bound: four enter, counted a
# quarter each (a file larger than the whole bound still enters).
held "$T_DIR/big" 8000 4 "big files"

# docpipe run passes it on; a bad value is a usage error.
docpipe run "$T_DIR/small" --window-bytes lots --progress none >/dev/null 2>"$T_DIR/bad.err"
is "$?" 2 "--window-bytes lots: a usage error"
docpipe-hub --run x --window-bytes -1 </dev/null >/dev/null 2>"$T_DIR/bad.err"
is "$?" 2 "docpipe-hub --window-bytes -1: a usage error"
done_testing
