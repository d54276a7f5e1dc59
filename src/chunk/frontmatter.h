/* Front matter: the YAML (---) or TOML (+++) block at the start of a
 * Markdown file that static-site tools (Hugo, Jekyll, Docusaurus, MkDocs,
 * Astro) read as the page's metadata.
 *
 * What is parsed, by a small hand-written parser (no library: only the
 * block's top-level scalars are wanted, and this takes microseconds):
 *  - YAML: top-level `key: value` lines.  Values: plain, 'single' and
 *    "double" quoted scalars; block scalars (| and >); flow lists
 *    [a, "b"] on one line; block lists of scalars (`- item` lines).  Plain
 *    scalars become JSON true/false (true, false), null (null, ~, empty)
 *    and numbers (decimal integers and floats that a double holds as
 *    written: not an integer past 2^53, not 1e999); anything else is a string
 *    (dates stay strings).  Nested mappings, flow mappings, anchors,
 *    aliases and tags are skipped, not refused.
 *  - TOML: top-level `key = value` lines before the first [table].
 *    Values: basic and literal strings (also multi-line), integers and
 *    floats (with _), booleans, dates/times (as strings), arrays of those
 *    (also over several lines).  Tables, dotted keys and inline tables
 *    are skipped.
 * A block without its closing line, or with a line that is none of the
 * above (say a YAML line without `key:`), is malformed. */
#ifndef DP_CHUNK_FRONTMATTER_H
#define DP_CHUNK_FRONTMATTER_H

#include <stddef.h>

#include <jv.h>

/* Front matter over this many bytes (its lines between the delimiters) is
 * not read: its fields, as jq values, take ~160 bytes each (a 15 MB block
 * of 1.2M keys: 240 MB), and no site's front matter comes near. */
#define FM_MAX_BYTES ((size_t)256 << 10)
#define FM_MAX_SAID "256 KiB"

/* Reads the front matter at the start of text[0..len) (valid UTF-8).
 * Returns the offset of the body: just after the closing line, or 0 when
 * there is no front matter or it is malformed.  *meta gets an object (owned
 * by the caller) of the fields parsed, empty unless the result is > 0.
 * *problem gets NULL, or a static message for the caller's warning: the
 * block is malformed (the result is 0: the block is kept as text), or over
 * FM_MAX_BYTES (the result is the body's offset; *meta is empty). */
size_t fm_parse(const char *text, size_t len, jv *meta, const char **problem);

#endif
