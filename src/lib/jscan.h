/* JSON text read in place: the members of an object and the elements of
 * an array found as spans of the text, with its syntax checked, without
 * building jv values.
 *
 * Why: a parsed jv tree takes several times the memory of its text (a
 * 6.5 MB document record parses into some 12 MB), and a process that only
 * routes records or splices two of them (the hub's join) need not build
 * one: it reads the few small fields it needs and copies the rest as
 * text.  No allocation; nothing is decoded (a string's escapes stay
 * escapes: see dp_jscan_key_eq).  dp_jscan_parse is the other side: a
 * record that must be held as a jv, built in one pass. */
#ifndef DP_JSCAN_H
#define DP_JSCAN_H

#include <stddef.h>

#include <jv.h>

/* Nesting deeper than this is refused (jq 1.6's parser's limit: its stack
 * holds the open containers and the keys waiting for their values, so
 * objects nest half as deep). */
#define DP_JSCAN_DEPTH 256

/* A piece of the text: p[0..n). */
typedef struct dp_jspan {
	const char *p;
	size_t n;
} dp_jspan;

/* Skips the JSON value that starts at s[*at] (after any whitespace),
 * checking its syntax (RFC 8259, no raw control character in a string,
 * nested as deep as jq takes: DP_JSCAN_DEPTH), and sets *at just past it.  Returns 0,
 * or -1 when there is no valid value there (*at unspecified).  UTF-8 is
 * not checked: text.h's dp_utf8_invalid_at does that for a whole text. */
int dp_jscan_value(const char *s, size_t n, size_t *at);

/* The members of an object or the elements of an array. */
typedef struct dp_jscan {
	const char *s;
	size_t n, at;
	char close; /* '}' or ']' */
	int started;
} dp_jscan;

/* Starts on the value v (an object or an array, as dp_jscan_value
 * delimits it).  Returns 0, or -1 when v is neither. */
int dp_jscan_open(dp_jscan *it, dp_jspan v);

/* The next member: its key (the JSON string's text, quotes included; for
 * an array's element p is NULL) and its value.  Returns 1, 0 after the
 * last, -1 when the text is not valid JSON. */
int dp_jscan_next(dp_jscan *it, dp_jspan *key, dp_jspan *val);

/* The value of the member of object obj whose key is key (a JSON string's
 * text, quotes included; dp_jscan_key_eq compares).  Returns 1 and *val,
 * 0 when obj has none (or is no object), -1 when the text is invalid. */
int dp_jscan_get(dp_jspan obj, dp_jspan key, dp_jspan *val);

/* The members of object obj whose keys are keys[0..n) (JSON string texts,
 * quotes included) into vals[0..n) (p NULL: none), the last of a repeated
 * key as jq's parse keeps (dp_jscan_get stops at the first); all none
 * when obj is no object.  One pass over obj. */
void dp_jscan_members(dp_jspan obj, const char *const *keys, dp_jspan *vals, size_t n);

/* 1 when the JSON strings a and b (texts, quotes included) are the same
 * string: the same bytes, or, when either has an escape, the same once
 * decoded (jq's parse of both). */
int dp_jscan_key_eq(dp_jspan a, dp_jspan b);

/* 1 when the JSON values a and b are equal as jq's jv_equal says (the
 * same bytes, or else both parsed and compared: 1 and 1.0 are equal); an
 * absent value (p NULL) equals an absent one only. */
int dp_jscan_equal(dp_jspan a, dp_jspan b);

/* The span of the NUL-terminated literal JSON text lit. */
dp_jspan dp_jspan_of(const char *lit);

/* 1 when s[at..n) is JSON whitespace only (after a value: nothing more
 * follows it), else 0. */
int dp_jscan_blank(const char *s, size_t n, size_t at);

/* Gives the pages of text t before offset upto back to the system, from
 * *done on (0 at first; set to what is given back), a MiB or more at a
 * time (each call is a system call), for a reader that reads t once,
 * front to back, in memory it owns alone and reads no more behind it (a
 * received message, a line the source drops after it): what has been
 * read is not held beside what is made of it.  MADV_DONTNEED on whole
 * pages inside t only, never the allocator's header before it nor what
 * follows it: the block stays allocated and is freed as usual; a page
 * read again would read zeros.  The hub's join (two records merged) and
 * the store's text pass (store_doc_parse_text) give back this way. */
void dp_jspan_give_back(dp_jspan t, size_t upto, size_t *done);

/* The JSON value v (a span dp_jscan_next gave: checked, no whitespace)
 * into *out when it is a number: the double jq reads for it.  Returns 0,
 * or -1 when v is no number. */
int dp_jscan_number(dp_jspan v, double *out);

/* jq's jv_parse_sized(s, n): the same value (or the same error), owned.
 * Most text is read in one pass here: the same escapes, the same
 * replacement of bad UTF-8, the same numbers (strtod in the C locale and
 * jq's strtod both round correctly), the last of duplicate keys, jq's depth
 * limit.  Text that pass does not take (not RFC 8259 JSON, a lone
 * surrogate, a number of 64 characters or more) is parsed by jq.  Over
 * INT_MAX bytes: invalid, with a message.
 *
 * Why: jq's parser reads a character at a time through a token buffer;
 * every stage reads its input through this (record.h, dp_record_parse),
 * and the store's records carry a vector and a text for every chunk. */
jv dp_jscan_parse(const char *s, size_t n);

/* The reason of invalid, a failed dp_jscan_parse (consumed), as an owned
 * string: jq's message ("Unfinished JSON term at EOF at line 3, column
 * 5") without the tail jq 1.6 appends, " (while parsing '...')" with the
 * whole text in it (a notebook's lines, newlines and all, in a one-line
 * error; fault sweep 19); "not JSON" when it has no message. */
jv dp_jscan_error(jv invalid);

#endif
