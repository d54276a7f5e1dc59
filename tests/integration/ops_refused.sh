#!/bin/bash
# Workers that are refused say so (issue 13 item 5): against a CurveZMQ hub,
# a `docpipe worker` with a key the hub does not allow, one without CURVE
# and one holding a wrong server key each stop within seconds with status 2
# and a message saying why, instead of idling while the run waits; the hub
# logs the refused peer's address and key once.  The run itself goes on and
# completes with an allowed worker.
. "$(dirname "$0")/../lib/tap.sh"
set -o pipefail

N=5
mkdir -p "$T_DIR/docs"
for i in $(seq 1 $N); do printf '# Item %d\n\nbody %d\n' "$i" "$i" >"$T_DIR/docs/i$i.md"; done
newdb || exit 1
K=$T_DIR/keys
mkdir -p "$K"
for name in hub worker stranger other; do docpipe keygen "$K/$name" 2>/dev/null; done

listen_run 9 curve_run
ok $? "the hub listens on its ports" || done_testing

# worker NAME ARGS...: runs a chunk worker, at most 20 s; its status and
# seconds taken go to $T_DIR/NAME.rc.
worker() {
	local name=$1 start=$SECONDS
	shift
	timeout -s TERM 20 docpipe worker chunk --connect "127.0.0.1:$PORT" "$@" \
		>/dev/null 2>"$T_DIR/$name.err"
	echo "$? $((SECONDS - start))" >"$T_DIR/$name.rc"
}
worker stranger --curve-server "$K/hub.pub" --curve-key "$K/stranger.key"
worker plain
worker wrongkey --curve-server "$K/other.pub" --curve-key "$K/worker.key"
for name in stranger plain wrongkey; do
	read -r rc secs <"$T_DIR/$name.rc"
	is "$rc" 2 "$name worker: status 2"
	ok $([ "$secs" -le 10 ] && echo 0 || echo 1) "$name worker: stopped within seconds ($secs s)"
done
like "$(cat "$T_DIR/stranger.err")" "refused this side's CurveZMQ key.*--allow" \
	"unknown key: the worker says the hub refused its key"
like "$(cat "$T_DIR/plain.err")" "requires CurveZMQ.*--curve-server|dropped the connection during 3 handshakes" \
	"plaintext: the worker says why it was refused (libzmq does not always name the protocol error)"
like "$(cat "$T_DIR/wrongkey.err")" "is --curve-server the hub's public key" \
	"wrong server key: the worker suggests the likely cause"

# The hub names the refused key and address, once however often the worker
# reconnected.  (A peer without CURVE is logged only when libzmq tells the
# hub's side, which it does not when the peer hangs up first.)
stranger=$(sed -n 's/^public = //p' "$K/stranger.pub")
is "$(grep -cF "refused a CurveZMQ peer at 127.0.0.1: key \"$stranger\"" "$T_DIR/err")" 1 \
	"the hub logs the refused key and address once"
ok $(kill -0 $SUP 2>/dev/null; echo $?) "the run still waits for a chunk replica"

docpipe worker chunk --connect "127.0.0.1:$PORT" --curve-server "$K/hub.pub" \
	--curve-key "$K/worker.key" 2>"$T_DIR/worker.err" &
WORKER=$!
wait_for 60 exited $SUP || kill -TERM $SUP
wait $SUP
is "$?" 0 "the run completes with an allowed worker"
ok $(kill -0 $WORKER 2>/dev/null; echo $?) "the allowed worker is not stopped by the refusals"
kill -TERM $WORKER
wait $WORKER
is "$(sql 'SELECT count(*) FROM docpipe.documents')" $N "$N documents stored"
[ "$T_FAILED" = 0 ] || sed 's/^/# /' "$T_DIR/err" "$T_DIR"/*.err
done_testing
