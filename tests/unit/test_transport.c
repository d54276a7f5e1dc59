/* ZeroMQ sources and sinks, --jq, stop requests and CurveZMQ, in one
 * process over ipc sockets. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "curve.h"
#include "zap.h"
#include "jqfilter.h"
#include "record.h"
#include "stats.h"
#include "t.h"
#include "transport.h"
#include "zmqsock.h"

static char dir[] = "/tmp/dp-transport.XXXXXX";

__attribute__((format(printf, 1, 0))) static const char *path_in_dir(const char *fmt,
									 const char *name)
{
	static char buf[8][256];
	static int next;
	char *b = buf[next++ % 8];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	snprintf(b, 256, fmt, dir, name);
#pragma GCC diagnostic pop
	return b;
}

static jv rec_of(const char *json)
{
	dp_err err;
	return dp_record_parse(json, strlen(json), &err);
}

/* dp_jq_each's put for the tests: appends out to the array at arg. */
static int collect(void *arg, jv out)
{
	jv *outs = arg;

	*outs = jv_array_append(*outs, out);
	return 0;
}

/* dp_jq_each's return for the last apply. */
static int applied;

/* The records jq emits for rec (consumed), as an array (owned). */
static jv apply(dp_jq *jq, jv rec)
{
	jv outs = jv_array();

	applied = dp_jq_each(jq, rec, collect, &outs);
	return outs;
}

static void test_jq(void)
{
	dp_err err = {{0}};
	dp_jq *jq = dp_jq_new(".meta.x = 1 | select(.path != \"/drop\")", &err);
	jv out;

	T_OK(jq != NULL, "jq program compiles");
	out = apply(jq, rec_of("{\"kind\":\"file\",\"path\":\"/a\"}"));
	T_EQ_INT(jv_array_length(jv_copy(out)), 1, "one output");
	T_EQ_INT(jv_number_value(jv_getpath(jv_copy(out), JV_ARRAY(jv_number(0), jv_string("meta"),
								  jv_string("x")))),
		 1, "field added");
	T_EQ_INT(applied, 0, "an output written: the record did not fail");
	jv_free(out);
	out = apply(jq, rec_of("{\"kind\":\"file\",\"path\":\"/drop\"}"));
	T_EQ_INT(jv_array_length(out), 0, "select drops a record");
	T_EQ_INT(applied, 0, "a record dropped did not fail");
	dp_jq_free(&jq);

	jq = dp_jq_new("error(\"boom\")", &err);
	out = apply(jq, rec_of("{\"kind\":\"file\",\"path\":\"/a\",\"seq\":3}"));
	jv e = jv_array_get(out, 0);
	T_EQ_STR(dp_record_kind(e), "error", "runtime error becomes an error record");
	T_OK(strstr(dp_record_str(e, "error"), "boom") != NULL, "error names the jq message");
	T_EQ_STR(dp_record_str(e, "path"), "/a", "error record keeps the path");
	T_EQ_INT(applied, 1, "a runtime error: the record failed (the stage's exit status says so)");
	jv_free(e);
	dp_jq_free(&jq);

	jq = dp_jq_new(".path", &err);
	out = apply(jq, rec_of("{\"kind\":\"file\",\"path\":\"/a\"}"));
	e = jv_array_get(out, 0);
	T_EQ_STR(dp_record_kind(e), "error", "non-object output becomes an error record");
	T_EQ_INT(applied, 1, "a non-object output: the record failed");
	jv_free(e);
	dp_jq_free(&jq);

	err.msg[0] = '\0';
	jq = dp_jq_new(".a |||| b", &err);
	T_OK(jq == NULL, "compile error refused");
	T_OK(strstr(err.msg, "--jq") != NULL, "compile error explained");
}

static void test_zmq_roundtrip(void)
{
	dp_err err = {{0}};
	dp_io_opts opts = {.jq = ".meta.via = \"zmq\""};
	const char *bind = path_in_dir("@ipc://%s/%s", "edge");
	const char *conn = path_in_dir("ipc://%s/%s", "edge");
	dp_source *src = dp_source_open(bind, &opts, &err);
	dp_sink *sink = dp_sink_open(conn, &opts, &err);
	jv rec;

	T_OK(src != NULL && sink != NULL, "ipc source binds, sink connects");
	if (src == NULL || sink == NULL)
		return;
	T_EQ_INT(dp_sink_put(sink, rec_of("{\"v\":1,\"kind\":\"file\",\"path\":\"/x\"}"), &err), 0,
		 "put");
	T_EQ_INT(dp_source_next(src, &rec, &err), DP_SOURCE_RECORD, "record arrives");
	T_EQ_STR(dp_record_str(rec, "path"), "/x", "same record");
	jv meta = jv_object_get(rec, jv_string("meta"));
	T_EQ_STR(dp_record_str(meta, "via"), "zmq", "--jq ran in the sink");
	jv_free(meta);
	T_OK(dp_stats_get(DP_STAT_IN) >= 1 && dp_stats_get(DP_STAT_OUT) >= 1, "counted");
	dp_request_stop();
	T_EQ_INT(dp_source_next(src, &rec, &err), DP_SOURCE_END, "stop request ends the source");
	T_EQ_INT(dp_sink_close(&sink, &err), 0, "sink closes");
	dp_source_free(&src);
}

static void test_plaintext_refused(void)
{
	dp_err err = {{0}};
	void *s = dp_zmq_open(ZMQ_PULL, "tcp://192.0.2.1:5555", NULL, &err);

	T_OK(s == NULL && strstr(err.msg, "plaintext") != NULL, "plaintext off loopback refused");
	T_OK(dp_zmq_is_local("@tcp://127.0.0.1:1") && dp_zmq_is_local("ipc:///x") &&
		     !dp_zmq_is_local("tcp://10.0.0.1:1"),
	     "loopback detection");
	/* A host name that only starts like a loopback address is not one. */
	T_OK(!dp_zmq_is_local("tcp://127.example.com:5555") &&
		     !dp_zmq_is_local("tcp://127.0.0.1.evil.example:5555") &&
		     !dp_zmq_is_local("tcp://localhost.evil.example:5555") &&
		     dp_zmq_is_local("tcp://127.0.0.2:5555") && dp_zmq_is_local("tcp://localhost:1") &&
		     dp_zmq_is_local("tcp://[::1]:1"),
	     "loopback detection: names that merely start with 127. are not local");
}

/* A CURVE server PULL and a client PUSH with the given key pair (NULL:
 * plaintext): 1 when a message got through within a second. */
static int curve_delivers(const char *server_key, const char *client_key, const char *name)
{
	dp_err err = {{0}};
	dp_zmq_opts server = {.curve_secret = server_key};
	dp_zmq_opts client = {.curve_server = path_in_dir("%s/%s.pub", "server"),
			      .curve_key = client_key};
	void *pull = dp_zmq_open(ZMQ_PULL, path_in_dir("@ipc://%s/%s", name), &server, &err);
	void *push = dp_zmq_open(ZMQ_PUSH, path_in_dir("ipc://%s/%s", name),
				 client_key ? &client : NULL, &err);
	char buf[256];
	int got = -1;

	if (pull == NULL || push == NULL) {
		printf("# %s\n", err.msg);
		dp_zmq_close(&pull);
		dp_zmq_close(&push);
		return -1;
	}
	/* IMMEDIATE: a send only succeeds once the handshake (and ZAP) passed. */
	for (int i = 0; i < 10 && got < 0; i++) {
		zmq_send(push, "x", 1, ZMQ_DONTWAIT);
		got = zmq_recv(pull, buf, sizeof buf, ZMQ_DONTWAIT);
		if (got < 0)
			usleep(100000);
	}
	dp_zmq_close(&push);
	dp_zmq_close(&pull);
	return got > 0;
}

static void test_curve(void)
{
	dp_err err = {{0}};
	dp_zap *zap;

	T_EQ_INT(dp_curve_keygen(path_in_dir("%s/%s", "server"), &err), 0, "server keygen");
	T_EQ_INT(dp_curve_keygen(path_in_dir("%s/%s", "good"), &err), 0, "client keygen");
	T_EQ_INT(dp_curve_keygen(path_in_dir("%s/%s", "bad"), &err), 0, "other keygen");
	T_OK(dp_curve_keygen(path_in_dir("%s/%s", "good"), &err) < 0, "keygen never overwrites");
	zap = dp_zap_start(path_in_dir("%s/%s.pub", "good"), &err);
	T_OK(zap != NULL, "ZAP handler starts");
	T_EQ_INT(curve_delivers(path_in_dir("%s/%s.key", "server"), path_in_dir("%s/%s.key", "good"),
				"c1"),
		 1, "allowed key delivers");
	T_EQ_INT(curve_delivers(path_in_dir("%s/%s.key", "server"), path_in_dir("%s/%s.key", "bad"),
				"c2"),
		 0, "unknown key gets nothing through");
	T_EQ_INT(curve_delivers(path_in_dir("%s/%s.key", "server"), NULL, "c3"), 0,
		 "plaintext peer gets nothing through");
	dp_zap_stop(&zap);
}

/* Writes text to DIR/name; returns the path. */
static const char *key_file(const char *name, const char *text)
{
	const char *path = path_in_dir("%s/%s", name);
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
		abort();
	return path;
}

/* Whether the key file name holding text is refused (a key pair wanted
 * when pair, else a public key; an allow-list when allow) with an error
 * that holds want. */
static int refused(const char *name, const char *text, int pair, int allow, const char *want)
{
	char pub[DP_CURVE_KEY_LEN + 1], sec[DP_CURVE_KEY_LEN + 1];
	size_t n;
	dp_err err = {{0}};
	const char *path = key_file(name, text);
	int rc = allow ? dp_curve_load_allow(path, NULL, 0, &n, &err)
		       : dp_curve_load(path, pub, pair ? sec : NULL, &err);

	if (rc == 0 || strstr(err.msg, want) == NULL)
		printf("# %s: %s\n", name, rc == 0 ? "taken" : err.msg);
	return rc < 0 && strstr(err.msg, want) != NULL;
}

/* What the key file reader takes and what it refuses (curve.h): the lines
 * a key file may hold, and the errors that name a bad one. */
static void test_key_files(void)
{
	char pub[DP_CURVE_KEY_LEN + 1], sec[DP_CURVE_KEY_LEN + 1], text[512], line[512];
	const char *k = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"; /* ZeroMQ's test key */
	uint8_t keys[4][32];
	size_t n;
	dp_err err = {{0}};

	snprintf(text, sizeof text, "# a comment\n\n  public =  %s  \r\n\tsecret=%s\n", k, k);
	T_EQ_INT(dp_curve_load(key_file("spaced.key", text), pub, sec, &err), 0,
		 "key lines with spaces, tabs and CRLF are read");
	T_EQ_STR(pub, k, "... the public key");
	snprintf(text, sizeof text, "=%s\n", k + 1); /* Z85 has '=': a bare key may start with it */
	T_EQ_INT(dp_curve_load_allow(key_file("eq.allow", text), keys, 4, &n, &err), 0,
		 "a bare key starting with '=' is a key");
	T_EQ_INT(n, 1, "... one key");
	/* Refused files: NAME, its text (%s: the key), a key pair wanted, an
	 * allow-list, what the error must say, the check's name. */
	static const struct {
		const char *name, *text;
		int pair, allow;
		const char *want, *check;
	} bad[] = {
		{"extra.pub", "public = %s extra\n", 0, 0, "extra.pub: line 1 is not a key",
		 "a word after the key: the line is refused, by number"},
		{"name.pub", "# c\nprivate = %s\n", 0, 0, "name.pub: line 2 is not a key",
		 "a name other than public or secret is refused"},
		{"only.pub", "public = %s\n", 1, 0, "no secret key in this file",
		 "a key pair wanted, a public key file given: said"},
		{"secret.allow", "secret = %s\n", 0, 1, "no public key in this file: every client would be refused",
		 "an allow-list without a public key is refused"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		snprintf(line, sizeof line, bad[i].text, k);
#pragma GCC diagnostic pop
		T_OK(refused(bad[i].name, line, bad[i].pair, bad[i].allow, bad[i].want), bad[i].check);
	}
	memset(line, 'x', 300);
	line[300] = '\0';
	T_OK(refused("long.pub", line, 0, 0, "line 1 is over 255 characters"),
	     "a line over 255 characters is refused (bounded buffer)");
	T_OK(dp_curve_check("--curve-key", path_in_dir("%s/%s", "none.key"), DP_CURVE_PAIR, &err) < 0 &&
		     strstr(err.msg, "--curve-key ") == err.msg &&
		     strstr(err.msg, "none.key: No such file or directory") != NULL,
	     "dp_curve_check names the option, the file and why");
	T_OK(dp_curve_check("--allow", dir, DP_CURVE_ALLOW, &err) < 0 && strstr(err.msg, "Is a directory") != NULL,
	     "a directory is no key file");
}

/* A reader thread as the store runs one, blocked in dp_source_next on an
 * input where nothing comes. */
struct blocked_reader {
	dp_source *src;
	int rc; /* what dp_source_next returned; -2 while it has not */
};

static void *read_blocked(void *arg)
{
	struct blocked_reader *r = arg;
	dp_err err;
	jv rec;

	r->rc = dp_source_next(r->src, &rec, &err);
	if (r->rc == DP_SOURCE_RECORD)
		jv_free(rec);
	return NULL;
}

static double seconds_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Starts a reader on src, interrupts it after 100 ms, and returns how long
 * the join took; *result is the reader's status, -3 if it was cancelled. */
static double interrupt_blocked(dp_source *src, int *result)
{
	struct blocked_reader r = {.src = src, .rc = -2};
	pthread_t t;
	void *ret;

	if (pthread_create(&t, NULL, read_blocked, &r) != 0)
		return -1;
	usleep(100 * 1000);
	double start = seconds_now();
	dp_source_interrupt(src);
	pthread_join(t, &ret);
	*result = ret == PTHREAD_CANCELED ? -3 : r.rc;
	return seconds_now() - start;
}

static void test_interrupt(void)
{
	dp_err err = {{0}};
	jv rec;
	int result;

	dp_source *src = dp_source_open(path_in_dir("@ipc://%s/%s", "idle"), NULL, &err);
	T_OK(src != NULL, "idle ipc source binds");
	if (src == NULL)
		return;
	double took = interrupt_blocked(src, &result);
	T_EQ_INT(result, DP_SOURCE_END, "interrupt: a blocked ZeroMQ read returns END (not cancelled)");
	T_OK(took >= 0 && took < 1.0, "interrupt: within a poll interval");
	T_EQ_INT(dp_source_next(src, &rec, &err), DP_SOURCE_END, "interrupted ZeroMQ source stays ended");
	dp_source_free(&src);

	/* stdin: a pipe whose writer stays open, so read() blocks. */
	int fds[2], saved = dup(STDIN_FILENO);
	if (pipe(fds) < 0 || saved < 0 || dup2(fds[0], STDIN_FILENO) < 0) {
		T_OK(0, "stdin pipe");
		return;
	}
	close(fds[0]);
	src = dp_source_open(NULL, NULL, &err);
	took = interrupt_blocked(src, &result);
	T_EQ_INT(result, DP_SOURCE_END, "interrupt: a blocked stdin read returns END (not cancelled)");
	T_OK(took >= 0 && took < 1.0, "interrupt: stdin reader ends at once");
	T_EQ_INT(dp_source_next(src, &rec, &err), DP_SOURCE_END, "interrupted stdin source stays ended");
	dp_source_free(&src);
	close(fds[1]);
	dup2(saved, STDIN_FILENO);
	close(saved);
}

/* A record in three pieces (dp_piece_fn; arg counts the calls). */
static int three_pieces(void *arg, dp_json_buf *b, dp_err *err)
{
	static const char *const piece[] = {"{\"v\":1,\"kind\":", "\"file\",", "\"path\":\"/p\"}"};
	int *next = arg;

	if (*next >= 3)
		return 0;
	const char *p = piece[(*next)++];
	return dp_json_put(b, p, strlen(p), err) < 0 ? -1 : 1;
}

#define THREE_PIECES_LEN 33 /* {"v":1,"kind":"file","path":"/p"} */

/* dp_sink_put_pieces: to ZeroMQ one message, to stdout one line; a text
 * that is not the length announced fails (the stage stops). */
static void test_pieces(void)
{
	dp_err err = {{0}};
	dp_source *src = dp_source_open(path_in_dir("@ipc://%s/%s", "pieces"), NULL, &err);
	dp_sink *sink = dp_sink_open(path_in_dir("ipc://%s/%s", "pieces"), NULL, &err);
	int next = 0;
	jv rec;

	T_OK(src != NULL && sink != NULL, "pieces: ipc source binds, sink connects");
	if (src == NULL || sink == NULL)
		return;
	T_EQ_INT(dp_sink_put_pieces(sink, THREE_PIECES_LEN, three_pieces, &next, &err), 0, "ZeroMQ: put");
	T_EQ_INT(dp_source_next(src, &rec, &err), DP_SOURCE_RECORD, "ZeroMQ: one record arrives");
	T_EQ_STR(dp_record_str(rec, "path"), "/p", "ZeroMQ: the record of its pieces");
	jv_free(rec);
	next = 0;
	T_EQ_INT(dp_sink_put_pieces(sink, THREE_PIECES_LEN + 1, three_pieces, &next, &err), -1,
		 "ZeroMQ: a text shorter than announced fails");
	T_OK(strstr(err.msg, "not the 34 announced") != NULL, "ZeroMQ: said");
	dp_sink_close(&sink, &err);
	dp_source_free(&src);

	FILE *tmp = tmpfile();
	int saved = dup(STDOUT_FILENO);
	char text[128] = "";
	fflush(stdout);
	if (tmp == NULL || saved < 0 || dup2(fileno(tmp), STDOUT_FILENO) < 0) {
		T_OK(0, "stdout to a file");
		return;
	}
	sink = dp_sink_open(NULL, NULL, &err);
	next = 0;
	int rc = dp_sink_put_pieces(sink, THREE_PIECES_LEN, three_pieces, &next, &err);
	next = 0;
	int short_rc = dp_sink_put_pieces(sink, THREE_PIECES_LEN - 1, three_pieces, &next, &err);
	dp_sink_close(&sink, &err);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	rewind(tmp);
	size_t n = fread(text, 1, sizeof text - 1, tmp);
	text[n] = '\0';
	fclose(tmp);
	T_EQ_INT(rc, 0, "stdout: put");
	T_EQ_INT(short_rc, -1, "stdout: a text longer than announced fails");
	T_OK(strncmp(text, "{\"v\":1,\"kind\":\"file\",\"path\":\"/p\"}\n{", THREE_PIECES_LEN + 2) == 0,
	     "stdout: one line of its pieces (the failed one after it, cut: the stage stops)");
}

int main(void)
{
	if (mkdtemp(dir) == NULL)
		return 1;
	dp_set_stage("test");
	test_jq();
	test_plaintext_refused();
	test_curve();
	test_key_files();
	test_interrupt();
	test_pieces();
	test_zmq_roundtrip();
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		T_OK(0, "cleanup");
	return t_done();
}
