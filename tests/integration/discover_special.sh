#!/bin/bash
# docpipe-discover skips sockets and devices (character and block) with a
# message, never opening them (a /dev/zero-like device would never end),
# and goes on with the regular files.  Files deleted while the walk runs
# (listed, then gone: temporary files in a live tree) are no failure and
# leave the walk complete (before: "cannot stat", the walk incomplete, so
# a run over a tree that always churns never swept).
. "$(dirname "$0")/../lib/tap.sh"
D=$T_DIR/docs
mkdir -p "$D"
echo "# A" >"$D/a.md"
echo "# Z" >"$D/z.md"
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$D/sock.md"
ok $([ -S "$D/sock.md" ]; echo $?) "a Unix socket named like a document"
if mknod "$D/zero.md" c 1 5 2>/dev/null && mknod "$D/loop.md" b 7 0 2>/dev/null; then
	devices=1
	ok 0 "a character device (like /dev/zero) and a block device named like documents"
else
	devices=0
	skip "devices NOT TESTED: mknod is not permitted here (needs root / CAP_MKNOD)"
fi
timeout 20 docpipe-discover "$D" >"$T_DIR/out" 2>"$T_DIR/err"
is "$?" 0 "the walk ends, exit 0"
is "$(jq -r .path "$T_DIR/out" | sed "s|^$D/||" | xargs)" "a.md z.md" "only the regular files are records"
like "$(cat "$T_DIR/err")" "sock\.md: socket skipped, not a regular file" "the socket is skipped with a message"
if [ $devices = 1 ]; then
	like "$(cat "$T_DIR/err")" "zero\.md: device skipped, not a regular file" "the character device is skipped with a message"
	like "$(cat "$T_DIR/err")" "loop\.md: device skipped, not a regular file" "the block device is skipped with a message"
fi
# A device given as a root is skipped the same way.
timeout 20 docpipe-discover "$D/sock.md" >"$T_DIR/out2" 2>"$T_DIR/err2"
is "$(wc -c <"$T_DIR/out2" | tr -d ' ')" 0 "a socket given as a root: no record"
like "$(cat "$T_DIR/err2")" "sock\.md: (socket skipped|not a directory or regular file)" "and a message"
# A live tree: half of 4,000 files deleted, last first, as the walk reads them.
C=$T_DIR/churn
mkdir -p "$C"
for i in $(seq -w 1 4000); do echo "# $i" >"$C/f$i.md"; done
timeout 60 docpipe-discover "$C" --end-record >"$T_DIR/churn.out" 2>"$T_DIR/churn.err" &
walk=$!
# One process deletes them (an rm per file forked 2,000 times: ~6 s here).
python3 -c 'import os, sys
for i in range(4000, 2000, -1):
    os.unlink("%s/f%04d.md" % (sys.argv[1], i))' "$C"
wait $walk
is "$?" 0 "files deleted during the walk: exit 0"
is "$(tail -n 1 "$T_DIR/churn.out" | jq -c '[.complete, .errors]')" "[true,0]" "the walk is complete, no error record"
is "$(grep -vc 'gone since its directory was listed; not stored$' "$T_DIR/churn.err")" 0 "every message says a listed file was gone"
diag "files listed, then gone: $(grep -c 'gone since' "$T_DIR/churn.err")"
done_testing
