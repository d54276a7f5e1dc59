#!/bin/bash
# The local embedder's models: a corpus embedded with fh-v2 is searched
# with fh-v2 (the model the corpus records, not the default fh-v1), and one
# embedded with fh-v1 (the default) refuses fh-v2 vectors, changed or not,
# naming the fix.
. "$(dirname "$0")/../lib/tap.sh"
cd "$T_DIR"
set -o pipefail

{ doc_record /m/keys.md k1 "To rotate the signing keys run keyctl rotate."
  doc_record /m/cafe.md c1 "The cafe serves coffee and croissants every morning."; } >docs.ndjson

newdb || exit 1
docpipe-embed --model fh-v2 <docs.ndjson | docpipe-store -q >/dev/null
is "$(sql "SELECT value FROM docpipe.settings WHERE key = 'embedder'")" local/fh-v2 "an fh-v2 corpus records local/fh-v2"
out=$(docpipe-query --mode vector --json -k 1 "To rotate the signing keys run keyctl rotate.")
ok "$(jq '.score > 0.9999' <<<"$out" | grep -q true; echo $?)" "its question is embedded with fh-v2, not the default (cosine 1 with its own text)"

newdb || exit 1
docpipe-embed <docs.ndjson | docpipe-store -q >receipts.ndjson
is "$?" 0 "fh-v1 corpus stored (the default model)"
is "$(sql "SELECT value FROM docpipe.settings WHERE key = 'embedder'")" local/fh-v1 "the corpus records local/fh-v1"
out=$(docpipe-query --mode vector --json -k 1 "To rotate the signing keys run keyctl rotate.")
is "$(jq -r .path <<<"$out")" /m/keys.md "vector search of an fh-v1 corpus"
ok "$(jq '.score > 0.9999' <<<"$out" | grep -q true; echo $?)" "the question is embedded with fh-v1 like the corpus (cosine 1 with its own text)"
is "$(docpipe-query --json -k 1 'rotate keys' | jq -r .path)" /m/keys.md "hybrid search of an fh-v1 corpus"

# fh-v2 into the fh-v1 corpus: every document fails, unchanged ones too
# (the embedder is part of a document's fingerprint).
doc_record /m/new.md n1 "Brand new text." | cat docs.ndjson - | docpipe-embed --model fh-v2 | docpipe-store -q >r2.ndjson 2>/dev/null
is "$(jq -r 'select(.path == "/m/new.md") | .status' r2.ndjson)" failed "a new fh-v2 document: a failed receipt"
like "$(jq -r 'select(.path == "/m/keys.md") | .error' r2.ndjson)" "embedded with local/fh-v2 .* corpus uses local/fh-v1.*re-embed" "an unchanged one re-embedded with fh-v2: refused, naming the fix"
is "$(sql "SELECT count(*) FROM docpipe.documents WHERE embedder = 'local/fh-v1'")" 2 "the fh-v1 documents are kept"
# --check-corpus (docpipe run gives it): the switch said once, exit 2,
# before any vector; a run stops with status 2, nothing failed or stored.
docpipe-embed --model fh-v2 --check-corpus <docs.ndjson >o4 2>e4
is "$?/$(wc -c <o4)" 2/0 "--check-corpus, the local model switched: exit 2 before any vector"
like "$(cat e4)" "corpus in this database was embedded with local/fh-v1 \(dim 384\), this stage embeds with local/fh-v2 \(dim 384\): the store would refuse every document\. " \
	"... naming both"
mkdir -p root && printf '# A\n\nrun text\n' >root/a.md
docpipe run root --progress none --opt embed=--model=fh-v2 >run.json 2>run.err
is "$?/$(jq -c '[.failed, .added]' run.json 2>/dev/null)" "2/[0,0]" "docpipe run with the local model switched: status 2, no document failed or added" ||
	diag "$(cat run.err)"
like "$(cat run.err)" "embedded with local/fh-v1 \(dim 384\), this stage embeds with local/fh-v2" "... saying why"
docpipe-embed --dim 64 --check-corpus <docs.ndjson >/dev/null 2>e5
is "$?" 2 "--check-corpus, the local --dim changed: exit 2"
docpipe-embed --check-corpus <docs.ndjson | docpipe-store -q >/dev/null
is "$?" 0 "--check-corpus, the corpus's own model: embedded and stored"
docpipe-embed <docs.ndjson | docpipe-store -q >r3.ndjson
is "$(jq -r .status r3.ndjson | sort | uniq -c | awk '{print $1, $2}' | paste -sd ' ')" "2 unchanged" "the default model keeps the corpus incremental"
docpipe-embed --model fh-v3 </dev/null 2>err; rc=$?
is "$rc" 2 "an unknown local model: usage error"
like "$(cat err)" "fh-v1 and fh-v2" "it names the models"
done_testing
