#!/bin/bash
# BM25 scores every term of the question (one column per term, the rarest
# first): a common term still adds to a chunk that also holds the rare one;
# a question with more terms than QUERY_TERM_SLOTS (32) still works, its
# rarest terms scored.
. "$(dirname "$0")/../lib/tap.sh"
cd "$T_DIR"
set -o pipefail
newdb || exit 1

# "zebra" is rare (2 chunks), "apple" common (12): /a/plain.md (zebra only)
# is stored first, so it would win a tie with /a/both.md (zebra and apple).
python3 - >records.ndjson <<'PY'
import json
def doc(path, texts):
    return json.dumps({"v": 1, "kind": "document", "path": path, "root": "/a", "hash": path,
                       "chunker": "t", "chunks": [{"seq": i, "text": t} for i, t in enumerate(texts)]})
print(doc("/a/plain.md", ["The zebra grazes near the river bank today."]))
print(doc("/a/both.md", ["The zebra grazes near the apple orchard today."]))
for i in range(10):
    print(doc("/a/filler%d.md" % i, ["An apple tree grows in garden number %d." % i]))
words = " ".join("w%02dword" % i for i in range(40))
print(doc("/a/long.md", ["Forty rare words: " + words + "."]))
PY
docpipe-embed <records.ndjson | docpipe-store -q >/dev/null
is "$?" 0 "stored"
sql "ANALYZE docpipe.chunks" >/dev/null
out=$(docpipe-query --mode text --json -k 3 'zebra apple')
is "$(jq -r .path <<<"$out" | head -2 | paste -sd ' ')" "/a/both.md /a/plain.md" "the common term adds to the rare one's score"
both=$(jq -r 'select(.path == "/a/both.md") | .text_score' <<<"$out")
plain=$(jq -r 'select(.path == "/a/plain.md") | .text_score' <<<"$out")
python3 -c "import sys; sys.exit(not $both > $plain)"
ok $? "both terms score higher than the rare one alone ($both > $plain)"
q=$(python3 -c 'print(" ".join("w%02dword" % i for i in range(40)))')
out=$(docpipe-query --mode text --json -k 1 "$q" 2>err); rc=$?
is "$rc/$(jq -r .path <<<"$out")" "0//a/long.md" "a question of 40 terms (more than 32 slots) works"
is "$(cat err)" "" "no diagnostics"
q8=$(python3 -c 'print(" ".join("w%02dword" % i for i in range(8)))')
# BM25's sum alone: the 8 terms stand side by side, so proximity would add.
s8=$(docpipe-query --mode text --proximity 0 --json -k 1 "$q8" | jq -r .text_score)
s1=$(docpipe-query --mode text --proximity 0 --json -k 1 w00word | jq -r .text_score)
python3 -c "import sys; sys.exit(not abs($s8 - 8 * $s1) < 1e-6 * $s8)"
ok $? "8 terms of equal df score 8 times one ($s8 vs $s1)"
done_testing
