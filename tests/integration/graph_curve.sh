#!/bin/bash
# CurveZMQ and replicas added by hand: the run has no chunk replica of its
# own, so the corpus is ingested only if a chunk worker started after the
# run began (as on another machine) receives work.  A worker with an
# allowed key does; one with an unknown key and a plaintext one get nothing.
. "$(dirname "$0")/../lib/tap.sh"

N=20
mkdir -p "$T_DIR/docs"
for i in $(seq 1 $N); do printf '# Item %d\n\nbody %d\n' "$i" "$i" >"$T_DIR/docs/i$i.md"; done
newdb || exit 1
K=$T_DIR/keys
mkdir -p "$K"
for name in hub worker stranger; do docpipe keygen "$K/$name" 2>/dev/null; done
is "$(stat -c %a "$K/hub.key")" 600 "keygen: secret key file is private"
like "$(cat "$K/worker.pub")" "^# docpipe CurveZMQ public key" "keygen: public key file"

listen_run 9 curve_run
ok $? "the hub listens on its ports" || done_testing

# Peers that must get nothing: their output would be on stdout.
timeout -s TERM 3 docpipe-chunk --in "tcp://127.0.0.1:$PORT" >"$T_DIR/plain.out" 2>/dev/null
is "$(wc -c <"$T_DIR/plain.out")" 0 "a plaintext peer gets nothing"
timeout -s TERM 3 docpipe-chunk --in "tcp://127.0.0.1:$PORT" --curve-server "$K/hub.pub" \
	--curve-key "$K/stranger.key" >"$T_DIR/stranger.out" 2>/dev/null
is "$(wc -c <"$T_DIR/stranger.out")" 0 "an unknown key gets nothing"
ok $(kill -0 $SUP 2>/dev/null; echo $?) "the run waits for a chunk replica"

worker_finishes $SUP "run with a hand-started, allowed chunk worker exits 0" \
	chunk --connect "127.0.0.1:$PORT" --curve-server "$K/hub.pub" --curve-key "$K/worker.key"
is "$(jq -r '[.complete, .added] | @tsv' "$T_DIR/report")" "$(printf 'true\t%d' $N)" \
	"the allowed worker did the chunking"
is "$(sql 'SELECT count(*) FROM docpipe.documents')" $N "$N rows"

# Plaintext off loopback is refused unless insisted on.
docpipe-chunk --in tcp://192.0.2.1:7870 </dev/null >/dev/null 2>"$T_DIR/refused"
is "$?" 3 "plaintext to a non-loopback address refused"
like "$(cat "$T_DIR/refused")" "plaintext is allowed only on loopback" "and says why"
# A run refused before it starts leaves no temporary directory behind.
mkdir -p "$T_DIR/tmp"
printf '# no key here\n' >"$T_DIR/nokey"
TMPDIR="$T_DIR/tmp" docpipe run "$T_DIR/docs" --curve-secret "$T_DIR/nokey" --allow "$T_DIR/nokey" \
	>/dev/null 2>"$T_DIR/nokey.err"
is "$?" 2 "a key file without a public key: usage error"
is "$(ls "$T_DIR/tmp" | wc -l | tr -d ' ')" 0 "no temporary directory left behind"
[ "$T_FAILED" = 0 ] || sed 's/^/# /' "$T_DIR/err"
done_testing
