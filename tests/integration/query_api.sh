#!/bin/bash
# docpipe-query over a corpus embedded by an API backend: the question goes
# to the same API; a refusal (quota, credentials) is exit 4.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
cd "$T_DIR"

PY=/usr/bin/python3
KEY="sk-test-$RANDOM$RANDOM-secret"
"$PY" "$TOP/tests/fakeapi.py" --port 0 --require-key "$KEY" >port 2>server.err &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -rf "$T_DIR"' EXIT
for _ in $(seq 50); do [ -s port ] && break; sleep 0.1; done
BASE=http://127.0.0.1:$(awk '{print $2}' port)
export OPENAI_BASE_URL=$BASE/v1 OPENAI_API_KEY=$KEY
control() { curl -sf -X POST -d "$1" "$BASE/_control" >/dev/null; }

printf '%s\n' '{"v":1,"kind":"document","path":"/q/a.md","root":"/q","hash":"a","chunker":"t","chunks":[{"seq":0,"text":"alpha one"},{"seq":1,"text":"bravo two"}]}' |
	docpipe-embed --backend openai --dim 8 --no-reuse 2>/dev/null | docpipe-store -q >/dev/null
is "$(sql 'SELECT value FROM docpipe.settings WHERE key = $$embedder$$')" "openai/text-embedding-3-small" \
	"corpus embedded by the API backend"

out=$(docpipe-query --json -k 1 "alpha one" 2>err); rc=$?
is "$rc" 0 "question embedded by the same API: exit 0"
is "$(jq -r .content <<<"$out")" "alpha one" "the same text is the nearest chunk"

control '{"faults":[{"endpoint":"embed","status":429,"code":"insufficient_quota"}]}'
out=$(docpipe-query -k 1 "alpha" 2>&1); rc=$?
is "$rc" 4 "quota exhausted: exit 4"
like "$out" "^docpipe-query: " "quota exhausted: says why"

out=$(OPENAI_API_KEY=wrong docpipe-query -k 1 "alpha" 2>&1); rc=$?
is "$rc" 4 "bad credentials: exit 4"
is "$(grep -c "$KEY\|wrong" <<<"$out")" 0 "the key is not in the message"

control '{"faults":[{"endpoint":"embed","status":400,"message":"bad input"}]}'
docpipe-query -k 1 "alpha" >/dev/null 2>&1; rc=$?
is "$rc" 2 "question rejected by the API (400): exit 2"
control '{"faults":[{"endpoint":"embed","kind":"wrong_count"}]}'
docpipe-query -k 1 "alpha" >/dev/null 2>&1; rc=$?
is "$rc" 3 "malformed API answer: exit 3"
done_testing
