#include "stall.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "evict.h"

int hub_roster_read(const char *path, int stage, hub_replica *out, int max)
{
	char line[128], name[32];
	long pid;
	int n = 0;
	size_t len = strlen(hub_stage_names[stage]);
	FILE *f = path != NULL ? fopen(path, "r") : NULL;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof line, f) != NULL) {
		if (sscanf(line, "%31s %ld", name, &pid) != 2 || strncmp(name, hub_stage_names[stage], len) != 0 ||
		    name[len] != '-')
			continue;
		int i = 0;
		while (i < n && strcmp(out[i].name, name) != 0)
			i++;
		if (i == n && n == max)
			continue;
		if (i == n)
			snprintf(out[n++].name, sizeof out->name, "%s", name);
		out[i].pid = pid;
	}
	fclose(f);
	return n;
}

/* Appends to text (at most size, kept terminated). */
static void append(char *text, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void append(char *text, size_t size, const char *fmt, ...)
{
	size_t len = strlen(text);
	va_list ap;

	if (len + 1 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(text + len, size - len, fmt, ap);
	va_end(ap);
}

/* The state of pid, a replica docpipe run started: 0 when it exited (a
 * pid its parent, the hub's, no longer has is some other process's). */
static char replica_state(long pid)
{
	long ppid = 0;
	char state = hub_proc_state(pid, &ppid);

	return ppid == (long)getppid() && state != 'Z' && state != 'X' ? state : 0;
}

int hub_stall_look(hub_stats *s, const char *roster, int stage, double since, double now, char *text,
		   size_t text_size, char *note, size_t note_size)
{
	hub_replica r[HUB_ROSTER_MAX];
	int n = hub_roster_read(roster, stage, r, HUB_ROSTER_MAX), named = 0, more = 0, stopped = 0;

	text[0] = note[0] = '\0';
	for (int i = 0; i < n; i++) {
		char state = replica_state(r[i].pid);
		hub_proc *p = hub_stats_local(s, r[i].pid);
		if (hub_proc_stopped(state)) {
			stopped++;
			if (p == NULL)
				p = hub_stats_unheard(s, r[i].pid, stage, r[i].name, since);
		}
		if (named == HUB_STALL_NAMED) {
			more++;
			continue;
		}
		const char *words = hub_state_words(state);
		append(text, text_size, "%s%s (pid %ld) %s", named++ ? "; " : "", r[i].name, r[i].pid,
		       state != 0 ? words : "exited (its supervisor starts it again)");
		if (state != 0 && (p == NULL || p->unheard))
			append(text, text_size, ", never heard from");
		else if (state != 0)
			append(text, text_size, ", silent %.0f s", now - p->seen);
		if (note[0] == '\0') /* "chunk-1 stopped": the words' first */
			snprintf(note, note_size, "%s %.*s", r[i].name, (int)strcspn(words, " "), words);
	}
	/* The ones heard from that no line of the roster names: another
	 * machine's (docpipe worker), or this one's without a roster. */
	for (size_t i = 0; i < s->nprocs; i++) {
		hub_proc *p = &s->procs[i];
		int listed = 0;
		for (int k = 0; k < n && !listed; k++)
			listed = hub_pid_space_here(p->pid_space) && r[k].pid == p->pid;
		if (p->stage != stage || listed || p->exited)
			continue;
		if (named == HUB_STALL_NAMED) {
			more++;
			continue;
		}
		long ppid;
		char state = hub_pid_space_here(p->pid_space) ? hub_proc_state(p->pid, &ppid) : 0;
		stopped += hub_proc_stopped(state);
		append(text, text_size, "%s%s %s %.0f s%s%s", named++ ? "; " : "", p->key,
		       p->ended ? "said goodbye" : "silent", now - p->seen, state != 0 ? ", " : "",
		       state != 0 ? hub_state_words(state) : "");
		if (!hub_pid_space_here(p->pid_space))
			append(text, text_size, " (on another machine or in another pid namespace: not"
						" killed from here)");
		if (note[0] == '\0')
			snprintf(note, note_size, "%s %s", p->key, p->ended ? "gone" : "silent");
	}
	if (more > 0)
		append(text, text_size, "; and %d more", more);
	if (named == 0)
		append(text, text_size, "none of its replicas has been heard from%s",
		       roster != NULL ? ", and none was started on this machine (a `docpipe worker` elsewhere?)"
				      : "");
	return stopped;
}
