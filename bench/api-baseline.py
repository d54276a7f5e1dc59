#!/usr/bin/python3
"""The seed's design, replayed against tests/fakeapi.py for bench/api.sh:
a pool of WORKERS threads, each taking one file at a time and making its
requests one after another: a document summary (the whole text), one chunk
summary per chunk, one embedding request per chunk.

    api-baseline.py BASE_URL WORKERS < documents.ndjson   (docpipe-chunk output)
Prints the wall time in seconds."""
import http.client
import json
import queue
import sys
import threading
import time
from urllib.parse import urlparse

# The instructions around the text, about as long as docpipe-summarize's.
DOC_PROMPT = 100 * "x"
CHUNK_PROMPT = 300 * "x"


def worker(url, files, errors):
    conn = http.client.HTTPConnection(url.hostname, url.port)

    def post(path, body):
        conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            errors.append(resp.status)

    while True:
        try:
            doc = files.get_nowait()
        except queue.Empty:
            return
        texts = [c["text"] for c in doc["chunks"]]
        post("/v1/chat/completions",
             {"model": "m", "messages": [{"role": "user", "content": DOC_PROMPT + "\n\n".join(texts)}]})
        for t in texts:
            post("/v1/chat/completions",
                 {"model": "m", "messages": [{"role": "user", "content": CHUNK_PROMPT + t}]})
        for t in texts:
            post("/v1/embeddings", {"model": "m", "input": [t], "dimensions": 16})


def main():
    url = urlparse(sys.argv[1])
    workers = int(sys.argv[2])
    files = queue.Queue()
    for line in sys.stdin:
        rec = json.loads(line)
        if rec.get("kind") == "document":
            files.put(rec)
    errors = []
    start = time.monotonic()
    threads = [threading.Thread(target=worker, args=(url, files, errors)) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        sys.exit("api-baseline: %d requests failed" % len(errors))
    print("%.3f" % (time.monotonic() - start))


if __name__ == "__main__":
    main()
