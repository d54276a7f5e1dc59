-- docpipe's lexer against PostgreSQL's parser on what a store wrote: for
-- every chunk of docpipe.chunks, the stored tsv (docpipe-v1) beside the
-- tsvector PostgreSQL makes of the same heading, summary and text with the
-- recorded configuration.  Prints one line of shares, then (unless
-- psql's variable brief is set) the lexemes most often found by one side
-- only.  Used by bench/search/lexer-agree.sh and the store_lexer test.
--   psql -X -A -t -f bench/search/lexer-agree.sql
CREATE TEMP TABLE agree AS
SELECT c.tsv AS mine,
       setweight(to_tsvector(s.cfg, coalesce(array_to_string(c.heading, ' '), '')), 'A')
       || setweight(to_tsvector(s.cfg, coalesce(c.summary, '')), 'B')
       || to_tsvector(s.cfg, c.content) AS pg
FROM docpipe.chunks c,
     (SELECT value::regconfig AS cfg FROM docpipe.settings WHERE key = 'text_config') s;
CREATE TEMP TABLE lex AS
SELECT l, bool_or(side = 'mine') AS in_mine, bool_or(side = 'pg') AS in_pg, n
FROM (SELECT row_number() OVER () AS n, * FROM agree) a,
     LATERAL (SELECT 'mine' AS side, unnest(tsvector_to_array(a.mine)) AS l
              UNION ALL SELECT 'pg', unnest(tsvector_to_array(a.pg))) u
GROUP BY n, l;
-- lexemes: the share of (chunk, lexeme) pairs both sides have, of those
-- either has; words: the same for PostgreSQL's lexemes of letters only
-- (ordinary words, the stemmer's part) against docpipe's; tsvectors: the
-- share of chunks whose tsvectors are equal with positions and weights.
SELECT format('chunks %s lexemes %s words %s tsvectors %s',
  (SELECT count(*) FROM agree),
  round((SELECT avg((in_mine AND in_pg)::int) FROM lex), 4),
  round((SELECT avg((in_mine AND in_pg)::int) FROM lex WHERE l ~ '^[[:alpha:]]+$'), 4),
  round((SELECT avg((mine = pg)::int) FROM agree), 4));
\if :{?brief}
\else
SELECT format('only docpipe: %s', string_agg(format('%s (%s)', l, k), ', ' ORDER BY k DESC, l))
FROM (SELECT l, count(*) AS k FROM lex WHERE in_mine AND NOT in_pg GROUP BY l ORDER BY 2 DESC, 1 LIMIT 30) x;
SELECT format('only PostgreSQL: %s', string_agg(format('%s (%s)', l, k), ', ' ORDER BY k DESC, l))
FROM (SELECT l, count(*) AS k FROM lex WHERE in_pg AND NOT in_mine GROUP BY l ORDER BY 2 DESC, 1 LIMIT 30) x;
\endif
