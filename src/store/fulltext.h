/* The full-text side of the corpus (issue 11): a tsvector per chunk built
 * from its heading path (weight A), its chunk summary (weight B) and its
 * text, kept by PostgreSQL as a STORED generated column, so it is written in
 * the chunk's own transaction with no change to the COPY or INSERT paths,
 * and a GIN index over it.  The text search configuration is recorded in
 * docpipe.settings (key text_config) for docpipe-query. */
#ifndef STORE_FULLTEXT_H
#define STORE_FULLTEXT_H

#include <libpq-fe.h>

#include "err.h"

#define STORE_TEXT_CONFIG_DEFAULT "english"

/* Asks for text search configuration name (borrowed, must outlive the
 * store; NULL: keep the recorded one, english for a new corpus) at the next
 * store_fulltext_ensure.  Set by main from --text-config. */
void store_fulltext_request(const char *name);

/* Inside the caller's transaction (which holds the schema lock, after
 * docpipe.chunks exists): adds the tsvector column and its GIN index when
 * missing (an existing table is migrated in place: one rewrite), rebuilds
 * them when another configuration was requested, and records the
 * configuration.  Returns 0, or -1 with err (an unknown configuration
 * included). */
int store_fulltext_ensure(PGconn *db, dp_err *err);

#endif
