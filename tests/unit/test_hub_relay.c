/* The run's messages above the hub's tty display (src/hub/relay.h): what
 * of the messages file is shown when (hub_relay_cut), and where showing
 * starts again, after the hub, for docpipe run (FILE.shown). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/hub/relay.h"
#include "t.h"

/* What hub_relay_cut shows of in (a string), into shown; its return. */
static size_t cut(const char *in, size_t n, int final, char *shown, size_t max)
{
	dp_buf out;
	dp_buf_init(&out, HUB_RELAY_READ_MAX * 2);
	size_t used = hub_relay_cut(in, n, final, &out);
	snprintf(shown, max, "%.*s", (int)out.len, out.data != NULL ? out.data : "");
	dp_buf_free(&out);
	return used;
}

static void lines(void)
{
	char shown[256];
	const char *in = "docpipe: a\ndocpipe-chunk: b\ndocpipe-st";

	T_EQ_INT(cut(in, strlen(in), 0, shown, sizeof shown), 28, "complete lines are shown");
	T_EQ_STR(shown, "docpipe: a\ndocpipe-chunk: b\n", "the unfinished one waits for its rest");
	T_EQ_INT(cut(in, strlen(in), 1, shown, sizeof shown), strlen(in), "final: all of it");
	T_EQ_STR(shown, "docpipe: a\ndocpipe-chunk: b\ndocpipe-st\n", "its last line ended by a newline");
	T_EQ_INT(cut("partial", 7, 0, shown, sizeof shown), 0, "nothing complete: nothing shown");
}

static void long_line(void)
{
	size_t n = 2 * HUB_RELAY_LINE_MAX + 10;
	char *in = malloc(n + 1);
	dp_buf out;

	memset(in, 'x', n);
	in[n - 1] = '\n';
	/* A 3-byte sequence across the first cut: the piece ends before it. */
	memcpy(in + HUB_RELAY_LINE_MAX - 1, "\xE2\x82\xAC", 3);
	dp_buf_init(&out, HUB_RELAY_READ_MAX * 2);
	T_EQ_INT(hub_relay_cut(in, n, 0, &out), n, "a long line is shown whole, in pieces");
	const char *mark = HUB_RELAY_MARK "\n";
	char *first = memmem(out.data, out.len, mark, strlen(mark));
	T_EQ_INT(first != NULL ? first - out.data : -1, HUB_RELAY_LINE_MAX - 1,
		 "cut before the UTF-8 sequence, marked");
	T_OK(first != NULL && memcmp(first + strlen(mark), "\xE2\x82\xAC", 3) == 0,
	     "the sequence begins the next piece");
	T_EQ_INT(out.len, n + 2 * (strlen(mark)), "two cuts, nothing lost");
	dp_buf_reset(&out);
	T_EQ_INT(hub_relay_cut(in, HUB_RELAY_LINE_MAX + 5, 0, &out), HUB_RELAY_LINE_MAX - 1,
		 "unfinished but over the bound: its first piece is shown");
	dp_buf_free(&out);
	free(in);
	/* Exactly HUB_RELAY_LINE_MAX bytes and their newline: whole, no mark. */
	n = HUB_RELAY_LINE_MAX + 1;
	in = malloc(n);
	memset(in, 'y', n - 1);
	in[n - 1] = '\n';
	dp_buf_init(&out, HUB_RELAY_READ_MAX * 2);
	T_EQ_INT(hub_relay_cut(in, n, 0, &out), n, "a line of the bound and its newline: shown");
	T_EQ_INT(out.len, n, "whole, not cut");
	free(in);
	/* Unfinished and exactly two bounds long, to the buffer's last byte
	 * (the read's end): nothing read past it (ASan), both pieces shown. */
	n = 2 * HUB_RELAY_LINE_MAX;
	in = malloc(n);
	memset(in, 'z', n);
	dp_buf_reset(&out);
	T_EQ_INT(hub_relay_cut(in, n, 0, &out), HUB_RELAY_LINE_MAX,
		 "an unfinished line of two bounds: the piece over the bound shown, the rest waits");
	dp_buf_reset(&out);
	T_EQ_INT(hub_relay_cut(in, n, 1, &out), n, "final: all of it");
	dp_buf_free(&out);
	free(in);
}

/* FILE.shown: a second reader (the supervisor's docpipe-hub --relay)
 * shows only what the first did not. */
static void resume(void)
{
	char dir[] = "/tmp/test_hub_relay.XXXXXX", path[128], shown_path[160];
	hub_relay r;
	dp_err err;

	if (mkdtemp(dir) == NULL) {
		T_OK(0, "a scratch directory");
		return;
	}
	snprintf(path, sizeof path, "%s/messages", dir);
	snprintf(shown_path, sizeof shown_path, "%s.shown", path);
	FILE *f = fopen(path, "w");
	fputs("one\ntwo\n", f);
	fflush(f);
	FILE *display = tmpfile();
	T_EQ_INT(hub_relay_open(&r, path, &err), 0, "opened");
	T_EQ_INT(hub_relay_show(&r, display, "<erase>", 0, &err), 1, "something shown");
	T_EQ_INT(hub_relay_show(&r, display, "<erase>", 0, &err), 0, "then nothing new");
	hub_relay_close(&r);
	fputs("three\nfour", f);
	fclose(f);
	T_EQ_INT(hub_relay_open(&r, path, &err), 0, "opened again");
	T_EQ_INT(hub_relay_show(&r, display, "", 1, &err), 1, "the rest shown");
	hub_relay_close(&r);
	char text[128] = "";
	rewind(display);
	text[fread(text, 1, sizeof text - 1, display)] = '\0';
	T_EQ_STR(text, "<erase>one\ntwo\nthree\nfour\n", "each line once, in order, erased before");
	/* Over FREE_STEP shown: given back to the file system (a hole), its
	 * size kept; what is not shown yet is still there. */
	f = fopen(path, "a");
	for (int i = 0; i < 80000; i++)
		fprintf(f, "docpipe-chunk: /srv/docs/file-%05d.md: kept as text\n", i);
	fputs("last\n", f);
	fclose(f);
	struct stat before, after;
	stat(path, &before);
	T_EQ_INT(hub_relay_open(&r, path, &err), 0, "opened for a long run");
	long shown_turns = 0;
	while (hub_relay_show(&r, display, "", 0, &err) == 1)
		shown_turns++;
	hub_relay_close(&r);
	stat(path, &after);
	T_OK(shown_turns > 0 && after.st_size == before.st_size, "its size kept for the writers");
	T_OK(after.st_blocks < before.st_blocks / 2 || before.st_blocks == 0,
	     "the shown part given back to the file system");
	fclose(display);
	unlink(shown_path);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	lines();
	long_line();
	resume();
	return t_done();
}
