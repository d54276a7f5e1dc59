#!/bin/bash
# docpipe-query over a corpus embedded by an API backend with a model and a
# dimension that are not the defaults: the question goes to the same API
# with the corpus's model and dimension; a refusal (quota, credentials) is
# exit 4; vectors of another size name the corpus's embedder.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
cd "$T_DIR"

KEY="sk-test-$RANDOM$RANDOM-secret"
python3 "$TOP/tests/fakeapi.py" --port 0 --require-key "$KEY" >port 2>server.err &
SERVERS+=($!)
wait_for 30 test -s port || { ok 1 "the test API server starts"; done_testing; }
BASE=http://127.0.0.1:$(awk '{print $2}' port)
export OPENAI_BASE_URL=$BASE/v1 OPENAI_API_KEY=$KEY
control() { api_control "$1"; }

MODEL=text-embedding-3-large DIM=12
printf '%s\n' '{"v":1,"kind":"document","path":"/q/a.md","root":"/q","hash":"a","chunker":"t","chunks":[{"seq":0,"text":"alpha one"},{"seq":1,"text":"bravo two"}]}' |
	docpipe-embed --backend openai --model $MODEL --dim $DIM --no-reuse | docpipe-store -q >/dev/null
ok $? "embed | store exit 0"
is "$(sql 'SELECT value FROM docpipe.settings WHERE key = $$embedder$$')/$(sql 'SELECT value FROM docpipe.settings WHERE key = $$dim$$')" \
	"openai/$MODEL/$DIM" "corpus embedded by the API backend, model $MODEL, dimension $DIM"

out=$(docpipe-query --json -k 1 "alpha one" 2>err); rc=$?
is "$rc" 0 "question embedded by the same API: exit 0"
is "$(jq -r .content <<<"$out")" "alpha one" "the same text is the nearest chunk"

# The request itself, seen by a server that records it (the test server
# answers any model, and dimension 8 when none is asked for).
cat >recorder.py <<'PY'
import json, sys, http.server
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with open(sys.argv[1], "a") as f:
            f.write(json.dumps({"path": self.path, "model": req.get("model"),
                                "dimensions": req.get("dimensions")}) + "\n")
        dim = int(req.get("dimensions") or 8)
        inputs = req["input"] if isinstance(req["input"], list) else [req["input"]]
        body = json.dumps({"object": "list", "model": req.get("model"), "usage": {"prompt_tokens": 1, "total_tokens": 1},
                           "data": [{"object": "embedding", "index": i, "embedding": [1.0] + [0.0] * (dim - 1)}
                                    for i in range(len(inputs))]}).encode()
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print("PORT", s.server_address[1], flush=True)
s.serve_forever()
PY
python3 recorder.py requests.ndjson >rport 2>recorder.err &
SERVERS+=($!)
wait_for 30 test -s rport
OPENAI_BASE_URL=http://127.0.0.1:$(awk '{print $2}' rport)/v1 docpipe-query --json -k 1 "alpha one" >/dev/null 2>err
is "$?" 0 "query against the recording server: exit 0"
is "$(jq -c '[.path, .model, .dimensions]' requests.ndjson)" "[\"/v1/embeddings\",\"$MODEL\",$DIM]" \
	"the question was embedded with the corpus's model and dimension"

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
# Vectors of another size than the corpus's: the message names the
# corpus's embedder and dimension, not embed's --dim (query has none), as
# base64 and as JSON numbers (a server that refuses base64).
hint="the corpus was embedded by openai/$MODEL with $DIM dimensions: serve that model at that size, or embed the corpus again"
control '{"faults":[{"endpoint":"embed","kind":"wrong_dim"}]}'
out=$(docpipe-query -k 1 "alpha" 2>&1); rc=$?
is "$rc:$out" "3:docpipe-query: the server's base64 vector for input 0: vector has 72 base64 characters; $DIM dimensions need 64 ($hint)" \
	"a base64 vector of another size: exit 3, naming the corpus's embedder"
control '{"no_base64":true,"faults":[{"endpoint":"embed","kind":"wrong_dim"},{"endpoint":"embed","kind":"wrong_dim"}]}'
out=$(docpipe-query -k 1 "alpha" 2>&1); rc=$?
is "$rc:$out" "3:docpipe-query: the server returned a vector of $((DIM + 1)) values for input 0; expected $DIM ($hint)" \
	"a JSON vector of another size likewise"
control '{"no_base64":false}'

# A question waits on the API 30 s at most: a 429 asking for 40 s is a
# refusal, exit 4 at once (before: it sat silent 40 s, up to a stage's 5
# minutes; then exit 3, as if asking again at once could help); one asking
# for 1 s is waited out.
control '{"faults":[{"endpoint":"embed","status":429,"retry_after":40}]}'
start=$SECONDS
out=$(docpipe-query -k 1 "alpha" 2>&1); rc=$?
is "$rc:$(((SECONDS - start) < 15))" "4:1" "a 429 asking for 40 s: exit 4 at once ($((SECONDS - start)) s)"
like "$out" "asked to wait 40 s before the next request \\(HTTP 429.*beyond the 30 s a call may wait: run it again after that wait" "and says so"
control '{"faults":[{"endpoint":"embed","status":429,"retry_after":1}]}'
docpipe-query -k 1 "alpha" >/dev/null 2>&1
is "$?" 0 "a 429 asking for 1 s: waited out, answered"
done_testing
