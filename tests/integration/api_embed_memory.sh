#!/bin/bash
# docpipe-embed's memory with wide vectors behind a reader that does not
# read: 200 documents of 62 chunks of 1.6 KB (20 MB), 3,072 dimensions
# (OpenAI's text-embedding-3-large), its output unread until it stops
# reading its input.  Its hold counted chunk text only, up to 256 MiB: it
# read the whole input meanwhile and peaked at 66 MB here (89 MB behind a
# reader of 0.2 s a record, 76 MB behind a fast one: session 52), over the
# 64 MB a stage may take (docs/PERFORMANCE.md).  The hold now counts the
# vectors to come (embed_doc_held_bytes) up to 24 MiB, and one worker at a
# time writes a record: it reads 2 MB of the input, peak 41-45 MB.  Every
# document still comes out, with its vectors.
# lane: beside
. "$(dirname "$0")/../lib/tap.sh"
set -o pipefail
unsanitized_only "a sanitizer's shadow memory and allocator are no measure of the stage's memory"
unset DATABASE_URL OPENAI_API_KEY PGDATABASE

python3 - >"$T_DIR/docs.ndjson" <<'PY'
import json
for d in range(200):
    chunks = [{"seq": c, "text": " ".join("w%d.%d.%d" % (d, c, k) for k in range(160))}
              for c in range(62)]
    print(json.dumps({"v": 1, "kind": "document", "path": "/d/%03d.md" % d, "chunks": chunks}))
PY

fakeapi
# Runs docpipe-embed with its output unread until its input stops moving
# (its stdin's offset unchanged for a second: the hold is full, or it read
# everything), then reads the output.  Prints the peak RSS (KiB); the
# offset then, the exit status and the records read go to $T_DIR/read.
peak=$(python3 - "$T_DIR" <<'PY'
import json, resource, subprocess, sys, time
t = sys.argv[1]
with open(t + "/docs.ndjson") as i, open(t + "/err", "w") as e:
    p = subprocess.Popen(["docpipe-embed", "--backend", "openai", "--no-reuse", "--dim", "3072",
                          "--threads", "8"], stdin=i, stdout=subprocess.PIPE, stderr=e)
    def offset():
        with open("/proc/%d/fdinfo/0" % p.pid) as f:
            return int(f.readline().split()[1])
    last, since = -1, time.monotonic()
    while time.monotonic() - since < 1:
        time.sleep(0.05)
        if offset() != last:
            last, since = offset(), time.monotonic()
    n = bad = 0
    for line in p.stdout:
        n += 1
        bad += any(len(c.get("vec", "")) != 16384 for c in json.loads(line)["chunks"])
    rc = p.wait()
with open(t + "/read", "w") as f:
    print(last, rc, n, bad, file=f)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
PY
)
read -r offset rc n bad <"$T_DIR/read"
is "$rc" 0 "exit 0"
is "$n" 200 "every document written"
is "$bad" 0 "each chunk with its vector (3,072 dimensions)"
ok $((offset < 8 << 20 ? 0 : 1)) "its output unread, it read $((offset >> 10)) KB of the input's 20 MB (the hold: 24 MiB with the vectors to come; all before)"
ok $((peak < 56 * 1024 ? 0 : 1)) "peak $((peak / 1024)) MB, under 56 MB (66 MB before)"
done_testing
