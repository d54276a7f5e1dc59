-- 5f9ece0.sql's database after docpipe-store of commit 612a486 stored run
-- mid-run-3 into it (pg_dump --schema=docpipe, trimmed): bad.md fixed,
-- bad2.md failed, b.md deleted by a record of seq 99.  That store kept its
-- failures in docpipe.failures (bad2.md) and left docpipe.outcomes as it
-- was, stale (it still says bad.md failed); docpipe.runs still has no
-- column planned; docpipe.tombstones has run NOT NULL and no stream;
-- docpipe.documents has last_seq but no last_stream or last_seen.
CREATE SCHEMA docpipe;

CREATE TABLE docpipe.chunks (
    document_id bigint NOT NULL,
    seq integer NOT NULL,
    content text NOT NULL,
    heading text[],
    tokens integer,
    summary text,
    embedding real[],
    byte_start bigint,
    byte_end bigint,
    line_start integer,
    line_end integer,
    page_start integer,
    page_end integer,
    tsv tsvector
);
ALTER TABLE ONLY docpipe.chunks ALTER COLUMN content SET COMPRESSION lz4;
ALTER TABLE ONLY docpipe.chunks ALTER COLUMN embedding SET STORAGE EXTERNAL;
ALTER TABLE ONLY docpipe.chunks ALTER COLUMN tsv SET COMPRESSION lz4;

CREATE TABLE docpipe.documents (
    id bigint NOT NULL,
    path text NOT NULL,
    root text,
    content_hash text,
    fingerprint text,
    summary text,
    summarizer text,
    chunker text,
    embedder text,
    dim integer,
    chunk_count integer,
    size bigint,
    mtime timestamp with time zone,
    metadata jsonb,
    last_run text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    last_seq bigint
);

CREATE SEQUENCE docpipe.documents_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE docpipe.documents_id_seq OWNED BY docpipe.documents.id;

CREATE TABLE docpipe.failures (
    path text NOT NULL,
    root text,
    run text,
    stage text NOT NULL,
    error text NOT NULL,
    failed_since timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE docpipe.outcomes (
    path text NOT NULL,
    root text,
    run text,
    status text NOT NULL,
    stage text,
    error text,
    failed_since timestamp with time zone,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE docpipe.runs (
    id text NOT NULL,
    started_at timestamp with time zone DEFAULT now() NOT NULL,
    ended_at timestamp with time zone,
    complete boolean,
    documents bigint,
    added bigint,
    updated bigint,
    unchanged bigint,
    deleted bigint,
    failed bigint,
    resent bigint,
    requests bigint,
    tokens bigint,
    retries bigint,
    seconds double precision
);

CREATE TABLE docpipe.settings (
    key text NOT NULL,
    value text NOT NULL
);

CREATE TABLE docpipe.tombstones (
    path text NOT NULL,
    run text NOT NULL,
    seq bigint NOT NULL
);

ALTER TABLE ONLY docpipe.documents ALTER COLUMN id SET DEFAULT nextval('docpipe.documents_id_seq'::regclass);

COPY docpipe.chunks (document_id, seq, content, heading, tokens, summary, embedding, byte_start, byte_end, line_start, line_end, page_start, page_end, tsv) FROM stdin;
1	0	# Alpha\n\nThe alpha document talks about cats and dogs.\n\n## Second\n\nMore text about birds.	{Alpha}	23	\N	{0,0,-0.044850715,0,0,0.044850715,0,0,0,0,0,0,0.125582,0,0,0,0,0,-0.044850715,0,0,0,0,0,0,0,0,0,0,0,0.35880572,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.125582,0,0,0,0,0,0.044850715,0.044850715,0,0,0,0,0,0,0,0,0.35880572,0,0,-0.17043272,0,0,0,0,0,0.044850715,0,0,0,0,0,0,0,0,0,0,0,0,-0.125582,0,0,0,0,0,0,0,0,-0.08970143,0,0,0,0,0,-0.044850715,-0.17940286,0,0,0,0,0,0,0,0,-0.17940286,0,0,0,-0.044850715,-0.125582,0,-0.044850715,0,0,-0.044850715,0,0,0,0,0,0,0,0,0.125582,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,-0.08970143,0,0,0,0,0,0,0,0,0,0,0.044850715,0,0,-0.08970143,0,0,0,0,0.044850715,0,0,0,0,0,0.17940286,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,-0.044850715,0,0.044850715,0,0,-0.044850715,0,0,0,0,0,0,0,0,0,0,0,0,0.125582,0,0,0,0,0,-0.044850715,0.044850715,0,0,0,0,-0.125582,0,0,0,0.22425357,0,0.044850715,0,0,0,-0.044850715,0,0,0,0,0.044850715,0,0,0,0,0,0,-0.044850715,0,0,0,0.125582,0,0,-0.08970143,0,0,0.17940286,0,0,0,0,0,0,0,0,0,0,0,0,0,0.08970143,0,0,0,0,-0.08970143,0,0,0,0,0,0.17940286,0,0,0,0,0,0.08970143,0,0,0,0,-0.17940286,0.044850715,0.17940286,0,-0.044850715,0.044850715,0,0.17940286,0,0,0,0.044850715,0.125582,0,0,0,0.044850715,0.08970143,0,0.13455215,-0.044850715,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.044850715,0,0.17043272,0,0,0,0,0,0,-0.044850715,0.08970143,0,0,0,0,0,0,-0.17940286,0,0,0.125582,0,0.044850715,0,0,0,0,0,0,0.08970143,0,0,0,0.044850715,-0.044850715,0,0,0,0,-0.08970143,-0.125582,0,0,0,0}	0	89	1	7	\N	\N	'alpha':1A,2,4 'bird':15 'cat':8 'document':5 'dog':10 'second':11 'talk':6 'text':13
5	0	# Bad\n\nfixed now	{Bad}	4	\N	{0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,-0.11571718,0,0,0,0,0,0,0,0,0,0.46286872,-0.11571718,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,-0.3240081,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.46286872,-0.11571718,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.11571718,0,0,0,0.11571718,0,0,0.11571718,0,0,0,0,0,0,0,0,0,0,0,0,-0.11571718,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,-0.11571718,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.11571718,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.11571718,0,0,0,0,0,0,0,0,0.3240081,0,0,0,0,0,0,0,0,0,0.11571718,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,-0.46286872,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0}	0	16	1	3	\N	\N	'bad':1A,2B,3 'fix':4
\.

COPY docpipe.documents (id, path, root, content_hash, fingerprint, summary, summarizer, chunker, embedder, dim, chunk_count, size, mtime, metadata, last_run, created_at, updated_at, last_seq) FROM stdin;
1	/old/notes/a.md	/old/notes	4aa0c821a2f0a88442c7e2c143b65f9c	2b9f2e5ed992ed53320a9e8c7998db1b	\N	\N	md4c-v2 max=512 overlap=0 min=64	local/fh-v1	384	1	90	2026-12-03 02:16:16.99098+00	\N	mid-run-3	2026-12-03 02:16:23.079059+00	2026-12-03 02:18:53.316095+00	1
5	/old/notes/bad.md	/old/notes	e5d0e9862a2c472e046e768688ca9e49	2b9f2e5ed992ed53320a9e8c7998db1b	\N	\N	md4c-v2 max=512 overlap=0 min=64	local/fh-v1	384	1	17	2026-12-03 02:18:53.02698+00	\N	mid-run-3	2026-12-03 02:18:53.316095+00	2026-12-03 02:18:53.316095+00	3
\.

COPY docpipe.failures (path, root, run, stage, error, failed_since, updated_at) FROM stdin;
/old/notes/bad2.md	/old/notes	mid-run-3	chunk	invalid UTF-8 at byte 2	2026-12-03 02:18:53.321459+00	2026-12-03 02:18:53.321459+00
\.

COPY docpipe.outcomes (path, root, run, status, stage, error, failed_since, updated_at) FROM stdin;
/old/notes/a.md	/old/notes	old-run-1	stored	\N	\N	\N	2026-12-03 02:16:23.084978+00
/old/notes/b.md	/old/notes	old-run-1	stored	\N	\N	\N	2026-12-03 02:16:23.084978+00
/old/notes/bad.md	/old/notes	old-run-1	failed	chunk	invalid UTF-8 at byte 4	2026-12-03 02:16:23.084978+00	2026-12-03 02:16:23.084978+00
\.

COPY docpipe.runs (id, started_at, ended_at, complete, documents, added, updated, unchanged, deleted, failed, resent, requests, tokens, retries, seconds) FROM stdin;
old-run-1	2026-12-03 02:16:21.663288+00	2026-12-03 02:16:23.163288+00	t	3	2	0	0	0	1	\N	0	0	\N	1.5
mid-run-3	2026-12-03 02:18:53.321459+00	\N	\N	\N	\N	\N	\N	\N	\N	\N	\N	\N	\N	\N
\.

COPY docpipe.settings (key, value) FROM stdin;
vector_type	real[]
embedder	local/fh-v1
dim	384
text_config	english
text_lexer	docpipe-v3
\.

COPY docpipe.tombstones (path, run, seq) FROM stdin;
/old/notes/b.md	mid-run-3	99
\.

SELECT pg_catalog.setval('docpipe.documents_id_seq', 5, true);

ALTER TABLE ONLY docpipe.chunks
    ADD CONSTRAINT chunks_pkey PRIMARY KEY (document_id, seq);

ALTER TABLE ONLY docpipe.documents
    ADD CONSTRAINT documents_path_key UNIQUE (path);

ALTER TABLE ONLY docpipe.documents
    ADD CONSTRAINT documents_pkey PRIMARY KEY (id);

ALTER TABLE ONLY docpipe.failures
    ADD CONSTRAINT failures_pkey PRIMARY KEY (path);

ALTER TABLE ONLY docpipe.outcomes
    ADD CONSTRAINT outcomes_pkey PRIMARY KEY (path);

ALTER TABLE ONLY docpipe.runs
    ADD CONSTRAINT runs_pkey PRIMARY KEY (id);

ALTER TABLE ONLY docpipe.settings
    ADD CONSTRAINT settings_pkey PRIMARY KEY (key);

ALTER TABLE ONLY docpipe.tombstones
    ADD CONSTRAINT tombstones_pkey PRIMARY KEY (path);

CREATE INDEX chunks_tsv ON docpipe.chunks USING gin (tsv);

CREATE INDEX documents_root ON docpipe.documents USING btree (root);

CREATE INDEX outcomes_failed ON docpipe.outcomes USING btree (failed_since) WHERE (status = 'failed'::text);

CREATE INDEX runs_started ON docpipe.runs USING btree (started_at);

ALTER TABLE ONLY docpipe.chunks
    ADD CONSTRAINT chunks_document_id_fkey FOREIGN KEY (document_id) REFERENCES docpipe.documents(id) ON DELETE CASCADE;

