/* The hub's bookkeeping (src/hub/hub.c): endpoint layout, the window of
 * documents in flight, the outcome tally and the stage counters. */
#include <stddef.h>
#include <string.h>

#include "../../src/hub/hub.h"
#include "record.h"
#include "t.h"

static jv rec_of(const char *json)
{
	dp_err err;
	return dp_record_parse(json, strlen(json), &err);
}

static void test_endpoints(void)
{
	char buf[256], var[32];
	dp_err err;

	T_EQ_INT(hub_bind_endpoint("tcp://0.0.0.0:7870", 4, buf, sizeof buf, &err), 0, "tcp base");
	T_EQ_STR(buf, "@tcp://0.0.0.0:7874", "embed input is base + 4");
	hub_bind_endpoint("tcp://127.0.0.1:0", HUB_EP_STATS, buf, sizeof buf, &err);
	T_EQ_STR(buf, "@tcp://127.0.0.1:*", "port 0: any free port");
	hub_bind_endpoint("ipc:///run/dp", 3, buf, sizeof buf, &err);
	T_EQ_STR(buf, "@ipc:///run/dp/SUMMARIZE_OUT", "ipc: one socket file per edge");
	T_OK(hub_bind_endpoint("tcp://host", 0, buf, sizeof buf, &err) < 0, "no port refused");
	T_OK(hub_bind_endpoint("tcp://h:65530", 0, buf, sizeof buf, &err) < 0, "ports past 65535 refused");
	hub_endpoint_var(6, var, sizeof var);
	T_EQ_STR(var, "DP_STORE_IN", "variable names");
}

static void test_window(void)
{
	hub_window w;

	T_EQ_INT(hub_window_init(&w, 4, 0, 0), 0, "window");
	for (long seq = 0; seq < 4; seq++)
		hub_window_add(&w, seq, rec_of("{\"kind\":\"file\"}"));
	T_OK(!hub_window_has_room(&w), "full window takes nothing");
	hub_slot *s = hub_window_find(&w, 1);
	T_OK(s != NULL && s->seq == 1, "find by seq");
	hub_window_release(&w, s);
	T_OK(hub_window_find(&w, 1) == NULL, "a released seq is gone (duplicate receipts ignored)");
	T_OK(hub_window_has_room(&w), "a receipt frees a place");
	hub_window_add(&w, 4, rec_of("{\"kind\":\"file\"}"));
	T_OK(hub_window_find(&w, 1) == NULL, "an old seq does not match a reused slot");
	T_EQ_INT(w.used, 4, "four in flight");
	hub_window_free(&w);
}

/* A document that stays out (a huge one, a hung request) holds back no
 * other: 1,000 seqs pass it through a window of 4, each found by its seq,
 * and it is still found.  (Before, slots were seq mod the window: seq 4
 * waited for seq 0, and the hub, which reads its input in order, with it
 * every later document.) */
static void test_window_slow_document(void)
{
	hub_window w;
	int passed = 1;

	T_EQ_INT(hub_window_init(&w, 4, 0, 0), 0, "window");
	hub_window_add(&w, 0, rec_of("{\"kind\":\"file\"}"));
	for (long seq = 1; seq <= 1000 && passed; seq++) {
		passed = hub_window_has_room(&w);
		hub_window_add(&w, seq, rec_of("{\"kind\":\"file\"}"));
		hub_slot *s = hub_window_find(&w, seq);
		passed = passed && s != NULL && s->seq == seq;
		if (s != NULL)
			hub_window_release(&w, s);
	}
	T_OK(passed, "1,000 documents pass one that stays out");
	hub_slot *slow = hub_window_find(&w, 0);
	T_OK(slow != NULL && slow->seq == 0 && w.used == 1, "which is still found");
	T_OK(w.probe <= 1, "and no lookup went past the next slot");
	hub_window_free(&w);
}

/* --window-bytes: the files' sizes in flight bound what enters; one
 * document enters whatever its size. */
static void test_window_bytes(void)
{
	hub_window w;

	T_EQ_INT(hub_window_init(&w, 8, 100, 0), 0, "window of 100 bytes");
	hub_window_add(&w, 0, rec_of("{\"kind\":\"file\",\"size\":40}"));
	hub_window_add(&w, 1, rec_of("{\"kind\":\"file\",\"size\":20}"));
	T_OK(hub_window_has_room(&w), "the first 45 bytes (40 counted 25): room");
	hub_window_add(&w, 2, rec_of("{\"kind\":\"file\",\"size\":20}"));
	hub_window_add(&w, 3, rec_of("{\"kind\":\"file\",\"size\":15}"));
	T_OK(w.bytes == 80 && hub_window_has_room(&w), "a file counts a quarter of the bound at most");
	hub_window_add(&w, 4, rec_of("{\"kind\":\"file\",\"size\":20}"));
	T_OK(!hub_window_has_room(&w), "100 bytes: no room, though places are free");
	hub_window_release(&w, hub_window_find(&w, 1));
	T_OK(hub_window_has_room(&w), "a receipt gives its bytes back");
	hub_window_add(&w, 5, rec_of("{\"kind\":\"delete\",\"path\":\"x\"}"));
	T_OK(w.bytes == 80 && hub_window_has_room(&w), "a record without a size counts none");
	hub_window_free(&w);

	/* A file counts a quarter of the bound at most: four big ones go
	 * together (a PDF's file is much larger than its text). */
	T_EQ_INT(hub_window_init(&w, 8, 100, 0), 0, "window of 100 bytes");
	for (long seq = 0; seq < 4; seq++) {
		T_OK(hub_window_has_room(&w), "a big file enters while under the bound");
		hub_window_add(&w, seq, rec_of("{\"kind\":\"file\",\"size\":1000000}"));
	}
	T_OK(w.bytes == 100 && !hub_window_has_room(&w), "four big files fill it");
	hub_window_release(&w, hub_window_find(&w, 0));
	T_OK(w.bytes == 75 && hub_window_has_room(&w), "and one done makes room");
	hub_window_free(&w);
}

/* Overlap mode: a document counts its file times the twins' ratio to
 * their files (HUB_TWIN_RATIO_PRIOR at first) until its twin comes, then
 * its file and the twin's bytes, then its file alone once joined; the
 * twins taught the ratio, and every document is recounted by it. */
static void hold_twin(hub_window *w, hub_slot *s, size_t bytes)
{
	zmq_msg_init_size(&s->join.twin, bytes);
	s->join.holding = 1;
	hub_window_recount(w, s);
}

static void test_window_twins(void)
{
	hub_window w;
	const double mib = 1024.0 * 1024;

	T_EQ_INT(hub_window_init(&w, 64, 16 * mib, 1), 0, "window of 16 MiB, overlap");
	for (long seq = 0; seq < 3; seq++)
		hub_window_add(&w, seq, rec_of("{\"kind\":\"file\",\"size\":102400}"));
	T_OK(w.bytes == 3 * 102400 * HUB_TWIN_RATIO_PRIOR, "before any twin: each file x the prior ratio");
	hold_twin(&w, hub_window_find(&w, 0), 1126400);
	T_OK(w.ratio == HUB_TWIN_RATIO_PRIOR && w.bytes == 102400 + 1126400 + 2 * 102400 * w.ratio,
	     "a twin held counts its bytes; one twin moves the prior's ratio by under 10%");
	for (int k = 0; k < 20; k++) {
		long seq = 3 + k;
		hub_window_add(&w, seq, rec_of("{\"kind\":\"file\",\"size\":102400}"));
		hold_twin(&w, hub_window_find(&w, seq), 1126400);
	}
	T_OK(w.ratio > 9.7 && w.ratio <= 10.7, "twenty more: the ratio within 10% of theirs with the prior (10.7)");
	T_OK(w.bytes == 21 * (102400 + 1126400) + 2 * 102400 * w.ratio, "every document recounted by it");
	T_OK(!hub_window_has_room(&w), "23 such documents fill 16 MiB (files alone: 160 would enter)");
	hub_slot *s = hub_window_find(&w, 0);
	zmq_msg_close(&s->join.twin);
	s->join.holding = 0;
	s->join.done = 1;
	double before = w.bytes;
	hub_window_recount(&w, s);
	T_OK(before - w.bytes == 1126400, "a joined document counts its file alone");
	hub_window_free(&w);

	/* Without overlap no twin is held: a file counts itself. */
	T_EQ_INT(hub_window_init(&w, 8, 16 * mib, 0), 0, "window, no overlap");
	hub_window_add(&w, 0, rec_of("{\"kind\":\"file\",\"size\":102400}"));
	T_OK(w.bytes == 102400, "no overlap: the file's size");
	hub_window_free(&w);
}

static void test_tally(void)
{
	hub_tally t = {.failures = jv_array()};
	hub_stats s = {0};
	jv r;

	hub_tally_receipt(&t, r = rec_of("{\"kind\":\"receipt\",\"status\":\"stored\"}")), jv_free(r);
	hub_tally_receipt(&t, r = rec_of("{\"kind\":\"receipt\",\"status\":\"stored\",\"created\":false}")), jv_free(r);
	hub_tally_receipt(&t, r = rec_of("{\"kind\":\"receipt\",\"status\":\"unchanged\"}")), jv_free(r);
	hub_tally_receipt(&t, r = rec_of("{\"kind\":\"receipt\",\"status\":\"deleted\"}")), jv_free(r);
	hub_tally_receipt(&t, r = rec_of("{\"kind\":\"receipt\",\"status\":\"failed\",\"path\":\"/x\","
					 "\"stage\":\"chunk\",\"error\":\"bad\"}")), jv_free(r);
	hub_tally_lost(&t, r = rec_of("{\"kind\":\"file\",\"path\":\"/y\"}"), 4), jv_free(r);
	T_EQ_INT(t.added, 1, "added");
	T_EQ_INT(t.updated, 1, "updated");
	T_EQ_INT(t.unchanged, 1, "unchanged");
	T_EQ_INT(t.deleted, 1, "deleted");
	T_EQ_INT(t.failed, 2, "failed");
	T_EQ_INT(t.lost, 1, "lost: the document that got no receipt");

	hub_stats_update(&s, r = rec_of("{\"kind\":\"stats\",\"stage\":\"embed\",\"host\":\"a\",\"pid\":1,"
					"\"out\":5,\"requests\":2,\"tokens\":100}")), jv_free(r);
	hub_stats_update(&s, r = rec_of("{\"kind\":\"stats\",\"stage\":\"embed\",\"host\":\"a\",\"pid\":1,"
					"\"out\":7,\"requests\":3,\"tokens\":150}")), jv_free(r);
	hub_stats_update(&s, r = rec_of("{\"kind\":\"stats\",\"stage\":\"embed\",\"host\":\"b\",\"pid\":1,"
					"\"out\":1,\"requests\":1,\"tokens\":10}")), jv_free(r);
	T_EQ_INT(hub_stats_procs(&s, 2), 2, "two embed processes");
	T_EQ_INT(hub_stats_sum(&s, 2, offsetof(hub_proc, out)), 8, "latest counters summed");

	jv rep = hub_report(&t, &s, "R", 1.5, 1);
	T_EQ_INT(jv_number_value(jv_object_get(jv_copy(rep), jv_string("tokens"))), 160, "report tokens");
	jv f = jv_object_get(jv_copy(rep), jv_string("failures"));
	T_EQ_INT(jv_array_length(f), 2, "report lists failures");
	jv_free(rep);
	jv_free(t.failures);
}

int main(void)
{
	test_endpoints();
	test_window();
	test_window_slow_document();
	test_window_bytes();
	test_window_twins();
	test_tally();
	return t_done();
}
