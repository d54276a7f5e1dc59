-- docpipe's schema and data as docpipe-store of commit 0cd28be made them
-- (pg_dump --schema=docpipe, trimmed): chunks without provenance columns,
-- no full-text index, no runs or failures tables.  Made by that commit's
-- docpipe-discover | docpipe-chunk | docpipe-embed | docpipe-store over
-- a.md, b.md and bad.md (not UTF-8: failed, and 0cd28be kept no failures).
CREATE SCHEMA docpipe;

CREATE TABLE docpipe.chunks (
    document_id bigint NOT NULL,
    seq integer NOT NULL,
    content text NOT NULL,
    heading text[],
    tokens integer,
    summary text,
    embedding real[]
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

CREATE TABLE docpipe.settings (
    key text NOT NULL,
    value text NOT NULL
);

ALTER TABLE ONLY docpipe.documents ALTER COLUMN id SET DEFAULT nextval('docpipe.documents_id_seq'::regclass);

COPY docpipe.chunks (document_id, seq, content, heading, tokens, summary, embedding) FROM stdin;
1	0	# Alpha\n\nThe alpha document talks about cats and dogs.	{Alpha}	14	\N	{0,0,-0.05695071,0,0,0.05695071,0,0,0,0,0,0,0,0,0,0,0,0,-0.05695071,0,0,0,0,0,0,0,0,0,0,0,0.22780284,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.15946199,0,0,0,0,0,0.05695071,0.05695071,0.05695071,0,0,0,0,0,0,0,0.4556057,0,0,-0.2164127,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,-0.15946199,0,0,0,0,0,0,0,0,-0.05695071,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,-0.22780284,0,0,0,0,0,0,-0.05695071,0,0,-0.05695071,0,0,0,0,0,0,0,0,0.15946199,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,-0.11390142,0,0,0,0,0,0,0,0,0,0,0,0,0,-0.11390142,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,-0.05695071,0,0,0,0,0,0,0,0,0,0,0,0,0.15946199,0,0,0,0,0,0,0.05695071,0,0,0,0,0,0,0,0,0.28475356,0,0,0,0,0,0,0,0,0,0,0.05695071,0,0,0,0,0,0,-0.05695071,0,0,0,0,0,0,-0.11390142,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.05695071,0,0,0,0,-0.11390142,0,0,0,0,0,0.22780284,0,0,0,0,0,0.05695071,0,0,0,0,-0.22780284,0.05695071,0.22780284,0,-0.05695071,0.05695071,0,0,0,0,0,0,0.15946199,0,0,0,0.05695071,0.05695071,0,0.11390142,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,-0.05695071,0,0,0.05695071,0,0,0,0,0,0,-0.05695071,0.11390142,0,0,0,0,0,0,-0.22780284,0,0,0.15946199,0,0.05695071,0,0,0,0,0,0,0.11390142,0,0,0,0,-0.05695071,0,0,0,0,-0.05695071,-0.15946199,0,0,0,0}
1	1	## Second\n\nMore text about birds.	{Alpha,Second}	9	\N	{0,0,0,0,0,0,0,0,0,0,0,0,0.24246286,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.34637552,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,-0.08659388,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.08659388,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,-0.08659388,0,0,0,0,0,-0.08659388,-0.34637552,0,0,0,0,0,0,0,0,0,0,0,0,-0.08659388,-0.24246286,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.08659388,0,0,0,0,0,0,0,0.08659388,0,0,0,0,0,0.34637552,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,-0.08659388,0,0.08659388,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,-0.08659388,0,0,0,0,0,0,0,0,0,0,0,0.08659388,0,0,0,-0.08659388,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.24246286,0,0,0,0,0,0.34637552,0,0,0,0,0,0,0,0,0,0,0,0,0,0.08659388,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.08659388,0,0,0,0,0,0,0,0,0,0,0,0.34637552,0,0,0,0.08659388,0,0,0,0,0,0.08659388,0,0.08659388,-0.08659388,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.08659388,0.08659388,0,0.24246286,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.08659388,0,0,0,0,0,-0.08659388,0,0,0,0,0}
2	0	# Beta\n\nBeta is about trains and rivers.	{Beta}	10	\N	{0,0,0,0,0,0,0,0,0,0.13215218,0,0,0,0,0.18501306,0,0,0,0,0,0,0,0.06607609,-0.13215218,0,0,0,0,0,0,0.26430437,0,0,0.06607609,0,-0.06607609,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,-0.06607609,0,0,0,0,0,0,-0.06607609,0,0,0,0,0,0,0.06607609,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,-0.06607609,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,-0.06607609,0,0,0,0,0,0,0,0,0.52860874,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.18501306,0,0,0,0,0,0,0,0,0,0,0,-0.18501306,0,0,0,0,0,0,0.18501306,0,0,0,0,0,0,0,0,0,-0.26430437,0,0,0,0,0,-0.06607609,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.26430437,0,0,0,-0.18501306,0,0,0,0,0,0,0,0,0,0,0,0,0.06607609,0.06607609,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.26430437,0.06607609,0,0,0,0,-0.26430437,0,0,0,-0.06607609,0,0,0,0,-0.06607609,0,0,0,0,0,0,0,0.06607609,0,0.06607609,0,0,0,0,0,0,0,0,0.06607609,0,0,0,0,0,0,-0.06607609,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.06607609,0,0,-0.13215218,0,0,0,0,0,0,0,0,0,0,0,-0.13215218,0,0,0,0,0,0,0.18501306,0,-0.06607609,-0.06607609,0,0,0,-0.06607609,0}
\.

COPY docpipe.documents (id, path, root, content_hash, fingerprint, summary, summarizer, chunker, embedder, dim, chunk_count, size, mtime, metadata, last_run, created_at, updated_at) FROM stdin;
1	/old/notes/a.md	/old/notes	4aa0c821a2f0a88442c7e2c143b65f9c	12d0628f9b1caa7d074c2f248bf1bc04	\N	\N	md4c-v1 max=512 overlap=64	local/fh-v1	384	2	90	2026-12-03 02:16:16.99098+00	\N	\N	2026-12-03 02:16:17.126472+00	2026-12-03 02:16:17.126472+00
2	/old/notes/b.md	/old/notes	04153aec83e8e362715f8cff80692723	12d0628f9b1caa7d074c2f248bf1bc04	\N	\N	md4c-v1 max=512 overlap=64	local/fh-v1	384	1	41	2026-12-03 02:16:16.99498+00	\N	\N	2026-12-03 02:16:17.126472+00	2026-12-03 02:16:17.126472+00
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

ALTER TABLE ONLY docpipe.settings
    ADD CONSTRAINT settings_pkey PRIMARY KEY (key);

CREATE INDEX documents_root ON docpipe.documents USING btree (root);

ALTER TABLE ONLY docpipe.chunks
    ADD CONSTRAINT chunks_document_id_fkey FOREIGN KEY (document_id) REFERENCES docpipe.documents(id) ON DELETE CASCADE;

