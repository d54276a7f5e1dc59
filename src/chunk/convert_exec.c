/* --convert EXT=COMMAND: an external converter (convert.h).
 *
 * The command runs as `/bin/sh -c 'COMMAND "$1"' docpipe-convert PATH`: the
 * file's path is its last argument, stdin is /dev/null, it runs in its own
 * process group with default signal handling.  Whatever it prints on
 * stdout (at most conv_opts.max_output bytes) is the document: HTML when it
 * starts with '<' after white space (read by the HTML converter), else
 * Markdown (valid UTF-8 required; front matter at its start is taken as
 * metadata, as in a Markdown file).  A command that exits non-zero, is
 * killed, prints too much or outlives conv_opts.timeout_s (then its whole
 * process group is killed) fails the document; the error names the exit
 * status and holds the start of its stderr.  Its environment is the
 * stage's without the secrets (converter_environ): a third-party converter
 * needs neither the model API's key nor the database's password. */
#include "convert.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "err.h"
#include "text.h"

#define STDERR_KEEP 300

extern char **environ;

struct child {
	pid_t pid;
	int out, err;      /* read ends, -1 once at EOF */
	dp_buf text;       /* stdout, at most the output maximum */
	char stderr_text[STDERR_KEEP + 1];
	size_t stderr_len;
};

static pthread_once_t environ_once = PTHREAD_ONCE_INIT;
static char **trimmed_environ;

/* Whether environment entry e ("NAME=value") holds a secret: the database
 * URL and password, and every name that says key, password, secret or
 * token (OPENAI_API_KEY, AWS_SECRET_ACCESS_KEY, GITHUB_TOKEN ...). */
static int secret(const char *e)
{
	static const char *const exact[] = {"DATABASE_URL=", "PGPASSWORD="};
	static const char *const words[] = {"KEY", "PASSWORD", "PASSWD", "SECRET", "TOKEN"};
	size_t n = strcspn(e, "=");

	for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
		if (strncmp(e, exact[i], strlen(exact[i])) == 0)
			return 1;
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
		const char *w = strstr(e, words[i]);
		if (w != NULL && (size_t)(w - e) < n)
			return 1;
	}
	return 0;
}

static void make_converter_environ(void)
{
	size_t n = 0, k = 0;

	while (environ[n] != NULL)
		n++;
	if ((trimmed_environ = malloc((n + 1) * sizeof *trimmed_environ)) == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		if (!secret(environ[i]))
			trimmed_environ[k++] = environ[i];
	trimmed_environ[k] = NULL;
}

/* The converters' environment (made once, borrowed): the stage's without
 * its secrets; NULL when out of memory. */
static char **converter_environ(void)
{
	pthread_once(&environ_once, make_converter_environ);
	return trimmed_environ;
}

static int spawn(struct child *c, const conv_command *cmd, const char *path, dp_err *err)
{
	int out[2] = {-1, -1}, errp[2] = {-1, -1}, rc = -1;
	size_t slen = strlen(cmd->command) + 8;
	char *script = malloc(slen);
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, dflt;

	if (script == NULL || pipe2(out, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0) {
		dp_err_set(err, "cannot start converter: %s", script ? strerror(errno) : "no memory");
		goto out;
	}
	snprintf(script, slen, "%s \"$1\"", cmd->command);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigemptyset(&dflt);
	sigaddset(&dflt, SIGPIPE);
	sigaddset(&dflt, SIGTERM);
	sigaddset(&dflt, SIGINT);
	sigaddset(&dflt, SIGHUP);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dflt);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
						POSIX_SPAWN_SETSIGDEF);
	char *argv[] = {"/bin/sh", "-c", script, "docpipe-convert", (char *)path, NULL};
	char **env = converter_environ();
	int e = env != NULL ? posix_spawn(&c->pid, "/bin/sh", &fa, &attr, argv, env) : ENOMEM;
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (e != 0) {
		dp_err_set(err, "cannot start converter: %s", strerror(e));
		goto out;
	}
	c->out = out[0];
	c->err = errp[0];
	out[0] = errp[0] = -1;
	rc = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	free(script);
	return rc;
}

/* Reads what is there on fd into the child's buffers.  Returns 0, 1 at EOF,
 * or -1 with err set (read error, output over its maximum). */
static int drain(struct child *c, int is_err, dp_err *err)
{
	char tmp[65536];
	ssize_t n = read(is_err ? c->err : c->out, tmp, sizeof tmp);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n < 0) {
		dp_err_set(err, "reading the converter: %s", strerror(errno));
		return -1;
	}
	if (n == 0)
		return 1;
	if (is_err) {
		size_t k = (size_t)n < STDERR_KEEP - c->stderr_len ? (size_t)n : STDERR_KEEP - c->stderr_len;
		memcpy(c->stderr_text + c->stderr_len, tmp, k);
		c->stderr_len += k;
		return 0;
	}
	if (dp_buf_append(&c->text, tmp, (size_t)n) < 0) {
		if ((size_t)n > c->text.max - c->text.len)
			dp_err_set(err, "converter printed more than %zu bytes", c->text.max);
		else
			dp_err_set(err, "out of memory reading the converter");
		return -1;
	}
	return 0;
}

/* Collects output until both pipes close and the child exits, or the
 * deadline.  Returns 0 with *status set, or -1 with err set (the process
 * group is then killed and reaped). */
static int collect(struct child *c, double deadline, int timeout_s, int *status, dp_err *err)
{
	while (c->out >= 0 || c->err >= 0) {
		struct pollfd p[2] = {{.fd = c->out, .events = POLLIN}, {.fd = c->err, .events = POLLIN}};
		double left = deadline - dp_clock_ms() / 1e3;
		if (left <= 0)
			goto timeout;
		int n = poll(p, 2, (int)(left * 1000) + 1);
		if (n < 0 && errno != EINTR) {
			dp_err_set(err, "poll: %s", strerror(errno));
			goto kill;
		}
		for (int i = 0; i < 2 && n > 0; i++) {
			if (p[i].fd < 0 || p[i].revents == 0)
				continue;
			int r = drain(c, i, err);
			if (r < 0)
				goto kill;
			if (r == 1) {
				close(p[i].fd);
				*(i ? &c->err : &c->out) = -1;
			}
		}
	}
	/* Both pipes closed: the child exits now, or soon. */
	while (waitpid(c->pid, status, WNOHANG) == 0) {
		if (dp_clock_ms() / 1e3 >= deadline)
			goto timeout;
		dp_nap_ms(2);
	}
	return 0;
timeout:
	/* A converter that exited while something it started (`cmd &`)
	 * holds its output open did not time out itself: said so, or the
	 * message sent the user looking at the converter's speed. */
	if (waitpid(c->pid, status, WNOHANG) == c->pid)
		dp_err_set(err, "converter exited, but a process it started kept its output open: "
			   "killed at the %d s timeout", timeout_s);
	else
		dp_err_set(err, "converter timed out after %d s (killed)", timeout_s);
kill:
	kill(-c->pid, SIGKILL);
	while (waitpid(c->pid, status, 0) < 0 && errno == EINTR)
		;
	return -1;
}

/* Puts the output of the child run on path, Markdown or HTML, into o. */
static int take_output(conv_out *o, struct child *c, const char *path, const conv_opts *opts,
		       dp_err *err)
{
	const char *data = dp_buf_cstr(&c->text);
	size_t len = c->text.len, ws = 0;

	while (ws < len && strchr(" \t\r\n", data[ws]) != NULL)
		ws++;
	if (ws < len && data[ws] == '<')
		return conv_html_part(o, data, len, opts, err);
	size_t bad = len == 0 ? 0 : dp_utf8_invalid_at(data, len);
	if (len > 0 && (bad < len || memchr(data, '\0', len) != NULL)) {
		dp_err_set(err, "converter output is not valid UTF-8 text (byte %zu)", bad);
		return -1;
	}
	/* Markdown printed by a converter (pandoc -s, a site's exporter) may
	 * open with front matter: metadata, as in a Markdown file. */
	const char *problem;
	size_t body = conv_front_matter(o, data, len, &problem);
	if (problem != NULL)
		dp_diag("%s: converter output: %s", path, problem);
	conv_block(o, NULL);
	conv_put(o, data + body, len - body);
	return 0;
}

int conv_command_run(conv_out *o, const conv_command *cmd, const char *path,
		     const conv_opts *opts, dp_err *err)
{
	struct child c = {.out = -1, .err = -1};
	int status = 0, rc = -1;

	dp_buf_init(&c.text, opts->max_output < CONV_TEXT_MAX ? opts->max_output : CONV_TEXT_MAX);

	o->format = cmd->ext;
	snprintf(o->converter, sizeof o->converter, "command: %s", cmd->command);
	if (spawn(&c, cmd, path, err) < 0)
		return -1;
	if (collect(&c, dp_clock_ms() / 1e3 + opts->timeout_s, opts->timeout_s, &status, err) < 0)
		goto out;
	c.stderr_text[c.stderr_len] = '\0';
	for (char *p = c.stderr_text; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	if (WIFSIGNALED(status)) {
		dp_err_set(err, "converter killed by signal %d; stderr: %s", WTERMSIG(status),
			   c.stderr_text);
		goto out;
	}
	if (WEXITSTATUS(status) != 0) {
		dp_err_set(err, "converter exited with status %d; stderr: %s", WEXITSTATUS(status),
			   c.stderr_text);
		goto out;
	}
	rc = take_output(o, &c, path, opts, err);
out:
	if (c.out >= 0)
		close(c.out);
	if (c.err >= 0)
		close(c.err);
	dp_buf_free(&c.text);
	return rc;
}
