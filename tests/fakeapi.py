#!/usr/bin/python3
"""A local OpenAI- and Ollama-compatible model server for docpipe's tests
and benchmark.  Python standard library only; listens on loopback only.

Endpoints (OpenAI style under /v1, Ollama's native under /api):
  POST /v1/embeddings        {"model", "input": str|[str], "dimensions",
                              "encoding_format": "float"|"base64"}
  POST /v1/chat/completions  {"model", "messages": [...]}
  POST /api/embed            {"model", "input": str|[str], "dimensions"}
  POST /api/chat             {"model", "messages": [...], "stream": false}
Responses are deterministic, so tests can recompute them:
  embedding(text, dim): see vector() below (values k/32768, exact in float32;
      with "encoding_format": "base64", the base64 of them as float32
      little-endian, as OpenAI answers)
  chat: "SUMMARY-" + the first 16 hex digits of sha256 of the last message.
Control (JSON):
  POST /_control  {"faults": [FAULT...], "latency": {...}, "bad_input": "S",
                   "order": "reverse"|"shuffle", "bad_vector": {...},
                   "chat_answer": {...}, "no_base64": true|false}
                  appends faults (each used once, by the next matching
                  request) and sets the rest.  "order": how OpenAI-style
                  embedding data is listed (default reverse; clients must
                  use "index" either way).
     FAULT: {"endpoint": "embed"|"chat"|"*", "status": 429, "retry_after": 1,
             "retry_after_ms": 300, "code": "insufficient_quota", "param": "model",
             "kind": "status"|"hang"|"malformed"|"truncated"|"wrong_count"|
                     "bad_index"|"bad_base64"|"wrong_dim" (each vector one
                     value longer than asked)|"html" (a proxy's HTML error
                     page, "status" default 502, padded to "bytes", its
                     heading "text" if given)|"trailing" (the right answer
                     followed by "text")|"cut" (the right answer's first
                     half, framed as whole: a gzip stream cut on its way,
                     which libcurl hands over without an error)|"garbled" (the
                     right answer's first half gzip-compressed, then a
                     deflate block zlib cannot read, "Content-Encoding:
                     gzip": a proxy's broken compression, which libcurl
                     fails as "bad content encoding")|"http10" (the answer as
                     HTTP/1.0 without Content-Length)|"trickle" (the answer
                     one byte at a time over "seconds")|"lone_surrogate" (a
                     right answer holding the escape of a lone UTF-16
                     surrogate, as a server that cut an emoji's pair sends:
                     chat's content "bad \\ud800 x", embed's "model"
                     likewise), "seconds": 30 (a hang's),
             "input": "S" (only a request with S in one of its texts)}
                  Also "rpm", "rate_429", "rate_5xx", "retry_after" as the
                  options below (null: off).
  GET  /_stats    {"requests": {"embed": n, "chat": n}, "inputs": {...},
                   "log": [{"endpoint", "inputs": [...], "outputs": [...],
                            "start", "end"}],
                   "max_in_flight": {...}, "busy_s": {...}, "auth_seen": [...],
                   "max_concurrent": {...}, "status": {"chat": {"200": n, ...}},
                   "times": [[endpoint, start_s, end_s, status], ...],
                   "rejected": [inputs of each embed request refused for bad_input],
                   "rejected_texts": [[its texts] of each such request],
                   "encodings": {"float": n, "base64": n},
                   "faulted": [{"kind", "endpoint", "inputs"}, ...]}
                  requests counts every request on arrival, before any check
                  (a 401 is counted); max_concurrent is the most requests of a
                  kind open at once (the client's in-flight level, slots or
                  not); max_in_flight the most being served in slots; times
                  (not with --no-log, unless --times) each request's arrival
                  and answer, in seconds since the server started (t0_wall:
                  that moment's time.time(), to place them on a run's own
                  clock); a log entry's start and
                  end are its request's arrival and answer likewise; faulted
                  the requests that took a fault, with their inputs.
  POST /_reset    clears counters, log and faults
  POST /loop/...  answers 307 to itself, forever (counted in "redirects")
  POST /redirect/CODE/HOST/...  answers CODE (301, 302, 303, 307, 308) to
                  http://HOST:<this port>/... (HOST "127.0.0.1": the same
                  origin; "localhost": another host to a client)
  A query ("?api-version=...") is left out of the route; each one seen is
  listed in "queries".
  A request for an absolute URI ("POST http://host:port/v1/...", as a
  client sends one through an HTTP proxy) is served as its path, the
  server playing the proxy too ("proxied" counts them), or answered 407
  (Proxy-Authenticate) with the control "proxy_auth": true.
Options: --port 0 prints "PORT <n>" on stdout once listening.
  --slots N: requests served at once per endpoint kind (others wait).
  --latency embed=BASE_MS+PER_INPUT_MS,chat=BASE_MS+PER_TOKEN_MS
  --latency-spread F: each latency x (1 +- F), uniform at random (default 0:
      as given; a model's answer time varies with its output's length).
  --require-key KEY: 401 unless "Authorization: Bearer KEY" or "api-key: KEY"
                  (Azure's classic API: /openai/deployments/NAME/... is
                  served as /...; "auth_seen" lists it as "api-key KEY").
  --rpm N: a rate limit per endpoint kind (a token bucket refilled at N per
      minute holding at most one second of it; --burst S: S seconds of it,
      a provider's bigger burst): a request above it gets 429
      at once with Retry-After (and retry-after-ms) until the next token.
      Every answer then carries the limit as OpenAI announces it:
      x-ratelimit-limit-requests (N), x-ratelimit-remaining-requests (whole
      tokens left), x-ratelimit-reset-requests (until the bucket is full,
      "20ms", "1.5s", "1m2s").
  --no-ratelimit-headers: --rpm without those headers (as Ollama or a
      proxy).  Control key "ratelimit_headers": true/false.
  --rate-429 P, --rate-5xx P: answer that fraction of requests (at random,
      at once) 429 with Retry-After --retry-after S (default 0.2), or 503.
  --no-log: keep no request log (benchmarks).
  --times: keep the request times even with --no-log (a benchmark's
      breakdown of its wall: bench/api-graph.sh BREAKDOWN=1).
  --no-base64: answer 400 to an embeddings request asking for base64 (as a
      server that knows only JSON numbers).
  --tls CERT,KEY: serve HTTPS with that certificate.
"bad_input": a request (embed or chat) with that text in an input gets 400,
or for chat "bad_input_status" (a 5xx: a server that fails on that input).
"bad_vector": {"input": "S", "value": "NaN"}: the vector of every embedding
input holding S has its last value replaced by value, written as it is in
JSON ("NaN", "Infinity", "-Infinity", "1e39": over float32's range) or, in
base64, as that float32 (1e39 becomes infinity); "zeros": the whole vector
0 (a model that embeds nothing).  null: off.
"chat_answer": {"input": "S" or ["S", ...], "content": "TEXT"}: a chat
request whose last message holds S (each S) is answered TEXT (e.g. "", "  ",
"a\\u0000b"), with "finish_reason": "R" (Ollama's done_reason) when given
("length": an answer cut at the server's output limit), with Ollama's
"done": false (an incomplete answer) or null (no "done" field) when given
(default true); "content": null answers a null content (a refusal's form),
"no_choices": true an empty "choices" list; with "error": E
the answer is {"error": E} with status 200 (as some proxies answer).  null: off.
"no_base64": as --no-base64, for a running server.
"no_temperature": true: an OpenAI-style chat request with a "temperature"
other than 1 gets 400 as OpenAI's reasoning models answer it.
"stream": true: every OpenAI-style chat answer is sent as server-sent events
("data: {...}" lines, text/event-stream), as a server set to stream does
whatever the request says.  "chat_answer" also takes "refusal": "TEXT"
(content null and that refusal, as OpenAI's refusals) and a "content" that
is a list of parts ([{"type": "text", "text": ...}]).
"echo_key": {"status": S, "json": true|false, "pad": N}: every model request
is answered S with its Authorization header echoed (as a proxy's debug page
or a gateway's error may): in {"error": {"message": N x's, then the header}}
with json, else in an HTML page.  null: off.
"hold": true: every model request, once counted (in "requests", on
arrival), waits for "hold": false before it is served (the latency and
faults then as usual): a test decides when an answer comes, not a latency
a loaded machine may outrun.  /_reset lets the held ones go.
"hold_after": {"chat": N}: N more chat requests go, then the next holds as
with "hold": true, and every model request after it ("hold": false ends it).
"hold_kinds": ["chat"]: a hold holds only the requests of those kinds (the
others go on: one branch held while the other runs); null: every kind.
"""
import argparse
import base64
import collections
import hashlib
import math
import random
import socket
import json
import struct
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


# The server shares its cores (and Python's one interpreter lock) with the
# client under test: an embedding answer is made from a table of the
# 65,536 values' JSON text, not by json.dumps of floats (10x less CPU per
# input; bench/api-graph.sh's chat requests waited for it).
UNITS = struct.Struct("<16H").unpack


def values(units):
    """An embedding's values from its 16-bit units: multiples of 2^-15 in [-1, 1)."""
    return [(u - 32768) / 32768.0 for u in units]


VALUE_TEXT = [repr(v) for v in values(range(65536))]


def vector_units(text, dim):
    """The embedding of text as dim 16-bit units u: values (u - 32768) / 32768."""
    raw = text.encode()
    out = []
    for block in range((dim + 15) // 16):
        out.extend(UNITS(hashlib.sha256(b"%d:" % block + raw).digest()))
    del out[dim:]
    return out


def vector(text, dim):
    """The embedding of text: dim values in [-1, 1), multiples of 2^-15."""
    return values(vector_units(text, dim))


class RawJSON:
    """JSON text that json_text() inserts as it is."""

    def __init__(self, text):
        self.text = text


def json_text(obj):
    """json.dumps(obj), with RawJSON values inserted as they are (an
    embedding answer's body only: a Python walk, slower than json.dumps)."""
    if isinstance(obj, RawJSON):
        return obj.text
    if isinstance(obj, dict):
        return "{" + ", ".join(json.dumps(k) + ": " + json_text(v) for k, v in obj.items()) + "}"
    if isinstance(obj, list):
        return "[" + ", ".join(json_text(v) for v in obj) + "]"
    return json.dumps(obj)


def vector_json(units):
    """The JSON text of a vector given as units, as json.dumps writes it."""
    return RawJSON("[" + ", ".join([VALUE_TEXT[u] for u in units]) + "]")


def vector_base64(units):
    """A vector given as units as OpenAI's base64: float32 little-endian."""
    return base64.b64encode(struct.pack("<%df" % len(units), *values(units))).decode()


def bad_vector(units, text, b64):
    """A vector given as units whose last value is text (a JSON number as
    written: "NaN", "Infinity", "1e39"), in JSON or as base64 of float32;
    "zeros": every value 0 (a model that embeds nothing)."""
    if text == "zeros":
        zero = [32768] * len(units)  # units of value 0
        return vector_base64(zero) if b64 else vector_json(zero)
    if not b64:
        return RawJSON("[" + ", ".join([VALUE_TEXT[u] for u in units[:-1]] + [text]) + "]")
    vals = values(units)
    x = float(text)
    try:
        struct.pack("<f", x)
    except OverflowError:  # over float32's range: what a float32 server sends
        x = math.copysign(math.inf, x)
    vals[-1] = x
    return base64.b64encode(struct.pack("<%df" % len(vals), *vals)).decode()


# A text holding a lone high surrogate: json.dumps writes it "\ud800".
LONE_SURROGATE = "bad \ud800 x"


def summary(prompt):
    return "SUMMARY-" + hashlib.sha256(prompt.encode()).hexdigest()[:16]


class Slots:
    """--slots: n requests served at once, the others waiting in the order
    they came (a local model's queue: llama.cpp and Ollama serve FIFO).
    Not threading.Semaphore, which lets a request that has just come take
    a slot freed while an older one waits: the woken waiter must run
    before the newcomer does, and on a loaded machine it often did not.
    One slot then served a request that came 0.7 s later first, a waiting
    one gave up at --timeout, and --threads auto had judged a round of
    two quick answers and doubled (api_auto_local: 4 in flight; session
    60).  A freed slot is handed to the first waiter itself."""

    def __init__(self, n):
        self.lock = threading.Lock()
        self.free = n
        self.waiters = collections.deque()

    def __enter__(self):
        with self.lock:
            if self.free > 0 and not self.waiters:
                self.free -= 1
                return self
            turn = threading.Event()
            self.waiters.append(turn)
        turn.wait()
        return self

    def __exit__(self, *exc):
        with self.lock:
            if self.waiters:
                self.waiters.popleft().set()
            else:
                self.free += 1


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.args = args
        self.slots = {k: Slots(args.slots) for k in ("embed", "chat")}
        self.latency = parse_latency(args.latency)
        self.latency_spread = args.latency_spread
        self.t0 = time.monotonic()
        self.rpm = args.rpm
        self.burst = args.burst
        self.rate_429 = args.rate_429
        self.rate_5xx = args.rate_5xx
        self.retry_after = args.retry_after
        self.ratelimit_headers = not args.no_ratelimit_headers
        self.gate = threading.Event()  # set: requests go; clear: "hold"
        self.reset()

    def reset(self):
        self.gate.set()
        self.hold_from = {}
        self.hold_kinds = None
        self.faults = []
        self.faulted = []  # the requests that took a fault: kind, endpoint, inputs
        self.bad_input = None
        self.bad_input_status = 400
        self.bad_vector = None
        self.chat_answer = None
        self.echo_key = None
        self.no_base64 = self.args.no_base64
        self.order = "reverse"
        self.requests = {"embed": 0, "chat": 0}
        self.inputs = {"embed": 0, "chat": 0}
        self.in_flight = {"embed": 0, "chat": 0}
        self.max_in_flight = {"embed": 0, "chat": 0}
        self.busy = {"embed": 0.0, "chat": 0.0}
        self.log = []
        self.rejected = []  # input counts of embed requests refused for bad_input
        self.rejected_texts = []  # ... and their texts
        self.encodings = {}  # OpenAI embeddings requests by encoding_format asked
        self.auth_seen = set()
        self.open = {"embed": 0, "chat": 0}
        self.max_concurrent = {"embed": 0, "chat": 0}
        self.status = {"embed": {}, "chat": {}}
        self.times = []
        self.bucket = {}  # kind -> (tokens, when)
        self.redirects = 0
        self.queries = []
        self.proxied = 0
        self.proxy_auth = False
        self.stream = False
        self.no_temperature = False

    def take_token(self, kind):
        """Under lock: 0 when the rate limit lets a request of kind through,
        else the seconds until it would."""
        if not self.rpm:
            return 0
        rate = self.rpm / 60.0
        cap = max(1.0, rate * self.burst)
        now = time.monotonic()
        tokens, when = self.bucket.get(kind, (cap, now))
        tokens = min(cap, tokens + (now - when) * rate)
        wait = 0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / rate
        self.bucket[kind] = (tokens, now)
        self.announced = None
        if self.ratelimit_headers:
            self.announced = {"x-ratelimit-limit-requests": "%d" % self.rpm,
                              "x-ratelimit-remaining-requests": "%d" % int(tokens),
                              "x-ratelimit-reset-requests": duration((cap - tokens) / rate)}
        return wait

    def take_fault(self, kind, texts):
        with self.lock:
            for i, f in enumerate(self.faults):
                if f.get("endpoint", "*") in (kind, "*") and (
                        "input" not in f or any(f["input"] in t for t in texts)):
                    self.faulted.append({"kind": f.get("kind", "status"), "endpoint": kind,
                                         "inputs": list(texts)})
                    return self.faults.pop(i)
        return None


def duration(s):
    """Seconds as OpenAI writes a reset time: "20ms", "1.5s", "6m0s"."""
    if s < 1:
        return "%dms" % round(s * 1000)
    m, s = divmod(s, 60)
    secs = ("%.3f" % s).rstrip("0").rstrip(".") + "s"
    return "%dm%s" % (m, secs) if m else secs


def parse_latency(spec):
    lat = {"embed": (0.0, 0.0), "chat": (0.0, 0.0)}
    for part in filter(None, (spec or "").split(",")):
        kind, value = part.split("=")
        base, _, per = value.partition("+")
        lat[kind] = (float(base) / 1000, float(per or 0) / 1000)
    return lat


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # Headers and body go out in two writes: without this, Nagle's
        # algorithm and the client's delayed ACK add ~40 ms to every answer.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *a):
        pass

    def send_json(self, status, obj, headers=None, raw=None):
        body = raw if raw is not None else json.dumps(obj).encode()
        odd, arg = getattr(self, "pending_fault", None) or (None, 0)
        self.pending_fault = None
        if odd == "trailing":
            body += arg.encode()
        if odd == "cut":
            body = body[:len(body) // 2]
        if odd == "garbled":
            # The first half compressed and flushed to a block's end,
            # then a block of the type that does not exist (0x07:
            # final, type 3): zlib fails there, "invalid block type".
            # Bytes flipped at random may decode as a stream never
            # ended, which libcurl hands over as it does a cut one.
            packer = zlib.compressobj(wbits=31)
            body = (packer.compress(body[:len(body) // 2]) + packer.flush(zlib.Z_FULL_FLUSH) +
                    b"\x07" + bytes(16))
            headers = dict(headers or {}, **{"Content-Encoding": "gzip"})
        if odd == "http10":
            # An HTTP/1.0 answer without Content-Length: the body ends
            # when the connection closes.
            self.wfile.write(b"HTTP/1.0 %d OK\r\nContent-Type: application/json\r\n\r\n" % status + body)
            self.close_connection = True
            return
        if odd == "trickle":
            # The whole answer, one byte at a time over `arg` seconds.
            head = b"HTTP/1.1 %d OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (status, len(body))
            data = head + body
            for i in range(len(data)):
                self.wfile.write(data[i:i + 1])
                self.wfile.flush()
                time.sleep(arg / len(data))
            return
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        truncated = raw is not None and raw.endswith(b"!")
        # A truncated body announces more than it sends, then the
        # connection closes.
        self.send_header("Content-Length", str(len(body) + (1000 if truncated else 0)))
        if truncated:
            self.close_connection = True
        for k, v in list((headers or {}).items()) + list((getattr(self, "announced", None) or {}).items()):
            self.send_header(k, str(v))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        st = self.server.state
        self.kind = None
        self.announced = None
        if self.path == "/_stats":
            with st.lock:
                self.send_json(200, {"requests": st.requests, "inputs": st.inputs, "log": st.log,
                                     "max_in_flight": st.max_in_flight, "busy_s": st.busy,
                                     "auth_seen": sorted(st.auth_seen),
                                     "max_concurrent": st.max_concurrent, "status": st.status,
                                     "times": st.times, "t0_wall": time.time() - (time.monotonic() - st.t0), "redirects": st.redirects,
                                     "queries": st.queries, "proxied": st.proxied,
                                     "rejected": st.rejected, "rejected_texts": st.rejected_texts, "encodings": st.encodings,
                                     "faulted": st.faulted})
        else:
            self.send_json(404, {"error": {"message": "not found"}})

    def do_POST(self):
        st = self.server.state
        self.kind = None
        self.announced = None
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n)
        try:
            req = json.loads(raw or b"{}")
        except ValueError:
            return self.send_json(400, {"error": {"message": "body is not JSON", "type": "invalid_request_error"}})
        if self.path == "/_control":
            with st.lock:
                st.faults.extend(req.get("faults", []))
                if "order" in req:
                    st.order = req["order"]
                if "bad_input" in req:
                    st.bad_input = req["bad_input"]
                if "bad_input_status" in req:
                    st.bad_input_status = int(req["bad_input_status"])
                if "latency" in req:
                    st.latency = parse_latency(req["latency"])
                if "hold" in req:
                    (st.gate.clear if req["hold"] else st.gate.set)()
                    if not req["hold"]:
                        st.hold_from = {}
                if "hold_kinds" in req:
                    st.hold_kinds = req["hold_kinds"]
                if "hold_after" in req:
                    st.hold_from = {k: st.requests[k] + int(n) for k, n in (req["hold_after"] or {}).items()}
                for k in ("rpm", "rate_429", "rate_5xx", "retry_after", "ratelimit_headers",
                          "bad_vector", "chat_answer", "no_base64", "echo_key", "proxy_auth",
                          "stream", "no_temperature"):
                    if k in req:
                        setattr(st, k, req[k])
            return self.send_json(200, {"ok": True})
        if self.path == "/_reset":
            with st.lock:
                st.reset()
            return self.send_json(200, {"ok": True})
        if self.path.startswith("http://"):
            with st.lock:
                st.proxied += 1
                auth = st.proxy_auth
            if auth:
                self.send_response(407)
                self.send_header("Proxy-Authenticate", 'Basic realm="proxy"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.path = "/" + self.path.split("/", 3)[3]
        if "?" in self.path:
            self.path, _, query = self.path.partition("?")
            with st.lock:
                st.queries.append(query)
        # Azure OpenAI's classic API: /openai/deployments/NAME/embeddings.
        if self.path.startswith("/openai/deployments/") and self.path.count("/") >= 4:
            self.path = "/" + self.path.split("/", 4)[4]
        if self.path.startswith("/redirect/"):
            _, _, code, host, rest = self.path.split("/", 4)
            with st.lock:
                st.redirects += 1
            return self.send_json(int(code), {}, {"Location": "http://%s:%d/%s" % (
                host, self.server.server_address[1], rest)})
        if self.path.startswith("/loop/"):
            with st.lock:
                st.redirects += 1
            return self.send_json(307, {}, {"Location": self.path})
        routes = {"/v1/embeddings": ("embed", "openai"), "/embeddings": ("embed", "openai"),
                  "/v1/chat/completions": ("chat", "openai"), "/chat/completions": ("chat", "openai"),
                  "/api/embed": ("embed", "ollama"), "/api/chat": ("chat", "ollama")}
        if self.path not in routes:
            return self.send_json(404, {"error": {"message": "no route " + self.path}})
        kind, flavour = routes[self.path]
        start = time.monotonic()
        with st.lock:
            st.requests[kind] += 1
            if kind in st.hold_from and st.requests[kind] > st.hold_from[kind]:
                del st.hold_from[kind]
                st.gate.clear()
            st.open[kind] += 1
            st.max_concurrent[kind] = max(st.max_concurrent[kind], st.open[kind])
        self.status_sent = 0
        self.kind, self.start = kind, start
        echo = st.echo_key
        if echo is not None:
            auth = self.headers.get("Authorization", "")
            self.close_request(st, int(echo["status"]))
            self.status_sent = 1
            self.kind = None
            if echo.get("json"):
                return self.send_json(int(echo["status"]), {"error": {"message": "x" * int(echo.get("pad", 0)) + "Authorization: " + auth}})
            return self.send_json(int(echo["status"]), None, raw=("<html>debug: " + auth + "</html>").encode())
        try:
            self.admit(st, kind, flavour, req)
        finally:
            if not self.status_sent:  # a hang: closed without an answer
                self.close_request(st, 0)
            self.kind = None

    def close_request(self, st, code):
        """Counts the request as answered: called as the answer starts, so
        that the client cannot have its next request open before this one
        is closed (max_concurrent is exact)."""
        with st.lock:
            st.open[self.kind] -= 1
            st.status[self.kind][str(code)] = st.status[self.kind].get(str(code), 0) + 1
            if not st.args.no_log or st.args.times:
                st.times.append([self.kind, round(self.start - st.t0, 6),
                                 round(time.monotonic() - st.t0, 6), code])

    def send_response(self, code, message=None):
        if getattr(self, "kind", None) and not self.status_sent:
            self.status_sent = code
            self.close_request(self.server.state, code)
        super().send_response(code, message)

    def admit(self, st, kind, flavour, req):
        """Checks a request (key, rate limit, injected rates), then serves it
        in a slot."""
        auth = self.headers.get("Authorization")
        azure = self.headers.get("api-key")
        with st.lock:
            if auth:
                st.auth_seen.add(auth)
            if azure:
                st.auth_seen.add("api-key " + azure)
            wait = st.take_token(kind)
            self.announced = st.announced if st.rpm else None
            weather = random.random()
        if st.args.require_key and auth != "Bearer " + st.args.require_key and azure != st.args.require_key:
            return self.send_json(401, {"error": {"message": "Incorrect API key provided",
                                                  "type": "invalid_request_error", "code": "invalid_api_key"}})
        if wait > 0 or (st.rate_429 and weather < st.rate_429):
            after = wait if wait > 0 else st.retry_after
            return self.send_json(429, {"error": {"message": "Rate limit reached (injected)",
                                                  "type": "requests", "code": "rate_limit_exceeded"}},
                                  {"Retry-After": "%.3f" % after,
                                   "retry-after-ms": "%d" % max(1, round(after * 1000))})
        if st.rate_5xx and random.random() < st.rate_5xx:
            return self.send_json(503, {"error": {"message": "overloaded (injected)",
                                                  "type": "server_error"}})
        with st.slots[kind]:
            with st.lock:
                st.in_flight[kind] += 1
                st.max_in_flight[kind] = max(st.max_in_flight[kind], st.in_flight[kind])
            start = time.monotonic()
            try:
                self.serve(st, kind, flavour, req)
            finally:
                with st.lock:
                    st.in_flight[kind] -= 1
                    st.busy[kind] += time.monotonic() - start

    def serve(self, st, kind, flavour, req):
        if kind == "embed":
            inp = req.get("input")
            texts = [inp] if isinstance(inp, str) else list(inp or [])
            units = len(texts)
        else:
            texts = [m.get("content", "") for m in req.get("messages", [])]
            units = sum(len(t) for t in texts) / 4
        if st.hold_kinds is None or kind in st.hold_kinds:
            st.gate.wait()
        fault = st.take_fault(kind, texts)
        base, per = st.latency[kind]
        if base or per:
            spread = st.latency_spread
            time.sleep((base + per * units) * (1 + spread * random.uniform(-1, 1) if spread else 1))
        if fault:
            fk = fault.get("kind", "status")
            if fk == "hang":
                time.sleep(fault.get("seconds", 30))
                return
            if fk == "status":
                headers = {}
                if "retry_after" in fault:
                    headers["Retry-After"] = fault["retry_after"]
                if "retry_after_ms" in fault:
                    headers["retry-after-ms"] = fault["retry_after_ms"]
                err = {"message": fault.get("message", "injected fault %d" % fault["status"]),
                       "type": fault.get("code", "server_error"), "code": fault.get("code"),
                       "param": fault.get("param")}
                return self.send_json(fault["status"], {"error": err}, headers)
            if fk == "html":
                # A proxy's error page: HTML, not JSON.
                text = fault.get("text", "%d Bad Gateway" % fault.get("status", 502))
                body = b"<html><body><h1>%s</h1><hr>nginx</body></html>" % text.encode()
                # "bytes": the page padded to that size (an application
                # server's stack trace, a verbose proxy page).
                body += b"<!-- %s -->" % (b"x" * max(0, fault.get("bytes", 0) - len(body) - 9))
                self.send_response(fault.get("status", 502))
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            if fk in ("http10", "trickle"):
                self.pending_fault = fk, fault.get("seconds", 1)
            if fk == "trailing":
                self.pending_fault = fk, fault.get("text", "garbage")
            if fk in ("cut", "garbled"):
                self.pending_fault = fk, 0
            if fk == "malformed":
                return self.send_json(200, None, raw=b'{"data": [ this is not json')
            if fk == "truncated":
                return self.send_json(200, None, raw=b'{"data": [{"embedding": [0.1,!')
        encoding = req.get("encoding_format", "float") if kind == "embed" and flavour != "ollama" else None
        if encoding is not None:
            with st.lock:
                st.encodings[encoding] = st.encodings.get(encoding, 0) + 1
            if encoding == "base64" and st.no_base64:
                return self.send_json(400, {"error": {"message": "encoding_format 'base64' is not supported",
                                                      "type": "invalid_request_error"}})
        with st.lock:
            st.inputs[kind] += len(texts) if kind == "embed" else 1
        if kind == "chat" and flavour == "openai" and st.no_temperature and req.get("temperature", 1) != 1:
            return self.send_json(400, {"error": {
                "message": "Unsupported value: 'temperature' does not support %s with this model. Only the"
                           " default (1) value is supported." % req["temperature"],
                "type": "invalid_request_error", "param": "temperature", "code": "unsupported_value"}})
        if kind == "chat" and st.bad_input is not None and any(st.bad_input in t for t in texts):
            if st.bad_input_status >= 500:
                return self.send_json(st.bad_input_status, {"error": {
                    "message": "the server failed on this input (injected)", "type": "server_error"}})
            return self.send_json(400, {"error": {"message": "content rejected (injected)",
                                                  "type": "invalid_request_error"}})
        if kind == "embed":
            if st.bad_input is not None and any(st.bad_input in t for t in texts):
                with st.lock:
                    st.rejected.append(len(texts))
                    st.rejected_texts.append(list(texts))
                return self.send_json(400, {"error": {
                    "message": "This model's maximum context length is 8192 tokens (injected)",
                    "type": "invalid_request_error"}})
            dim = int(req.get("dimensions") or 8)
            units = [vector_units(t, dim) for t in texts]
            if fault and fault.get("kind") == "wrong_count":
                units = units[:-1] if len(units) > 1 else units + units
            if fault and fault.get("kind") == "wrong_dim":
                units = [x + x[:1] for x in units]
            if not st.args.no_log:
                self.record(st, kind, texts, [values(x) for x in units])
            vecs = [vector_base64(x) if encoding == "base64" else vector_json(x) for x in units]
            bad = st.bad_vector
            if bad is not None:
                for i, t in enumerate(texts):
                    if bad["input"] in t:
                        vecs[i] = bad_vector(units[i], bad.get("value", "NaN"), encoding == "base64")
            if fault and fault.get("kind") == "bad_base64":
                vecs[0] = "AAAA"  # 3 bytes: no float32 vector
            model = LONE_SURROGATE if fault and fault.get("kind") == "lone_surrogate" else req.get("model")
            if flavour == "ollama":
                return self.send_json(200, None, raw=json_text({"model": model,
                                                                "embeddings": vecs}).encode())
            data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vecs)]
            if fault and fault.get("kind") == "bad_index" and len(data) > 1:
                data[0]["index"] = data[1]["index"]
            if st.order == "shuffle":
                random.shuffle(data)
            else:
                data.reverse()  # clients must use "index", not the order
            return self.send_json(200, None, raw=json_text({"object": "list", "data": data, "model": model,
                                                            "usage": {"prompt_tokens": 0, "total_tokens": 0}}).encode())
        out = summary(texts[-1] if texts else "")
        if fault and fault.get("kind") == "lone_surrogate":
            out = LONE_SURROGATE
        finish, done = "stop", True
        odd = st.chat_answer
        if odd is not None and texts:
            want = odd["input"] if isinstance(odd["input"], list) else [odd["input"]]
            if all(w in texts[-1] for w in want):
                if "error" in odd:
                    self.record(st, kind, texts[-1:], [])
                    return self.send_json(200, {"error": odd["error"]})
                out = odd.get("content")
                finish = odd.get("finish_reason", finish)
                done = odd.get("done", done)
        # The log (read by jq 1.6, which refuses a lone surrogate) holds
        # what a client reads: U+FFFD.
        self.record(st, kind, texts[-1:], [out.replace("\ud800", "\ufffd") if isinstance(out, str) else out])
        if flavour == "ollama":
            answer = {"model": req.get("model"), "done": done, "done_reason": finish,
                      "message": {"role": "assistant", "content": out}}
            if done is None:
                del answer["done"]
            return self.send_json(200, answer)
        choices = [{"index": 0, "finish_reason": finish, "message": {"role": "assistant", "content": out}}]
        if odd is not None and texts and odd.get("no_choices") and all(w in texts[-1] for w in want):
            choices = []
        if odd is not None and texts and "refusal" in odd and all(w in texts[-1] for w in want):
            choices[0]["message"]["refusal"] = odd["refusal"]
        if st.stream:
            events = [{"choices": [{"index": 0, "delta": {"content": out}, "finish_reason": finish}]}]
            body = "".join("data: %s\n\n" % json.dumps(e) for e in events) + "data: [DONE]\n\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Content-Length", str(len(body.encode())))
            self.end_headers()
            self.wfile.write(body.encode())
            return
        return self.send_json(200, {"id": "x", "object": "chat.completion", "model": req.get("model"),
                                    "choices": choices})

    def record(self, st, kind, inputs, outputs):
        if st.args.no_log:
            return
        with st.lock:
            st.log.append({"endpoint": kind, "inputs": inputs, "outputs": outputs,
                           "start": round(self.start - st.t0, 6),
                           "end": round(time.monotonic() - st.t0, 6)})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--slots", type=int, default=64)
    ap.add_argument("--latency", default="")
    ap.add_argument("--latency-spread", type=float, default=0.0)
    ap.add_argument("--require-key", default=None)
    ap.add_argument("--no-log", action="store_true")
    ap.add_argument("--times", action="store_true")
    ap.add_argument("--no-base64", action="store_true")
    ap.add_argument("--rpm", type=float, default=None)
    ap.add_argument("--burst", type=float, default=1.0)
    ap.add_argument("--rate-429", type=float, default=None)
    ap.add_argument("--rate-5xx", type=float, default=None)
    ap.add_argument("--retry-after", type=float, default=0.2)
    ap.add_argument("--no-ratelimit-headers", action="store_true")
    ap.add_argument("--tls", default=None)
    args = ap.parse_args()
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 256
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    if args.tls:
        import ssl
        cert, key = args.tls.split(",")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.state = State(args)
    print("PORT %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
