#!/bin/bash
# The hub's memory on one big document (overlap: summarize and embed at
# once, their outputs joined).  Its records are several times the file
# (each chunk's text again, summaries, vectors: 2,048 bytes of base64 a
# chunk at 384 dimensions), and the join holds the first branch's output
# until the other's comes.  The hub holds them as text: the held record,
# the other branch's and the merged one, spliced (src/hub/join.c), never a
# parsed jv tree of a document (several times its text).  Until then its
# peak RSS was ~13x the file (63 MB for a 5 MB document; here 111 MB);
# now 43 MB, 5.3x.  The bound, 8x, leaves a margin of half as much again.
. "$(dirname "$0")/../lib/tap.sh"
set -o pipefail
unsanitized_only "a sanitizer's shadow memory and allocator are no measure of the hub's memory"

mkdir -p "$T_DIR/docs"
"$TOP/bench/gen-corpus" --seed 4 --files 1 --size 8000000 --out "$T_DIR/docs" >/dev/null
size=$(find "$T_DIR/docs" -type f -printf '%s\n')
[ "$size" -gt 7000000 ]
ok $? "an ~8 MB document ($size bytes)"

# hub_peak: until killed, the largest VmHWM (kB) of the run's hub, into
# $T_DIR/hub.kb.  VmHWM is the process's own high-water mark, so a sample
# taken any time after the peak (the join, seconds before the store's
# receipt) has it: no race with the peak itself.  The hub is looked for
# until found, its status read by the shell itself: a pgrep, an awk and a
# sleep 20 times a second took seconds of CPU.
hub_peak() {
	local peak=0 p= k v
	trap 'echo $peak >"$T_DIR/hub.kb"; exit 0' TERM
	while :; do
		[ -n "$p" ] && [ -e "/proc/$p" ] || p=$(pgrep -f "docpipe-hub --run memtest " | head -n 1)
		if [ -n "$p" ]; then
			while read -r k v _; do
				[ "$k" = VmHWM: ] && [ "$v" -gt "$peak" ] && peak=$v
			done 2>/dev/null <"/proc/$p/status"
		fi
		nap 0.05
	done
}
newdb || exit 1
hub_peak &
SAMPLER=$!
docpipe run "$T_DIR/docs" --run memtest --quiet >"$T_DIR/report" 2>"$T_DIR/err"
ok $? "the run completes"
kill -TERM $SAMPLER
wait $SAMPLER
is "$(jq -r .added "$T_DIR/report")" 1 "the document is stored"
is "$(sql "SELECT count(*) FILTER (WHERE d.summary IS NULL OR c.embedding IS NULL) FROM docpipe.chunks c
	JOIN docpipe.documents d ON d.id = c.document_id")" 0 "with its summary and every chunk's vector (both branches joined)"
peak=$(cat "$T_DIR/hub.kb")
[ "$peak" -gt 0 ] && [ $((peak * 1024)) -lt $((size * 8)) ]
ok $? "the hub's peak RSS, $((peak / 1024)) MB, is under 8x the file"
[ "$T_FAILED" = 0 ] || sed 's/^/# /' "$T_DIR/err"
done_testing
