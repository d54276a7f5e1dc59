#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# The hub's byte bound (--window-bytes) under the overlap of summarize and
# embed counts what a document holds in the hub, not only its file: the
# embed output that waits for its summary is ~11x its file with vectors of
# 1,536 numbers a chunk.  Counting files only, the window let 16 MiB of
# files in (here all 80 files of 100 KB, 8 MB) and their waiting outputs,
# 0.8 MB each, held the hub at 53 MB (200 such files: 112 MB); now a
# document counts its file times what the waiting outputs came to against
# their files (8x before the first tells), and its output's bytes once
# held: the hub stays near 16 MiB of them (27 MB).  Judged by the hub's peak RSS
# (memory, not time), so release only: ASan's own memory would blur it.
. "$(dirname "$0")/../lib/tap.sh"
unsanitized_only "the hub's peak RSS against a bound"
newdb || exit 1
unset OPENAI_API_KEY
export OPENAI_API_KEY=test-key
python3 - "$T_DIR/docs" <<'PY'
import os, random, sys
random.seed(7)
words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "theta", "kappa", "lambda", "sigma",
         "omega", "river", "stone", "cloud", "ember", "frost", "grove", "harbor", "island", "meadow"]
os.makedirs(sys.argv[1])
for f in range(80):
    out, size = ["# File %d\n" % f], 0
    while size < 100000:
        if size // 8000 >= len(out):
            out.append("\n## Section %d\n" % len(out))
        p = " ".join(random.choice(words) + str(random.randrange(1000)) for _ in range(60)) + ".\n"
        out.append(p)
        size += len(p)
    open(os.path.join(sys.argv[1], "f%02d.md" % f), "w").write("\n".join(out))
PY
# Summaries slow, embeddings fast: the embed outputs wait in the hub.
fakeapi --slots 64 --no-log --latency chat=150+0,embed=5+0
docpipe run "$T_DIR/docs" --progress none --opt summarize=--backend=openai --opt embed=--backend=openai \
	--opt embed=--dim=1536 --threads summarize=8 --threads embed=8 >"$T_DIR/report" 2>"$T_DIR/err" &
SUP=$!
peak=0
while kill -0 $SUP 2>/dev/null; do
	hub=$(pgrep -P $SUP -f "^[^ ]*docpipe-hub " | head -1)
	h=$([ -n "$hub" ] && awk '/VmHWM/ {print $2}' "/proc/$hub/status" 2>/dev/null)
	[ -n "$h" ] && [ "$h" -gt "$peak" ] && peak=$h
	sleep 0.2
done
wait $SUP
is "$?/$(jq -c '[.documents, .failed]' "$T_DIR/report")" "0/[80,0]" "80 files of 100 KB, vectors of 1,536: stored" ||
	diag "$(tail -5 "$T_DIR/err")"
ok "$([ "$peak" -gt 0 ] && [ "$peak" -lt 40000 ]; echo $?)" "the hub's peak RSS under 40 MB: $peak kB"
done_testing
