-- docpipe's schema and data as commit 5f9ece0 made them (pg_dump
-- --schema=docpipe, trimmed): its docpipe-store over a.md, b.md and bad.md
-- (not UTF-8: failed) with run old-run-1, then its docpipe-status
-- --record-run with that run's report.  Outcomes are in docpipe.outcomes
-- (one row per document, bad.md failed), docpipe.runs has no column
-- planned and started_at NOT NULL DEFAULT now().
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
    page_end integer
);

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
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE SEQUENCE docpipe.documents_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE docpipe.documents_id_seq OWNED BY docpipe.documents.id;

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

ALTER TABLE ONLY docpipe.documents ALTER COLUMN id SET DEFAULT nextval('docpipe.documents_id_seq'::regclass);

COPY docpipe.chunks (document_id, seq, content, heading, tokens, summary, embedding, byte_start, byte_end, line_start, line_end, page_start, page_end) FROM stdin;
1	0	# Alpha\n\nThe alpha document talks about cats and dogs.	{Alpha}	14	\N	{0,0,-0.05695071,0,0,0.05695071,0,0,0,0,0,0,0,0,0,0,0,0,-0.05695071,0,0,0,0,0,0,0,0,0,0,0,0.22780284,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.15946199,0,0,0,0,0,0.05695071,0.05695071,0.05695071,0,0,0,0,0,0,0,0.4556057,0,0,-0.2164127,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,-0.15946199,0,0,0,0,0,0,0,0,-0.05695071,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,-0.22780284,0,0,0,0,0,0,-0.05695071,0,0,-0.05695071,0,0,0,0,0,0,0,0,0.15946199,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,-0.11390142,0,0,0,0,0,0,0,0,0,0,0,0,0,-0.11390142,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,-0.05695071,0,0,0,0,0,0,0,0,0,0,0,0,0.15946199,0,0,0,0,0,0,0.05695071,0,0,0,0,0,0,0,0,0.28475356,0,0,0,0,0,0,0,0,0,0,0.05695071,0,0,0,0,0,0,-0.05695071,0,0,0,0,0,0,-0.11390142,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.05695071,0,0,0,0,-0.11390142,0,0,0,0,0,0.22780284,0,0,0,0,0,0.05695071,0,0,0,0,-0.22780284,0.05695071,0.22780284,0,-0.05695071,0.05695071,0,0,0,0,0,0,0.15946199,0,0,0,0.05695071,0.05695071,0,0.11390142,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,-0.05695071,0,0,0.05695071,0,0,0,0,0,0,-0.05695071,0.11390142,0,0,0,0,0,0,-0.22780284,0,0,0.15946199,0,0.05695071,0,0,0,0,0,0,0.11390142,0,0,0,0,-0.05695071,0,0,0,0,-0.05695071,-0.15946199,0,0,0,0}	\N	\N	\N	\N	\N	\N
1	1	## Second\n\nMore text about birds.	{Alpha,Second}	9	\N	{0,0,0,0,0,0,0,0,0,0,0,0,0.24246286,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.34637552,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,-0.08659388,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.08659388,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,-0.08659388,0,0,0,0,0,-0.08659388,-0.34637552,0,0,0,0,0,0,0,0,0,0,0,0,-0.08659388,-0.24246286,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.08659388,0,0,0,0,0,0,0,0.08659388,0,0,0,0,0,0.34637552,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,-0.08659388,0,0.08659388,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,-0.08659388,0,0,0,0,0,0,0,0,0,0,0,0.08659388,0,0,0,-0.08659388,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.24246286,0,0,0,0,0,0.34637552,0,0,0,0,0,0,0,0,0,0,0,0,0,0.08659388,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.08659388,0,0,0,0,0,0,0,0,0,0,0,0.34637552,0,0,0,0.08659388,0,0,0,0,0,0.08659388,0,0.08659388,-0.08659388,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.08659388,0.08659388,0,0.24246286,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.08659388,0,0,0,0,0,-0.08659388,0,0,0,0,0}	\N	\N	\N	\N	\N	\N
2	0	# Beta\n\nBeta is about trains and rivers.	{Beta}	10	\N	{0,0,0,0,0,0,0,0,0,0.13215218,0,0,0,0,0.18501306,0,0,0,0,0,0,0,0.06607609,-0.13215218,0,0,0,0,0,0,0.26430437,0,0,0.06607609,0,-0.06607609,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,-0.06607609,0,0,0,0,0,0,-0.06607609,0,0,0,0,0,0,0.06607609,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,-0.06607609,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,-0.06607609,0,0,0,0,0,0,0,0,0.52860874,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.18501306,0,0,0,0,0,0,0,0,0,0,0,-0.18501306,0,0,0,0,0,0,0.18501306,0,0,0,0,0,0,0,0,0,-0.26430437,0,0,0,0,0,-0.06607609,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.26430437,0,0,0,-0.18501306,0,0,0,0,0,0,0,0,0,0,0,0,0.06607609,0.06607609,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.26430437,0.06607609,0,0,0,0,-0.26430437,0,0,0,-0.06607609,0,0,0,0,-0.06607609,0,0,0,0,0,0,0,0.06607609,0,0.06607609,0,0,0,0,0,0,0,0,0.06607609,0,0,0,0,0,0,-0.06607609,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.06607609,0,0,-0.13215218,0,0,0,0,0,0,0,0,0,0,0,-0.13215218,0,0,0,0,0,0,0.18501306,0,-0.06607609,-0.06607609,0,0,0,-0.06607609,0}	\N	\N	\N	\N	\N	\N
\.

COPY docpipe.documents (id, path, root, content_hash, fingerprint, summary, summarizer, chunker, embedder, dim, chunk_count, size, mtime, metadata, last_run, created_at, updated_at) FROM stdin;
1	/old/notes/a.md	/old/notes	4aa0c821a2f0a88442c7e2c143b65f9c	9fc143b0f6b4e1bbaf782bd633fc7418	\N	\N	md4c-v1 max=512 overlap=64	local/fh-v1	384	2	90	2026-12-03 02:16:16.99098+00	\N	old-run-1	2026-12-03 02:16:23.079059+00	2026-12-03 02:16:23.079059+00
2	/old/notes/b.md	/old/notes	04153aec83e8e362715f8cff80692723	9fc143b0f6b4e1bbaf782bd633fc7418	\N	\N	md4c-v1 max=512 overlap=64	local/fh-v1	384	1	41	2026-12-03 02:16:16.99498+00	\N	old-run-1	2026-12-03 02:16:23.079059+00	2026-12-03 02:16:23.079059+00
\.

COPY docpipe.outcomes (path, root, run, status, stage, error, failed_since, updated_at) FROM stdin;
/old/notes/a.md	/old/notes	old-run-1	stored	\N	\N	\N	2026-12-03 02:16:23.084978+00
/old/notes/b.md	/old/notes	old-run-1	stored	\N	\N	\N	2026-12-03 02:16:23.084978+00
/old/notes/bad.md	/old/notes	old-run-1	failed	chunk	invalid UTF-8 at byte 4	2026-12-03 02:16:23.084978+00	2026-12-03 02:16:23.084978+00
\.

COPY docpipe.runs (id, started_at, ended_at, complete, documents, added, updated, unchanged, deleted, failed, resent, requests, tokens, retries, seconds) FROM stdin;
old-run-1	2026-12-03 02:16:21.663288+00	2026-12-03 02:16:23.163288+00	t	3	2	0	0	0	1	\N	0	0	\N	1.5
\.

COPY docpipe.settings (key, value) FROM stdin;
vector_type	real[]
embedder	local/fh-v1
dim	384
\.

SELECT pg_catalog.setval('docpipe.documents_id_seq', 2, true);

ALTER TABLE ONLY docpipe.chunks
    ADD CONSTRAINT chunks_pkey PRIMARY KEY (document_id, seq);

ALTER TABLE ONLY docpipe.documents
    ADD CONSTRAINT documents_path_key UNIQUE (path);

ALTER TABLE ONLY docpipe.documents
    ADD CONSTRAINT documents_pkey PRIMARY KEY (id);

ALTER TABLE ONLY docpipe.outcomes
    ADD CONSTRAINT outcomes_pkey PRIMARY KEY (path);

ALTER TABLE ONLY docpipe.runs
    ADD CONSTRAINT runs_pkey PRIMARY KEY (id);

ALTER TABLE ONLY docpipe.settings
    ADD CONSTRAINT settings_pkey PRIMARY KEY (key);

CREATE INDEX documents_root ON docpipe.documents USING btree (root);

CREATE INDEX outcomes_failed ON docpipe.outcomes USING btree (failed_since) WHERE (status = 'failed'::text);

CREATE INDEX runs_started ON docpipe.runs USING btree (started_at);

ALTER TABLE ONLY docpipe.chunks
    ADD CONSTRAINT chunks_document_id_fkey FOREIGN KEY (document_id) REFERENCES docpipe.documents(id) ON DELETE CASCADE;

