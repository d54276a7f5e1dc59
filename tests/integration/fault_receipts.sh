#!/bin/bash
# Receipts for everything: FIFOs, sockets and symlinks with wanted names
# end in "skipped" receipts, a record of an unknown kind in a "failed" one,
# so the run's counts add up; a failed sweep is no failed document.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1

D=$T_DIR/docs
numbered_docs "$D" 5 3 ok
mkfifo "$D/fifo.md"
ln -s /etc/hostname "$D/link.md"
python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$D/sock.md"
docpipe run "$D" --progress none >"$T_DIR/report" 2>"$T_DIR/err"
is "$?" 0 "skipped names are no failure (exit 0)"
is "$(jq -r '[.documents, .added, .skipped, .failed] | @tsv' "$T_DIR/report")" "$(printf '8\t5\t3\t0')" \
	"8 names: 5 added + 3 skipped"
is "$(jq -r '.documents - .added - .updated - .unchanged - .skipped - .failed' "$T_DIR/report")" 0 "the counts add up"

# An unknown kind: the store answers with a failed receipt naming it.
printf '{"v":1,"kind":"bogus","path":"/x"}\n{"v":1,"kind":"skip","path":"/y","stage":"discover","reason":"FIFO"}\n' |
	docpipe-store -q >"$T_DIR/r"
is "$(jq -r '[.status, (.error // .reason)] | @tsv' "$T_DIR/r" | tr '\n' '|')" \
	"$(printf 'failed\tunknown record kind "bogus"|skipped\tFIFO|')" "unknown kind failed, skip skipped"

# A sweep that fails is reported as such, not as a failed document.
docpipe run "$D" --progress none --opt hub=--sweep-store=/bin/false >"$T_DIR/report" 2>"$T_DIR/err"
is "$?" 3 "failed sweep: exit 3"
is "$(jq -r '[.failed, .sweep] | @tsv' "$T_DIR/report")" "$(printf '0\tfailed')" "failed 0, sweep failed"
like "$(cat "$T_DIR/err")" "sweep failed: sweep: /bin/false exited with status 1" "says so"

# A sweep that cannot be told to go (its stdin closed: the hub's write of
# "go" fails) ends without deleting, with status 0: the run says the sweep
# failed and why, exit 3, not "done" (noticed by h34, session 33).  The
# fake store closes its stdin, then says so; the converter of the last
# document waits for that, so the go comes after it; once the hub has
# said it could not write the go, the fake exits 0.
cat >"$T_DIR/deaf-store" <<EOF
#!/bin/bash
exec 0<&-
: >"$T_DIR/deaf"
for _ in \$(seq 1200); do [ -e "$T_DIR/let-go" ] && exit 0; sleep 0.1; done
EOF
chmod +x "$T_DIR/deaf-store"
numbered_docs "$T_DIR/d2" 3 3 ok
HOLD="--convert=md=case \"\$1\" in */ok3.md) while [ ! -e \"$T_DIR/deaf\" ]; do sleep 0.05; done ;; esac; cat"
docpipe run "$T_DIR/d2" --progress none --opt "chunk=$HOLD" --opt "hub=--sweep-store=$T_DIR/deaf-store" \
	>"$T_DIR/report" 2>"$T_DIR/err" &
run=$!
wait_for 120 eval 'grep -q "to go" "$T_DIR/err" || exited $run'
: >"$T_DIR/let-go"
wait $run
is "$?" 3 "a sweep not told to go: exit 3"
is "$(jq -r '[.added, .failed, .sweep] | @tsv' "$T_DIR/report")" "$(printf '3\t0\tfailed')" "3 added, failed 0, sweep failed"
like "$(jq -r .sweep_reason "$T_DIR/report")" "^cannot tell .*/deaf-store to go: Broken pipe\$" "the report says why"
like "$(cat "$T_DIR/err")" "sweep failed: cannot tell .*/deaf-store to go: Broken pipe" "and so does the run"
done_testing
