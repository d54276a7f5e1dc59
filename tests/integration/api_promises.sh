#!/bin/bash
# README "Model APIs" promises not covered elsewhere: the key never in
# argv, TLS verification stays on, redirects are capped, the result cache
# is shared by replicas running at once.
. "$(dirname "$0")/../lib/tap.sh"
set -o pipefail
newdb || exit 1

numbered_docs "$T_DIR/md" 30 12 doc
docpipe-discover "$T_DIR/md" | docpipe-chunk >"$T_DIR/docs.ndjson"
is "$?" 0 "30 documents chunked"

# The key is in the environment (or a 0600 file), never on a command line:
# look at the running stage (held by a hanging request) and its children.
KEY="sk-argv-test-$RANDOM$RANDOM"
fakeapi --require-key "$KEY"
api_control '{"faults":[{"endpoint":"embed","kind":"hang","seconds":3}]}'
OPENAI_API_KEY=$KEY docpipe-embed --backend openai --base-url "$BASE/v1" --dim 8 --no-reuse --timeout 2 \
	<"$T_DIR/docs.ndjson" >"$T_DIR/o1" 2>"$T_DIR/e1" &
EMBED=$!
wait_for 30 api_requests_ge embed 1
argv_has_key() { # pid: 0 when the process or a descendant has the key in argv
	local p
	for p in $1 $(pgrep -P "$1"); do
		tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -- "$KEY" && return 0
	done
	return 1
}
if argv_has_key "$EMBED"; then ok 1 "the key is not in the stage's argv"; else ok 0 "the key is not in the stage's argv"; fi
# (The test server has it in its argv: it is the one to compare with.)
ps -eo pid=,args= >"$T_DIR/ps"
is "$(grep -F -- "$KEY" "$T_DIR/ps" | awk '{print $1}')" "${SERVERS[0]}" \
	"no process but the test server has it in its argv"
wait "$EMBED"
is "$?" 0 "the run finishes with the key from the environment"
is "$(api_stats '.auth_seen | join(",")')" "Bearer $KEY" "the key went in the header"

# TLS verification stays on: a self-signed server is refused before any
# request reaches it (the server itself works: curl trusting its
# certificate gets an answer), and the stage stops at that first call
# (exit 4), naming the cause and how to trust a CA; each call failed
# before, and the stage stopped after 3 "took connections but never
# answered: check the server" (fault sweep 21a).  The CA variables the curl
# tool reads are honoured (libcurl read none); this machine's own are set
# aside for the test.
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
	-days 1 -keyout "$T_DIR/tls.key" -out "$T_DIR/tls.crt" >/dev/null 2>&1
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=elsewhere -addext subjectAltName=DNS:elsewhere \
	-days 1 -keyout "$T_DIR/other.key" -out "$T_DIR/other.crt" >/dev/null 2>&1
fakeapi --tls "$T_DIR/tls.crt,$T_DIR/tls.key"
PORT=${BASE##*:}
is "$(curl -sf --cacert "$T_DIR/tls.crt" "https://127.0.0.1:$PORT/_stats" | jq -r .requests.embed)" 0 \
	"the TLS test server answers a client that trusts it"
noca() { env -u CURL_CA_BUNDLE -u SSL_CERT_FILE -u SSL_CERT_DIR "$@"; }
one_line() { tr '\n' ' ' <"$1"; }
declare -A ONE=([summarize]="" [embed]="--batch-inputs 1")
for st in summarize embed; do
	noca docpipe-$st --backend openai --base-url "https://127.0.0.1:$PORT/v1" --no-reuse ${ONE[$st]} \
		<"$T_DIR/docs.ndjson" >"$T_DIR/o2" 2>"$T_DIR/e2"
	is "$?:$(wc -l <"$T_DIR/o2")" 4:30 "$st, a self-signed certificate: exit 4, every document out (failed)"
	like "$(one_line "$T_DIR/e2")" "TLS certificate is not trusted \(.*self-signed certificate\): .*SSL_CERT_FILE=" \
		"$st: the certificate's fault and the mend said"
done 2>/dev/null
embed_tls() { # ENV...: docpipe-embed against the TLS server with the environment ENV
	noca "$@" docpipe-embed --backend openai --base-url "https://127.0.0.1:$PORT/v1" --no-reuse --batch-inputs 1 \
		<"$T_DIR/docs.ndjson" >"$T_DIR/o2" 2>"$T_DIR/e2"
}
is "$(curl -sf --cacert "$T_DIR/tls.crt" "https://127.0.0.1:$PORT/_stats" | jq -r .requests.embed)" 0 \
	"no request reached the server"
embed_tls SSL_CERT_FILE="$T_DIR/tls.crt"
is "$?:$(jq -r .kind "$T_DIR/o2" | sort -u)" 0:document "SSL_CERT_FILE naming the CA: trusted, every document embedded"
embed_tls CURL_CA_BUNDLE="$T_DIR/tls.crt" SSL_CERT_FILE="$T_DIR/other.crt"
is "$?" 0 "CURL_CA_BUNDLE wins over SSL_CERT_FILE, as for the curl tool"
embed_tls SSL_CERT_FILE="$T_DIR/other.crt"
like "$?:$(one_line "$T_DIR/e2")" "^4:.*not trusted .* by the CA certificates given \(SSL_CERT_FILE=$T_DIR/other.crt\)" \
	"another CA: exit 4, naming the file given"
embed_tls CURL_CA_BUNDLE="$T_DIR/none.crt"
like "$?:$(one_line "$T_DIR/e2")" "^2:.*CURL_CA_BUNDLE=$T_DIR/none.crt: cannot read the CA certificates file" \
	"a CA file that cannot be read: exit 2 before any request"
# http:// naming the TLS port (the server resets the plain request): the
# first call stops the stage, naming the mend (each call was retried: 3
# calls x --retries, then "took connections but never answered").
noca docpipe-embed --backend openai --base-url "http://127.0.0.1:$PORT/v1" --no-reuse --batch-inputs 1 \
	<"$T_DIR/docs.ndjson" >"$T_DIR/o2" 2>"$T_DIR/e2"
like "$?:$(one_line "$T_DIR/e2")" "^4:.* in 1 requests .*the model API's port speaks TLS, not plain HTTP \(.*\): use https://" \
	"http:// to a TLS port: exit 4 after 1 request, use https://"

# Redirects within the base URL's origin are followed, the POST sent again
# as it was (301 and 302 do not make it a GET), at most 3 in a row; one to
# another host is not followed: libcurl stripped the key but sent the
# document's text there, and the run was refused "for credentials" when
# that host wanted a key (fault sweep 21a).  The stage stops at the first
# (exit 4), naming the host; a redirect loop likewise.  One document: one
# batch.
KEY="sk-redirect-$RANDOM$RANDOM"
fakeapi
PORT=${BASE##*:}
head -n 1 "$T_DIR/docs.ndjson" >"$T_DIR/one.ndjson"
for code in 301 302 308; do
	OPENAI_API_KEY=$KEY docpipe-embed --backend openai --base-url "$BASE/redirect/$code/127.0.0.1/v1" --dim 8 \
		--no-reuse <"$T_DIR/one.ndjson" >"$T_DIR/o3" 2>"$T_DIR/e3"
	is "$?:$(jq -r .kind "$T_DIR/o3")" 0:document "a $code within the origin: followed, the POST kept"
done
is "$(api_stats '[.requests.embed, .redirects, (.auth_seen | join(","))]')" "[3,3,\"Bearer $KEY\"]" \
	"3 redirects, 3 requests answered, with the key"
api_reset
for st in summarize embed; do
	OPENAI_API_KEY=$KEY docpipe-$st --backend openai --base-url "$BASE/redirect/307/localhost/v1" \
		--no-reuse <"$T_DIR/docs.ndjson" >"$T_DIR/o3" 2>"$T_DIR/e3"
	like "$?:$(one_line "$T_DIR/e3")" "^4:.*answered HTTP 307, a redirect to another host, http://localhost:$PORT: not followed" \
		"$st, a redirect to another host: exit 4, naming it"
done 2>/dev/null
is "$(api_stats '[.redirects, .requests.chat, .requests.embed, (.auth_seen | length)]')" "[2,0,0,0]" \
	"one redirect each, and nothing went to the other host"
api_reset
docpipe-embed --backend openai --base-url "$BASE/loop/v1" --dim 8 --no-reuse <"$T_DIR/one.ndjson" \
	>"$T_DIR/o3" 2>"$T_DIR/e3"
is "$?" 4 "a redirect loop: exit 4"
is "$(api_stats .redirects)" 4 "one request and 3 redirects followed, no more"
like "$(one_line "$T_DIR/e3")" "redirected a call more than 3 times \(a loop\?\)" "the reason says so"

# https:// naming a plain HTTP port (OpenSSL: "wrong version number"), and
# http:// to a web server's TLS port answered with its 400 page (nginx's
# words): the first call stops the stage (the first cost 3 calls x
# --retries, 13 s; the second failed every document, a request each).
api_reset
docpipe-embed --backend openai --base-url "https://127.0.0.1:$PORT/v1" --dim 8 --no-reuse --batch-inputs 1 \
	<"$T_DIR/docs.ndjson" >"$T_DIR/o3" 2>"$T_DIR/e3"
like "$?:$(one_line "$T_DIR/e3")" "^4:.* in 1 requests .*the model API's port answers plain HTTP, not TLS \(.*wrong version number\): use http://" \
	"https:// to a plain HTTP port: exit 4 after 1 attempt, use http://"
api_control '{"faults":[{"endpoint":"embed","kind":"html","status":400,"text":"400 The plain HTTP request was sent to HTTPS port"}]}'
docpipe-embed --backend openai --base-url "$BASE/v1" --dim 8 --no-reuse --batch-inputs 1 \
	<"$T_DIR/docs.ndjson" >"$T_DIR/o3" 2>"$T_DIR/e3"
like "$?:$(one_line "$T_DIR/e3")" "^4:.*the model API's port speaks TLS, not plain HTTP \(HTTP 400: .*\): use https://" \
	"a web server's 400 for plain HTTP to its TLS port: exit 4"
is "$(api_requests embed)" 1 "after 1 request"
# embed_after_faults KIND [MEMBERS]: docpipe-embed over docs.ndjson, a
# request per document, the first three answers given the test server's
# fault KIND (with the JSON MEMBERS given).
embed_after_faults() {
	local f="{\"endpoint\":\"embed\",\"kind\":\"$1\"${2:+,$2}}"
	api_reset
	api_control "{\"faults\":[$f,$f,$f]}"
	docpipe-embed --backend openai --base-url "$BASE/v1" --dim 8 --no-reuse --batch-inputs 1 \
		<"$T_DIR/docs.ndjson" >"$T_DIR/o3" 2>"$T_DIR/e3"
}
# A JSON answer followed by other bytes is said to be so, not "pages that
# are not JSON ... not a web page's".
embed_after_faults trailing '"text":"\n<!-- cached -->"'
like "$?:$(one_line "$T_DIR/e3")" "^4:.*answered 3 calls with HTTP 200 JSON followed by other bytes and none with JSON alone \(.*a JSON answer followed by other bytes at offset [0-9]+: .<!-- cached -->.\): the server or a proxy" \
	"a JSON answer followed by other bytes: said so, with their offset"

# The first answers cut short (the JSON's first half, framed as whole: a
# gzip stream cut on its way, which libcurl 7.88 inflates without an
# error) are tried again like a 5xx: their documents failed unretried
# (fault sweep 27).  Three before any whole answer stop the stage, said
# so: "pages that are not JSON ... check its URL" before.
api_reset
api_control '{"faults":[{"endpoint":"chat","kind":"cut"},{"endpoint":"chat","kind":"cut"}]}'
OPENAI_API_KEY=$KEY docpipe-summarize --backend openai --base-url "$BASE/v1" --no-reuse \
	<"$T_DIR/docs.ndjson" >"$T_DIR/o3" 2>"$T_DIR/e3"
is "$?:$(jq -r .kind "$T_DIR/o3" | sort | uniq -c | tr -s ' \n' ' ')" "0: $(wc -l <"$T_DIR/docs.ndjson") document " \
	"the first two answers cut short: tried again, every document summarized"
is "$(api_requests chat)" "$(($(wc -l <"$T_DIR/docs.ndjson") + 2))" "two requests more than its documents"
embed_after_faults cut
like "$?:$(api_requests embed):$(one_line "$T_DIR/e3")" "^4:3:.*answered 3 calls with HTTP 200 JSON cut short and none with JSON whole \(.*JSON cut short, its value never closed.*\): the server or a proxy on the way cuts its answers" \
	"three answers cut short before a whole one: exit 4 after 3 requests, said so"

# Every answer garbled (gzip whose deflate stream breaks mid-way: libcurl's
# error 61) is retried as a transport error; 3 calls given up so stop the
# stage saying that the server answered, undecodably: "took connections
# but never answered ... check the server" before (fault sweep 27).
garbled=$(printf '{"kind":"garbled"},%.0s' $(seq 30))
for st in embed summarize; do
	api_reset
	api_control "{\"faults\":[${garbled%,}]}"
	docpipe-$st --backend openai --base-url "$BASE/v1" --no-reuse --retries 2 ${ONE[$st]} \
		<"$T_DIR/docs.ndjson" >"$T_DIR/o3" 2>"$T_DIR/e3"
	like "$?:$(one_line "$T_DIR/e3")" "^4:.*stopped: the model API answered 3 of 3 calls given up only with bodies that could not be decoded \(HTTP 200, its body not decodable \(Content-Encoding: gzip\): .*invalid block type\): the server or a proxy on the way garbles its compressed answers" \
		"$st, every answer's gzip garbled: exit 4, said so"
	like "$(jq -r 'select(.error) | .error' "$T_DIR/o3" | head -1)" "gave up after 2 attempts .*HTTP 200, its body not decodable \(Content-Encoding: gzip\)" \
		"$st: the failed documents say it too"
done

# A query in the base URL (Azure OpenAI's ?api-version=, a gateway's) goes
# after each call's path: it made the path part of the query.
api_reset
docpipe-embed --backend openai --base-url "$BASE/v1?api-version=2024-10-21" --dim 8 --no-reuse \
	<"$T_DIR/one.ndjson" >"$T_DIR/o3" 2>"$T_DIR/e3"
is "$?:$(api_stats '.queries | join(",")')" "0:api-version=2024-10-21" "a query in the base URL: sent after the path"
# Azure OpenAI's classic API (.../openai/deployments/NAME) takes the key in
# an api-key header only: it went as a Bearer token, refused (401).
api_reset
for st in summarize embed; do
	OPENAI_API_KEY=$KEY docpipe-$st --backend openai --base-url "$BASE/openai/deployments/dp?api-version=2024-10-21" \
		--no-reuse <"$T_DIR/one.ndjson" >"$T_DIR/o3" 2>"$T_DIR/e3"
	is "$?:$(jq -r .kind "$T_DIR/o3")" 0:document "$st, Azure's classic deployments URL: answered"
done
is "$(api_stats '.auth_seen | join(",")')" "api-key $KEY" "the key went as api-key, not as a Bearer token"

# Through a proxy (the test server plays it): a proxy that asks for
# credentials (407) stops the stage at its first answer, naming the proxy
# and its variable (every document failed "HTTP 407: (no message)", a
# request each); a proxy that cannot be reached is named in the reason;
# NO_PROXY is read as libcurl reads it.
api_reset
api_control '{"proxy_auth":true}'
http_proxy=$BASE docpipe-summarize --backend openai --base-url "http://localhost:$PORT/v1" --no-reuse \
	<"$T_DIR/docs.ndjson" >"$T_DIR/o3" 2>"$T_DIR/e3"
like "$?:$(one_line "$T_DIR/e3")" "^4:.*the proxy http://127.0.0.1:$PORT from \\\$http_proxy asks for credentials \(HTTP 407\)" \
	"a proxy asking for credentials: exit 4, naming it"
is "$(api_stats .proxied)" 1 "after one request"
api_control '{"proxy_auth":false}'
http_proxy=$BASE docpipe-summarize --backend openai --base-url "http://localhost:$PORT/v1" --no-reuse \
	<"$T_DIR/one.ndjson" >"$T_DIR/o3" 2>"$T_DIR/e3"
is "$?:$(api_stats .proxied)" 0:2 "the proxy answering: through it"
NO_PROXY="example.org, .localhost" http_proxy=http://127.0.0.1:1 docpipe-summarize --backend openai \
	--base-url "http://localhost:$PORT/v1" --no-reuse <"$T_DIR/one.ndjson" >"$T_DIR/o3" 2>"$T_DIR/e3"
is "$?:$(api_stats .proxied)" 0:2 "NO_PROXY naming the host's domain: straight to it"
HTTPS_PROXY=http://user:pw@127.0.0.1:1 docpipe-summarize --backend openai --base-url "https://api.example.com/v1" \
	--no-reuse --retries 1 <"$T_DIR/docs.ndjson" >"$T_DIR/o3" 2>"$T_DIR/e3"
like "$?:$(one_line "$T_DIR/e3")" "^4:.*Couldn't connect to server \(through the proxy http://127.0.0.1:1 from \\\$HTTPS_PROXY\)\): check its URL \(--base-url, OPENAI_BASE_URL\), the proxy in \\\$HTTPS_PROXY and that the server is running" \
	"a proxy that cannot be reached: named (without its credentials)"
ok "$(! grep -q "pw@" "$T_DIR/e3" "$T_DIR/o3"; echo $?)" "the proxy's password is not shown"

# The result cache is shared by replicas running at once: two replicas of
# each stage over the same documents write the same keys concurrently
# without an error, and a third run then makes no request.
export OPENAI_BASE_URL=$BASE/v1
unset OPENAI_API_KEY
api_reset
for stage in summarize embed; do
	docpipe-$stage --backend openai --threads 4 <"$T_DIR/docs.ndjson" >"$T_DIR/$stage.a" 2>"$T_DIR/$stage.ea" &
	A=$!
	docpipe-$stage --backend openai --threads 4 <"$T_DIR/docs.ndjson" >"$T_DIR/$stage.b" 2>"$T_DIR/$stage.eb" &
	B=$!
	wait "$A"; ra=$?
	wait "$B"; rb=$?
	is "$ra:$rb" "0:0" "two $stage replicas at once: both exit 0"
	if grep -q "could not keep\|lookup failed" "$T_DIR/$stage.ea" "$T_DIR/$stage.eb"; then
		ok 1 "$stage: no cache error while both write the same keys"
	else
		ok 0 "$stage: no cache error while both write the same keys"
	fi
done
is "$(sql 'SELECT count(*) FROM docpipe.embedding_cache')" 30 "one cached vector per distinct chunk"
is "$(sql 'SELECT count(*) FROM docpipe.summary_cache')" 30 "one cached summary per distinct document"
api_reset
docpipe-summarize --backend openai --threads 4 <"$T_DIR/docs.ndjson" 2>"$T_DIR/e4s" |
	docpipe-embed --backend openai --threads 4 >"$T_DIR/o4" 2>"$T_DIR/e4"
is "$?" 0 "a third run: exit 0"
is "$(api_stats '[.requests.chat, .requests.embed]')" "[0,0]" \
	"and no request: every result came from the replicas' shared cache"

# Two replicas writing the same keys at once in different orders (each
# cache row's insert slowed, as on a busy server): neither write is
# cancelled.  Before, the statements deadlocked and one replica's rows
# were dropped ("could not keep results for reuse: ... deadlock
# detected"; api_promises failed so under load).
newdb || exit 1
docpipe-embed --backend openai </dev/null >/dev/null 2>&1 # the cache tables
sql "CREATE FUNCTION public.t_slow() RETURNS trigger LANGUAGE plpgsql AS \$\$BEGIN PERFORM pg_sleep(0.02); RETURN NEW; END\$\$;
	CREATE TRIGGER t_slow BEFORE INSERT ON docpipe.embedding_cache FOR EACH ROW EXECUTE FUNCTION public.t_slow()" >/dev/null
tac "$T_DIR/docs.ndjson" >"$T_DIR/rev.ndjson"
docpipe-embed --backend openai --threads 4 <"$T_DIR/docs.ndjson" >/dev/null 2>"$T_DIR/order.ea" &
A=$!
docpipe-embed --backend openai --threads 4 <"$T_DIR/rev.ndjson" >/dev/null 2>"$T_DIR/order.eb"
rb=$?
wait "$A"
is "$?:$rb:$(sql 'SELECT count(*) FROM docpipe.embedding_cache')" "0:0:30" \
	"two replicas writing the same keys in opposite orders: both exit 0, every key kept"
is "$(cat "$T_DIR/order.ea" "$T_DIR/order.eb" | grep -c 'could not keep')" 0 "and neither write was cancelled" ||
	grep -h 'could not keep' "$T_DIR/order.ea" "$T_DIR/order.eb" | sed 's/^/# /'

# A server or proxy that echoes the Authorization header in its answer (a
# debug page with status 200 that is not JSON, whose whole body jq's parse
# message quoted; an error message where the key straddled the 300-byte
# cut, whose first half survived the scrub): the key never reaches an
# error record, stderr or the database.
SECRET="sk-echo-$RANDOM$RANDOM-0123456789abcdefghij"
fakeapi
api_control '{"echo_key":{"status":200}}'
# Every record and stderr: three such pages before any JSON refuse the
# run (fault sweep 20), and which record fails first with the page's own
# words depends on the threads; the refusal quotes it too.
for st in summarize embed; do
	OPENAI_API_KEY=$SECRET docpipe-$st --backend openai --base-url "$BASE/v1" --no-reuse --retries 1 \
		<"$T_DIR/docs.ndjson" >"$T_DIR/echo.out" 2>"$T_DIR/echo.err"
	like "$(jq -r .error "$T_DIR/echo.out"; cat "$T_DIR/echo.err")" 'malformed response body .*not JSON: "<html>debug: Bearer \*+' \
		"$st: a 200 page that is not JSON and echoes the key: the error quotes it scrubbed"
	ok "$(! grep -qF -- "${SECRET:0:12}" "$T_DIR/echo.out" "$T_DIR/echo.err"; echo $?)" "$st: no part of the key in its output or stderr"
done
api_control '{"echo_key":{"status":400,"json":true,"pad":270}}'
OPENAI_API_KEY=$SECRET docpipe-summarize --backend openai --base-url "$BASE/v1" --no-reuse --retries 1 \
	<"$T_DIR/docs.ndjson" 2>"$T_DIR/echo.err" | head -n 1 >"$T_DIR/echo.out"
like "$(jq -r .error "$T_DIR/echo.out")" 'HTTP 400: x+Authorization: Bearer \*+$' "an error message cut inside the echoed key: the error says why"
ok "$(! grep -qF -- "${SECRET:0:12}" "$T_DIR/echo.out" "$T_DIR/echo.err"; echo $?)" "and no half of the key is left"

# The OpenAI variables are the OpenAI-compatible backend's: an OpenAI key
# exported for OpenAI never goes to an Ollama server (over plain http, as
# a rule), and $OPENAI_BASE_URL does not send ollama there.  ollama reads
# $OLLAMA_HOST (host:port without a scheme, as Ollama's clients take it)
# and $OLLAMA_API_KEY (a proxy or Ollama's cloud in front).
api_reset
head -n 1 "$T_DIR/docs.ndjson" >"$T_DIR/one.ndjson"
for st in summarize embed; do
	OPENAI_API_KEY=$SECRET OPENAI_BASE_URL=http://127.0.0.1:1/v1 OLLAMA_HOST=${BASE#http://} \
		docpipe-$st --backend ollama --no-reuse <"$T_DIR/one.ndjson" >"$T_DIR/ol.out" 2>"$T_DIR/ol.err"
	is "$?:$(jq -r .kind "$T_DIR/ol.out")" 0:document "$st --backend ollama: \$OLLAMA_HOST (no scheme, no \$OPENAI_BASE_URL) reached"
done
is "$(api_stats '.auth_seen | length')" 0 "ollama: the OpenAI key was not sent"
# Told to check its URL, an Ollama user is named the variable ollama reads
# (before: OPENAI_BASE_URL, which it never reads).
OLLAMA_HOST=127.0.0.1:1 docpipe-summarize --backend ollama --no-reuse --retries 1 <"$T_DIR/docs.ndjson" >/dev/null 2>"$T_DIR/ol.err"
like "$?:$(one_line "$T_DIR/ol.err")" "^4:.*the model API was never reached, 3 calls given up \(Couldn't connect to server\): check its URL \(--base-url, OLLAMA_HOST\) and that the server is running" \
	"ollama never reached: \$OLLAMA_HOST named, not \$OPENAI_BASE_URL"
OLLAMA_API_KEY=ollama-key OLLAMA_HOST=$BASE/ docpipe-embed --backend ollama --no-reuse <"$T_DIR/one.ndjson" >/dev/null 2>&1
is "$?:$(api_stats '.auth_seen | join(",")')" "0:Bearer ollama-key" "ollama: \$OLLAMA_API_KEY sent, a scheme and a slash in \$OLLAMA_HOST taken"
done_testing
