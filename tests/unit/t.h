/* A minimal TAP producer for unit tests: tests/run reads its output.
 * One check per T_* call; t_done() prints the plan and returns the exit
 * status for main. */
#ifndef DP_T_H
#define DP_T_H

#include <stdio.h>
#include <string.h>

static int t_count, t_failed;

static void t_report(int ok, const char *file, int line, const char *name)
{
	t_count++;
	if (!ok)
		t_failed++;
	printf("%sok %d - %s\n", ok ? "" : "not ", t_count, name);
	if (!ok)
		printf("#   failed at %s:%d\n", file, line);
	fflush(stdout);
}

#define T_OK(cond, name) t_report(!!(cond), __FILE__, __LINE__, (name))
#define T_EQ_INT(got, want, name)                                                   \
	do {                                                                        \
		long long t_g = (long long)(got), t_w = (long long)(want);          \
		t_report(t_g == t_w, __FILE__, __LINE__, (name));                    \
		if (t_g != t_w)                                                     \
			printf("#   got %lld, want %lld\n", t_g, t_w);             \
	} while (0)
#define T_EQ_STR(got, want, name)                                                   \
	do {                                                                        \
		const char *t_g = (got), *t_w = (want);                             \
		int t_ok = t_g != NULL && t_w != NULL && strcmp(t_g, t_w) == 0;     \
		t_report(t_ok, __FILE__, __LINE__, (name));                          \
		if (!t_ok)                                                          \
			printf("#   got '%s', want '%s'\n", t_g ? t_g : "(null)",   \
			       t_w ? t_w : "(null)");                               \
	} while (0)

static int t_done(void)
{
	printf("1..%d\n", t_count);
	return t_failed ? 1 : 0;
}

#endif
