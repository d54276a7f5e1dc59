#include "join.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "zmqsock.h"

/* Where the merged text goes: counted only while p is NULL (the first
 * pass, which sizes the buffer), written at p + len otherwise. */
struct out {
	char *p;
	size_t len;
	/* With release set (the writing pass of texts their caller owns
	 * alone), the pages of base and other before what is still to be
	 * read, up to base_done and other_done (page-aligned offsets). */
	int release;
	size_t base_done, other_done;
};

static void put(struct out *w, const char *s, size_t n)
{
	if (w->p != NULL)
		memcpy(w->p + w->len, s, n);
	w->len += n;
}

/* A member "key":value, after a comma unless *first. */
static void put_member(struct out *w, dp_jspan key, dp_jspan val, int *first)
{
	if (!*first)
		put(w, ",", 1);
	*first = 0;
	put(w, key.p, key.n);
	put(w, ":", 1);
	put(w, val.p, val.n);
}

/* The keys of base's members held to look other's up; an object with
 * more (none the stages write) is searched again for each of other's. */
#define KEYS_KEPT 32

/* Writes the members of object base but the one of key skip (p NULL:
 * none), then those of object other whose key base lacks (and not skip).
 * *first: nothing is written before them in their object.  0, or -1 when
 * the text is not valid JSON (checked before: cannot happen). */
static int put_union(struct out *w, dp_jspan base, dp_jspan other, dp_jspan skip, int *first)
{
	dp_jspan keys[KEYS_KEPT], k, v;
	size_t nkeys = 0;
	int more = 0, rc;
	dp_jscan it;

	if (dp_jscan_open(&it, base) < 0)
		return -1;
	while ((rc = dp_jscan_next(&it, &k, &v)) == 1) {
		if (skip.p != NULL && dp_jscan_key_eq(k, skip))
			continue;
		if (nkeys < KEYS_KEPT)
			keys[nkeys++] = k;
		else
			more = 1;
		put_member(w, k, v, first);
	}
	if (rc < 0 || dp_jscan_open(&it, other) < 0)
		return -1;
	while ((rc = dp_jscan_next(&it, &k, &v)) == 1) {
		if (skip.p != NULL && dp_jscan_key_eq(k, skip))
			continue;
		int has = 0;
		for (size_t i = 0; i < nkeys && !has; i++)
			has = dp_jscan_key_eq(keys[i], k);
		dp_jspan found;
		if (!has && more)
			has = dp_jscan_get(base, k, &found) == 1;
		if (!has)
			put_member(w, k, v, first);
	}
	return rc;
}

/* The value of member key of obj, or an absent span (p NULL). */
static dp_jspan member(dp_jspan obj, const char *key)
{
	dp_jspan v = {0};

	return dp_jscan_get(obj, dp_jspan_of(key), &v) == 1 ? v : (dp_jspan){0};
}

/* One pass of hub_join_merge into w.  0, or -1 with err. */
static int merge(struct out *w, dp_jspan base, dp_jspan other, dp_err *err)
{
	dp_jspan chunks = dp_jspan_of("\"chunks\""), bc = member(base, "\"chunks\""),
		 oc = member(other, "\"chunks\""), k, b, o;
	dp_jscan bi, oi;
	int first = 1;

	if (!dp_jscan_equal(member(base, "\"hash\""), member(other, "\"hash\"")) ||
	    !dp_jscan_equal(member(base, "\"chunker\""), member(other, "\"chunker\""))) {
		dp_err_set(err, "summarize and embed outputs are of different versions of the file");
		return -1;
	}
	if (bc.p == NULL || oc.p == NULL || dp_jscan_open(&bi, bc) < 0 || bi.close != ']' ||
	    dp_jscan_open(&oi, oc) < 0 || oi.close != ']') {
		dp_err_set(err, "summarize and embed disagree on the document's chunks");
		return -1;
	}
	put(w, "{", 1);
	if (put_union(w, base, other, chunks, &first) < 0)
		goto invalid;
	if (!first)
		put(w, ",", 1);
	put(w, "\"chunks\":[", 10);
	for (int i = 0;; i++) {
		int rb = dp_jscan_next(&bi, &k, &b), ro = dp_jscan_next(&oi, &k, &o);
		if (rb < 0 || ro < 0)
			goto invalid;
		if (rb == 0 && ro == 0)
			break;
		if (rb == 0 || ro == 0) {
			dp_err_set(err, "summarize and embed disagree on the document's chunks");
			return -1;
		}
		if (b.p[0] != '{' || o.p[0] != '{' ||
		    !dp_jscan_equal(member(b, "\"seq\""), member(o, "\"seq\""))) {
			dp_err_set(err, "summarize and embed disagree on chunk %d", i);
			return -1;
		}
		int f = 1;
		put(w, i > 0 ? ",{" : "{", i > 0 ? 2 : 1);
		if (put_union(w, b, o, (dp_jspan){0}, &f) < 0)
			goto invalid;
		put(w, "}", 1);
		if (w->release) {
			dp_jspan_give_back(base, (size_t)(b.p + b.n - base.p), &w->base_done);
			dp_jspan_give_back(other, (size_t)(o.p + o.n - other.p), &w->other_done);
		}
	}
	put(w, "]}", 2);
	return 0;
invalid:
	dp_err_set(err, "a branch output is not valid JSON");
	return -1;
}

int hub_join_merge(dp_jspan base, dp_jspan other, int owned, size_t max, char **text, size_t *len,
		   dp_err *err)
{
	struct out w = {0};

	if (merge(&w, base, other, err) < 0)
		return HUB_JOIN_DISAGREE;
	if (w.len > max) {
		dp_err_set(err, "the joined record: JSON text over %zu bytes", max);
		return HUB_JOIN_DISAGREE;
	}
	*len = w.len;
	if ((w.p = malloc(w.len)) == NULL) {
		dp_err_set(err, "out of memory for a joined record of %zu bytes", w.len);
		return HUB_JOIN_NOMEM;
	}
	w.len = 0;
	w.release = owned;
	merge(&w, base, other, err); /* as the first pass: it succeeds */
	*text = w.p;
	return 0;
}

/* *out: the error record of the document whose head is head (consumed),
 * for reason.  1, or -1 with err when memory runs out. */
static int error_out(jv head, const char *reason, zmq_msg_t *out, dp_err *err)
{
	jv text = dp_record_dump(dp_record_error(head, "hub", reason));
	size_t n = (size_t)jv_string_length_bytes(jv_copy(text));
	int rc = zmq_msg_init_size(out, n);

	if (rc == 0)
		memcpy(zmq_msg_data(out), jv_string_value(text), n);
	else
		dp_err_set(err, "out of memory for an error record");
	jv_free(text);
	return rc == 0 ? 1 : -1;
}

static dp_jspan text_of(zmq_msg_t *m)
{
	return (dp_jspan){zmq_msg_data(m), zmq_msg_size(m)};
}

int hub_join_take(hub_join *j, int from, jv head, zmq_msg_t *msg, size_t max, zmq_msg_t *out,
		  dp_err *err)
{
	const char *kind = dp_record_kind(head);

	if (j->done) {
		zmq_msg_close(msg);
		jv_free(head);
		return 0;
	}
	if (kind == NULL || strcmp(kind, DP_KIND_DOCUMENT) != 0) {
		hub_join_clear(j);
		j->done = 1;
		if (zmq_msg_size(msg) > max) {
			char reason[128];
			snprintf(reason, sizeof reason, "the joined record: JSON text over %zu bytes", max);
			zmq_msg_close(msg);
			return error_out(head, reason, out, err);
		}
		jv_free(head);
		zmq_msg_init(out);
		zmq_msg_move(out, msg); /* cannot fail on valid messages */
		zmq_msg_close(msg);
		return 1;
	}
	if (!j->holding || j->twin_from == from) {
		jv_free(head);
		hub_join_clear(j);
		zmq_msg_init(&j->twin);
		zmq_msg_move(&j->twin, msg);
		zmq_msg_close(msg);
		j->holding = 1;
		j->twin_from = from;
		return 0;
	}
	int summarize = from == HUB_BRANCH_SUMMARIZE;
	char *text;
	size_t len;
	/* Received messages: their data is theirs alone, read only here. */
	int rc = hub_join_merge(text_of(summarize ? msg : &j->twin), text_of(summarize ? &j->twin : msg), 1,
				max, &text, &len, err);

	/* Both outputs freed before the record goes: it is all the store needs. */
	zmq_msg_close(msg);
	hub_join_clear(j);
	j->done = 1;
	if (rc == 0 && dp_zmq_msg_own(out, text, len) != 0) {
		free(text);
		dp_err_set(err, "out of memory for a joined record of %zu bytes", len);
		rc = HUB_JOIN_NOMEM;
	}
	if (rc == HUB_JOIN_DISAGREE) {
		char reason[DP_ERR_MAX];
		snprintf(reason, sizeof reason, "%s", err->msg);
		return error_out(head, reason, out, err);
	}
	jv_free(head);
	return rc == 0 ? 1 : -1;
}

void hub_join_resent(hub_join *j)
{
	j->done = 0;
}

void hub_join_clear(hub_join *j)
{
	if (j->holding)
		zmq_msg_close(&j->twin);
	*j = (hub_join){0};
}
