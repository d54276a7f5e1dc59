#!/bin/bash
# End to end over pipes with the local backends: discover | chunk |
# summarize | embed | store into a real PostgreSQL, then query.
source "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1

C=$T_DIR/corpus
mkdir -p "$C/sub"
cp -r "$TOP/examples/corpus/." "$C/"
# A path with quotes, a backslash, spaces and non-ASCII.
weird="$C/sub/it's \"quoted\" back\\slash café 日本.md"
printf '# Weird name\n\nThe zebra crossing protocol is documented here.\n' >"$weird"
printf '# Bad\n\nbroken \xff\xfe bytes\n' >"$C/sub/bad-utf8.md"
printf 'nul\0inside\n' >"$C/sub/nul.md"
: >"$C/sub/empty.md"

ingest() {
	docpipe-discover "$C" --glob '*.md' --glob '*.txt' | docpipe-chunk |
		docpipe-summarize | docpipe-embed | docpipe-store
}

ingest >"$T_DIR/r1" 2>"$T_DIR/e1"
rc=$?
is "$rc" 1 "first run exits 1 (two documents failed)"
total=$(find "$C" -type f | wc -l)
is "$(wc -l <"$T_DIR/r1")" "$total" "one receipt per discovered file"
is "$(jq -r 'select(.status=="stored")' "$T_DIR/r1" | jq -s length)" $((total - 2)) "good files stored"
like "$(jq -r 'select(.status=="failed") | .path + ": " + .error' "$T_DIR/r1" | sort | tr '\n' ' ')" \
	'bad-utf8.md: .*UTF-8.*nul.md: .*(NUL|binary)' "bad files fail with their reasons"
is "$(sql 'SELECT count(*) FROM docpipe.documents')" $((total - 2)) "documents rows"
is "$(sql 'SELECT sum(chunk_count) FROM docpipe.documents')" "$(sql 'SELECT count(*) FROM docpipe.chunks')" \
	"chunk_count matches chunk rows"
is "$(sql "SELECT count(*) FROM docpipe.documents WHERE summary IS NULL OR summary = ''  AND chunk_count > 0")" 0 \
	"every non-empty document has a summary"
is "$(sql "SELECT count(*) FROM docpipe.documents WHERE path = '$(printf '%s' "$weird" | sed "s/'/''/g")'")" 1 \
	"weird path stored byte for byte"
is "$(sql "SELECT chunk_count FROM docpipe.documents WHERE path LIKE '%empty.md'")" 0 "empty file stored with no chunks"
like "$(sql "SELECT array_to_string(heading, ' > ') FROM docpipe.chunks c JOIN docpipe.documents d ON d.id = c.document_id WHERE d.path LIKE '%key-rotation.md' ORDER BY seq")" \
	'Key rotation > Emergency rotation' "heading paths stored"

out=$(docpipe-query -k 1 --json "how do I rotate the signing keys")
like "$(jq -r .path <<<"$out")" 'key-rotation.md$' "query finds the key rotation chunk"
out=$(docpipe-query -k 1 --json "zebra crossing protocol")
like "$(jq -r .path <<<"$out")" 'café 日本.md$' "query finds the chunk of the weird path"

# Idempotent re-run.
before=$(sql "SELECT md5(string_agg(id || updated_at::text, ',' ORDER BY id)) FROM docpipe.documents")
like "$before" '^[0-9a-f]{32}$' "state fingerprint taken"
ingest >"$T_DIR/r2" 2>/dev/null
is "$(jq -r 'select(.status=="unchanged")' "$T_DIR/r2" | jq -s length)" $((total - 2)) "re-run: all good files unchanged"
is "$(sql "SELECT md5(string_agg(id || updated_at::text, ',' ORDER BY id)) FROM docpipe.documents")" "$before" "re-run wrote nothing"
is "$(sql 'SELECT count(*) FROM docpipe.chunks')" "$(sql 'SELECT sum(chunk_count) FROM docpipe.documents')" "no duplicate chunks"

# A changed file replaces its chunks.
id=$(sql "SELECT id FROM docpipe.documents WHERE path LIKE '%key-rotation.md'")
printf '# Key rotation\n\nRotation is now automatic; nothing to do.\n' >"$C/ops/key-rotation.md"
ingest >"$T_DIR/r3" 2>/dev/null
is "$(jq -r 'select(.path | endswith("key-rotation.md")) | .status' "$T_DIR/r3")" stored "changed file stored again"
is "$(jq -r 'select(.status=="stored")' "$T_DIR/r3" | jq -s length)" 1 "only the changed file is stored"
is "$(jq -r 'select(.status=="stored") | .created' "$T_DIR/r3")" false "its receipt says it replaced a stored version"
is "$(jq -r 'select(.status=="stored") | .created' "$T_DIR/r1" | sort -u)" true "first-run receipts say created"
is "$(sql "SELECT count(*) FROM docpipe.chunks WHERE document_id = $id")" \
	"$(sql "SELECT chunk_count FROM docpipe.documents WHERE id = $id")" "old chunks replaced, none left over"
is "$(sql "SELECT count(*) FROM docpipe.chunks WHERE document_id = $id AND content LIKE '%keyctl%'")" 0 "old text gone"

# Malformed NDJSON into every stage: an error record (a failed receipt at
# the end) per bad line, and the good records still go through.
good=$(docpipe-discover "$C/guides" --glob 'deploy.md')
for stage in chunk summarize embed store; do
	case $stage in
	chunk) input=$good ;;
	summarize) input=$(docpipe-chunk <<<"$good") ;;
	embed) input=$(docpipe-chunk <<<"$good" | docpipe-summarize) ;;
	store) input=$(docpipe-chunk <<<"$good" | docpipe-summarize | docpipe-embed) ;;
	esac
	rest=""
	case $stage in
	chunk) rest="docpipe-summarize | docpipe-embed | docpipe-store" ;;
	summarize) rest="docpipe-embed | docpipe-store" ;;
	embed) rest="docpipe-store" ;;
	store) rest="cat" ;;
	esac
	printf '{"v":1,"kind":\n%s\n[1,2]\n{"v":1,"kind":"document","path":"/x","chunks":"nope"}\n' "$input" |
		docpipe-$stage 2>/dev/null | eval "$rest" >"$T_DIR/m" 2>/dev/null
	is "$(jq -r .status "$T_DIR/m" | sort | tr '\n' ' ')" "failed failed failed unchanged " \
		"malformed input into $stage: 3 failed receipts, the good record goes through"
done
done_testing
