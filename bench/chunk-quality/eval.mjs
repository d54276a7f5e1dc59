// Chunk-quality benchmark: docpipe-chunk against LangChain's JS splitters under
// one fixed retriever, scored by the token-level method of the public chunking
// evaluation (../shared/eval/chunking/README.md).  See README.md here.
//
// Usage: node eval.mjs [--docpipe MAX/OVERLAP/MIN,...] [--eval DIR] [--bin DIR] [--budget TOKENS] [--retriever local|bm25|api|all]
//                      [--base-url URL --model NAME [--api-key-file FILE]] [--only REGEX] [--json FILE]
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MarkdownTextSplitter, RecursiveCharacterTextSplitter } from '@langchain/textsplitters';
import { meanStd, score, tokens } from './score.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const top = resolve(here, '../..');
const args = { budget: 2000, k: 5, retriever: 'all', bin: join(top, 'bin') };
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '').replace(/-(.)/g, (_, c) => c.toUpperCase())] = process.argv[i + 1];
args.budget = +args.budget;
args.k = +args.k;
const evalDir = args.eval || [join(top, '../shared/eval/chunking'), '/work/shared/eval/chunking'].find((d) => existsSync(d));
if (!evalDir) { console.error('eval.mjs: no evaluation data (../shared/eval/chunking); give --eval DIR'); process.exit(2); }
const corpusDir = join(evalDir, 'corpora');
const corpora = Object.fromEntries(readdirSync(corpusDir).filter((f) => f.endsWith('.md')).sort()
  .map((f) => [f.replace(/\.md$/, ''), { path: join(corpusDir, f), buf: readFileSync(join(corpusDir, f)) }]));
const questions = readFileSync(join(evalDir, 'questions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))
  .filter((q) => corpora[q.corpus]);

// ---- settings: every one is published (docs/PERFORMANCE.md) ----
const settings = [];
const docpipeSettings = args.docpipe ? args.docpipe.split(',').map((x) => x.split('/').map(Number))
  : [[128, 0, 0], [128, 16, 0], [256, 0, 0], [256, 32, 0], [256, 0, 64], [256, 32, 64],
    [384, 0, 0], [384, 48, 0], [512, 0, 0], [512, 64, 0], [512, 64, 64], [800, 0, 0], [800, 100, 0]];
for (const [max, ov, min] of docpipeSettings)
  settings.push({ name: `docpipe ${max}/${ov} min ${min}`, kind: 'docpipe', max, ov, min });
for (const [size, ov] of [[400, 0], [800, 0], [800, 120], [800, 200], [1600, 0], [1600, 240], [3200, 0], [3200, 480]])
  settings.push({ name: `LC recursive ${size}/${ov} chars`, kind: 'recursive', size, ov });
for (const [size, ov] of [[800, 0], [1000, 200], [1600, 0], [3200, 0]])
  settings.push({ name: `LC markdown ${size}/${ov} chars`, kind: 'markdown', size, ov });
const chosen = args.only ? settings.filter((s) => new RegExp(args.only).test(s.name)) : settings;

// Chunks of every corpus for a setting: {corpus: [{start, end, text}]}.
async function chunk(s) {
  const out = {};
  if (s.kind === 'docpipe') {
    const files = execFileSync(join(args.bin, 'docpipe-discover'), [corpusDir], { maxBuffer: 1 << 28 });
    const docs = execFileSync(join(args.bin, 'docpipe-chunk'),
      ['--max-tokens', `${s.max}`, '--overlap', `${s.ov}`, '--min-tokens', `${s.min}`],
      { input: files, maxBuffer: 1 << 30 }).toString().trim().split('\n').map((l) => JSON.parse(l));
    for (const d of docs) {
      const name = Object.keys(corpora).find((c) => corpora[c].path === d.path);
      if (name) out[name] = d.chunks.map((c) => ({ start: c.start, end: c.end, text: c.text }));
    }
    return out;
  }
  const Splitter = s.kind === 'markdown' ? MarkdownTextSplitter : RecursiveCharacterTextSplitter;
  const splitter = new Splitter({ chunkSize: s.size, chunkOverlap: s.ov });
  for (const [name, c] of Object.entries(corpora)) {
    const texts = await splitter.splitText(c.buf.toString('utf8'));
    // Locate each chunk in the source (LangChain keeps no offsets): the next
    // occurrence at or after the previous chunk's start.
    let from = 0;
    out[name] = texts.map((t) => {
      const b = Buffer.from(t);
      let at = c.buf.indexOf(b, from);
      if (at < 0) at = c.buf.indexOf(b);
      if (at < 0) throw new Error(`${s.name}: chunk not found in ${name}`);
      from = at + 1;
      return { start: at, end: at + b.length, text: t };
    });
  }
  return out;
}

// ---- retrievers ----
function embedAll(texts) { // unique texts -> Float32Array vectors, by docpipe-embed
  const extra = [];
  if (args.baseUrl) extra.push('--backend', 'openai', '--base-url', args.baseUrl, '--no-reuse', '-j', '4');
  else extra.push('-j', '2');
  if (args.model) extra.push('--model', args.model);
  if (args.apiKeyFile) extra.push('--api-key-file', args.apiKeyFile);
  const lines = [];
  for (let i = 0; i < texts.length; i += 500)
    lines.push(JSON.stringify({ v: 1, kind: 'document', path: `/eval/${i}`, chunks: texts.slice(i, i + 500).map((text, seq) => ({ seq, text })) }));
  const out = execFileSync(join(args.bin, 'docpipe-embed'), extra, { input: lines.join('\n') + '\n', maxBuffer: 1 << 31 - 1 });
  const vecs = new Map();
  for (const l of out.toString().trim().split('\n')) {
    const d = JSON.parse(l);
    if (d.kind !== 'document') throw new Error(`docpipe-embed: ${d.error}`);
    for (const c of d.chunks) {
      const b = Buffer.from(c.vec, 'base64');
      const v = new Float32Array(b.buffer, b.byteOffset, b.length / 4);
      let n = 0;
      for (const x of v) n += x * x;
      n = Math.sqrt(n) || 1;
      vecs.set(c.text, v.map((x) => x / n));
    }
  }
  return vecs;
}

const words = (t) => t.toLowerCase().match(/[\p{L}\p{N}]+/gu) || [];
function bm25Index(chunks) { // Okapi BM25, k1 = 1.2, b = 0.75
  const docs = chunks.map((c) => { const tf = new Map(); for (const w of words(c.text)) tf.set(w, (tf.get(w) || 0) + 1); return tf; });
  const lens = chunks.map((c) => words(c.text).length);
  const avg = lens.reduce((a, b) => a + b, 0) / (lens.length || 1);
  const df = new Map();
  for (const tf of docs) for (const w of tf.keys()) df.set(w, (df.get(w) || 0) + 1);
  return (q) => {
    const qw = [...new Set(words(q))];
    return docs.map((tf, i) => {
      let s = 0;
      for (const w of qw) {
        const f = tf.get(w);
        if (!f) continue;
        const idf = Math.log(1 + (docs.length - df.get(w) + 0.5) / (df.get(w) + 0.5));
        s += idf * f * 2.2 / (f + 1.2 * (0.25 + 0.75 * lens[i] / avg));
      }
      return s;
    });
  };
}

function ranked(scores) { return scores.map((s, i) => [s, i]).sort((a, b) => b[0] - a[0] || a[1] - b[1]).map((x) => x[1]); }

// Per question: k = 5; k* = chunks overlapping its references (1..20); top chunks up to the budget.
function evaluate(chunksBy, scorer) {
  const rows = [];
  for (const q of questions) {
    const chunks = chunksBy[q.corpus];
    const order = ranked(scorer(q, chunks));
    const refs = q.references.map((r) => [r.start, r.end]);
    const range = (i) => [chunks[i].start, chunks[i].end];
    const kstar = Math.min(20, Math.max(1, chunks.filter((c) => refs.some(([s, e]) => c.start < e && s < c.end)).length));
    const budget = [];
    let used = 0;
    for (const i of order) {
      const t = tokens(chunks[i].text);
      if (used + t > args.budget) { if (!budget.length) budget.push(range(i)); break; }
      budget.push(range(i));
      used += t;
    }
    rows.push({ corpus: q.corpus, k5: score(order.slice(0, args.k).map(range), refs),
      kstar: score(order.slice(0, kstar).map(range), refs), budget: score(budget, refs) });
  }
  return rows;
}

function summary(rows, s, chunksBy) {
  const all = Object.values(chunksBy).flat();
  const agg = (rs) => {
    const o = {};
    for (const m of ['k5', 'kstar', 'budget']) for (const f of ['recall', 'precision', 'iou']) o[`${m}_${f}`] = meanStd(rs.map((r) => r[m][f]));
    return o;
  };
  return { setting: s.name, chunks: all.length, mean_tokens: all.reduce((a, c) => a + tokens(c.text), 0) / all.length,
    overall: agg(rows), ...Object.fromEntries(Object.keys(corpora).map((c) => [c, agg(rows.filter((r) => r.corpus === c))])) };
}

const chunked = [];
for (const s of chosen) chunked.push([s, await chunk(s)]);
const retrievers = [];
if (['local', 'all'].includes(args.retriever) && !args.baseUrl) retrievers.push('local');
if (args.baseUrl) retrievers.push(`api ${args.model || ''}`.trim());
if (['bm25', 'all'].includes(args.retriever)) retrievers.push('bm25');
const results = {};
for (const r of retrievers) {
  let vecs;
  if (r !== 'bm25') {
    const texts = new Set(questions.map((q) => q.question));
    for (const [, by] of chunked) for (const cs of Object.values(by)) for (const c of cs) texts.add(c.text);
    vecs = embedAll([...texts]);
  }
  results[r] = [];
  for (const [s, by] of chunked) {
    let scorer;
    if (r === 'bm25') {
      const idx = Object.fromEntries(Object.entries(by).map(([c, cs]) => [c, bm25Index(cs)]));
      scorer = (q) => idx[q.corpus](q.question);
    } else {
      scorer = (q, chunks) => { const qv = vecs.get(q.question); return chunks.map((c) => { const v = vecs.get(c.text); let d = 0; for (let i = 0; i < qv.length; i++) d += qv[i] * v[i]; return d; }); };
    }
    results[r].push(summary(evaluate(by, scorer), s, by));
  }
}

// ---- report: one Markdown table per retriever ----
const f3 = (x) => x[0].toFixed(3);
for (const [r, rows] of Object.entries(results)) {
  console.log(`\n### Retriever: ${r} (k = ${args.k}; budget = ${args.budget} tokens; ${questions.length} questions)\n`);
  const cs = Object.keys(corpora);
  console.log(`| setting | chunks | mean tokens | recall@${args.k} | IoU@${args.k} | precision@${args.k} | recall@k* | IoU@k* | recall@budget | IoU@budget | ${cs.map((c) => `recall@budget ${c}`).join(' | ')} |`);
  console.log(`|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|${cs.map(() => '---:').join('|')}|`);
  for (const x of rows) {
    const o = x.overall;
    console.log(`| ${x.setting} | ${x.chunks} | ${x.mean_tokens.toFixed(0)} | ${f3(o.k5_recall)} | ${f3(o.k5_iou)} | ${f3(o.k5_precision)} | ${f3(o.kstar_recall)} | ${f3(o.kstar_iou)} | ${f3(o.budget_recall)} | ${f3(o.budget_iou)} | ${cs.map((c) => f3(x[c].budget_recall)).join(' | ')} |`);
  }
}
if (args.json) writeFileSync(args.json, JSON.stringify({ budget: args.budget, k: args.k, questions: questions.length, results }, null, 1));
