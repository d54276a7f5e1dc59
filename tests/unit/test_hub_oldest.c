/* The oldest document in flight, as the hub's progress names it
 * (src/hub/hub.c): found without a scan of the window (hub_window_oldest),
 * named only when notably older than the run's documents take
 * (hub_delay_unusual), its text bounded (hub_oldest_text). */
#include <string.h>

#include "../../src/hub/hub.h"
#include "record.h"
#include "t.h"

static jv doc(const char *path)
{
	return jv_object_set(jv_object(), jv_string("path"), jv_string(path));
}

static long oldest_seq(hub_window *w)
{
	hub_slot *s = hub_window_oldest(w);

	return s != NULL ? s->seq : -1;
}

static void window(void)
{
	hub_window w;

	hub_window_init(&w, 4, 0, 0);
	T_EQ_INT(oldest_seq(&w), -1, "an empty window has none");
	for (long seq = 0; seq < 4; seq++)
		hub_window_add(&w, seq, doc("/d"));
	T_EQ_INT(oldest_seq(&w), 0, "the lowest seq in flight");
	hub_window_release(&w, hub_window_find(&w, 1));
	T_EQ_INT(oldest_seq(&w), 0, "a later receipt does not move it");
	hub_window_release(&w, hub_window_find(&w, 0));
	T_EQ_INT(oldest_seq(&w), 2, "its receipt moves it past every seq gone");
	T_EQ_INT(w.low, 2, "... and the cursor stays there (each seq passed once)");
	hub_window_add(&w, 4, doc("/d"));
	hub_window_add(&w, 5, doc("/d"));
	hub_window_release(&w, hub_window_find(&w, 2));
	hub_window_release(&w, hub_window_find(&w, 3));
	T_EQ_INT(oldest_seq(&w), 4, "later seqs: the lowest of them");
	hub_window_release(&w, hub_window_find(&w, 4));
	hub_window_release(&w, hub_window_find(&w, 5));
	T_EQ_INT(oldest_seq(&w), -1, "none once every one has its receipt");
	T_EQ_INT(w.low, 6, "the cursor at the next seq");
	hub_window_free(&w);
}

static void unusual(void)
{
	hub_delay d = {0};

	T_OK(hub_delay_unusual(&d) == HUB_OLDEST_FIRST_S, "no document back yet: HUB_OLDEST_FIRST_S");
	hub_delay_sample(&d, 0.2);
	T_OK(hub_delay_unusual(&d) == HUB_OLDEST_MIN_S, "quick documents: at least HUB_OLDEST_MIN_S");
	for (int i = 0; i < 200; i++)
		hub_delay_sample(&d, 20);
	T_OK(hub_delay_unusual(&d) > 39.9 && hub_delay_unusual(&d) <= 40.0001,
	     "steady ones (no spread): twice their time");
	hub_delay_sample(&d, 60);
	T_OK(hub_delay_unusual(&d) > d.srtt + 4 * d.rttvar - 1e-9 &&
		     hub_delay_unusual(&d) > 2 * d.srtt,
	     "spread ones: SRTT + 4 RTTVAR when that is longer");
}

static void text(void)
{
	char buf[HUB_NAME_MAX + 112], longpath[300];

	hub_oldest_text(buf, sizeof buf, "docs/manual.pdf", 95.2, 2, -1, 0);
	T_EQ_STR(buf, "docs/manual.pdf, 95 s (sent 2 times)", "path, age, sends; no stage known");
	hub_oldest_text(buf, sizeof buf, "a.md", 6, 1, 1, 0.5);
	T_EQ_STR(buf, "a.md, 6 s (sent once), at summarize", "a stage that holds it now");
	hub_oldest_text(buf, sizeof buf, "a.md", 60, 3, 0, 40);
	T_EQ_STR(buf, "a.md, 60 s (sent 3 times), last at chunk 40 s ago", "a stage that held it before");
	memset(longpath, 'x', sizeof longpath - 1);
	longpath[sizeof longpath - 1] = '\0';
	memcpy(longpath + sizeof longpath - 9, "/last.md", 8);
	hub_oldest_text(buf, sizeof buf, longpath, 6, 1, -1, 0);
	T_EQ_INT(strlen(buf), HUB_NAME_MAX + strlen(", 6 s (sent once)"), "a long path: HUB_NAME_MAX bytes of it");
	T_OK(strncmp(buf, "...xxx", 6) == 0 && strstr(buf, "xx/last.md, 6 s") != NULL, "... its end, after \"...\"");
	/* "é" is 2 bytes: a cut in its middle moves to the next character. */
	char utf[80] = "";
	for (int i = 0; i < 30; i++)
		strcat(utf, "\xC3\xA9");
	hub_oldest_text(buf, sizeof buf, utf, 6, 1, -1, 0);
	T_OK(strncmp(buf, "...\xC3\xA9", 5) == 0 && strlen(buf) - strlen(", 6 s (sent once)") == 3 + 44,
	     "cut at a UTF-8 character's start");
	hub_oldest_text(buf, sizeof buf, "a\n\033[2Jb.md", 6, 1, -1, 0);
	T_EQ_STR(buf, "a??[2Jb.md, 6 s (sent once)", "control characters as '?'");
	hub_oldest_text(buf, sizeof buf, NULL, 6, 1, -1, 0);
	T_EQ_STR(buf, ", 6 s (sent once)", "no path");
	char small[20];
	hub_oldest_text(small, sizeof small, "docs/manual.pdf", 95, 2, 1, 0);
	T_EQ_STR(small, "docs/manual.pdf, 95", "a small buffer: cut, terminated");
}

int main(void)
{
	window();
	unusual();
	text();
	return t_done();
}
