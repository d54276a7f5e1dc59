#include "glob.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "text.h"

/* Turning a glob into a PostgreSQL regular expression (an ARE) that means
 * the same, or saying why the glob means nothing. */
struct glob {
	const char *p; /* the glob: valid UTF-8 */
	size_t len, i; /* its length, the next byte to read */
	char *re;      /* the regular expression: at most 2 bytes per glob byte, + 3 */
	size_t o;
	dp_glob_cost cost;
	char why[DP_ERR_MAX - 100];
};

/* The characters that are special in an ARE outside brackets; inside
 * brackets every ASCII punctuation character is written escaped, which
 * an ARE reads as that character. */
#define GLOB_RE_SPECIAL ".^$+(){}|\\[]*?"

/* Emits the n-byte character at p + at as itself. */
static void glob_literal(struct glob *g, size_t at, size_t n, int in_class)
{
	unsigned char c = (unsigned char)g->p[at];

	if (n == 1 && (in_class ? ispunct(c) : strchr(GLOB_RE_SPECIAL, c) != NULL))
		g->re[g->o++] = '\\';
	memcpy(g->re + g->o, g->p + at, n);
	g->o += n;
}

/* The code point of the character at p + at into *cp; returns its length. */
static size_t glob_char(const struct glob *g, size_t at, uint32_t *cp)
{
	const unsigned char *u = (const unsigned char *)g->p + at;
	size_t n = dp_utf8_seq_len(u, g->len - at);

	*cp = n <= 1 ? u[0] : n == 2 ? (uint32_t)(u[0] & 0x1f) << 6 | (u[1] & 0x3f)
	      : n == 3 ? (uint32_t)(u[0] & 0x0f) << 12 | (uint32_t)(u[1] & 0x3f) << 6 | (u[2] & 0x3f)
	      : (uint32_t)(u[0] & 0x07) << 18 | (uint32_t)(u[1] & 0x3f) << 12 |
		(uint32_t)(u[2] & 0x3f) << 6 | (u[3] & 0x3f);
	return n > 0 ? n : 1;
}

/* One character of a class at g->i ('\' escapes the next one) into *at,
 * *n and *cp; moves past it.  Returns 0, or -1 with g->why: a '\' that
 * ends the glob, a class or collating element where a character must be. */
static int class_char(struct glob *g, size_t *at, size_t *n, uint32_t *cp)
{
	if (g->p[g->i] == '\\') {
		if (g->i + 1 == g->len) {
			snprintf(g->why, sizeof g->why, "it ends in a '\\' that escapes nothing"
				 " (for a '\\' itself write '\\\\')");
			return -1;
		}
		g->i++;
	} else if (g->p[g->i] == '[' && g->i + 1 < g->len && strchr(":.=", g->p[g->i + 1]) != NULL) {
		/* Where a character must be ('[:' opening an item is class_name's). */
		snprintf(g->why, sizeof g->why, "the '[%c' at byte %zu starts a %s, not a character:"
			 " %s (write '\\[' for a '[')", g->p[g->i + 1], g->i,
			 g->p[g->i + 1] == ':' ? "character class" : "collating element",
			 g->p[g->i + 1] == ':' ? "it cannot end a range" : "those are not supported");
		return -1;
	}
	*at = g->i;
	*n = glob_char(g, g->i, cp);
	g->i += *n;
	return 0;
}

/* A named class [:name:] at g->i inside brackets: emitted as is. */
static int class_name(struct glob *g)
{
	static const char *const names[] = {"alnum", "alpha", "blank", "cntrl", "digit", "graph",
					     "lower", "print", "punct", "space", "upper", "xdigit"};
	const char *end = strstr(g->p + g->i + 2, ":]");
	size_t at = g->i, n = end != NULL ? (size_t)(end - (g->p + at + 2)) : 0;

	for (size_t k = 0; end != NULL && k < sizeof names / sizeof names[0]; k++)
		if (strlen(names[k]) == n && strncmp(names[k], g->p + at + 2, n) == 0) {
			memcpy(g->re + g->o, g->p + at, n + 4);
			g->o += n + 4;
			g->i += n + 4;
			if (g->p[g->i] == '-' && g->i + 1 < g->len && g->p[g->i + 1] != ']') {
				snprintf(g->why, sizeof g->why, "the '-' at byte %zu follows a character"
					 " class, so it is no range (write '\\-' for a '-')", g->i);
				return -1;
			}
			return 0;
		}
	snprintf(g->why, sizeof g->why, "the '[:' at byte %zu names no character class (alnum,"
		 " alpha, blank, cntrl, digit, graph, lower, print, punct, space, upper, xdigit;"
		 " write '\\[' for a '[')", at);
	return -1;
}

/* A bracket expression at g->i ('['): [abc], [a-z], [!...] or [^...]
 * negated, [:alpha:] and the like inside, '\' escaping, a ']' first in
 * the class belonging to it (as fnmatch reads them).  Returns 0, or -1
 * with g->why: never closed, a range from a later character to an earlier
 * one, a class name it does not know, a collating element. */
static int glob_class(struct glob *g)
{
	size_t open = g->i++;

	g->re[g->o++] = '[';
	if (g->i < g->len && (g->p[g->i] == '!' || g->p[g->i] == '^')) {
		g->re[g->o++] = '^';
		g->i++;
	}
	for (int first = 1;; first = 0) {
		if (g->i >= g->len) {
			snprintf(g->why, sizeof g->why, "the '[' at byte %zu opens a character class that"
				 " is never closed (for a '[' itself write '\\[' or '[[]'; a ']' right"
				 " after '[' or '[!' belongs to the class)", open);
			return -1;
		}
		if (g->p[g->i] == ']' && !first) {
			g->re[g->o++] = ']';
			g->i++;
			return 0;
		}
		if (g->p[g->i] == '[' && g->i + 1 < g->len && g->p[g->i + 1] == ':') {
			if (class_name(g) < 0)
				return -1;
			continue;
		}
		size_t lo, nlo, hi, nhi;
		uint32_t clo, chi;
		if (class_char(g, &lo, &nlo, &clo) < 0)
			return -1;
		if (g->i + 1 < g->len && g->p[g->i] == '-' && g->p[g->i + 1] != ']') {
			g->i++;
			if (class_char(g, &hi, &nhi, &chi) < 0)
				return -1;
			if (chi < clo) {
				snprintf(g->why, sizeof g->why, "the range '%.*s-%.*s' at byte %zu runs"
					 " backwards, so it holds no character", (int)nlo, g->p + lo,
					 (int)nhi, g->p + hi, lo);
				return -1;
			}
			glob_literal(g, lo, nlo, 1);
			g->re[g->o++] = '-';
			glob_literal(g, hi, nhi, 1);
		} else {
			glob_literal(g, lo, nlo, 1);
		}
	}
}

/* Translates g->p into g->re.  Returns 0, or -1 with g->why. */
static int glob_translate(struct glob *g)
{
	g->re[g->o++] = '^';
	for (; g->i < g->len; g->cost.chars++) {
		char ch = g->p[g->i];
		uint32_t cp;
		if (ch == '*') {
			g->cost.chars--; /* "**" is '*': one ".*" */
			if (g->o < 2 || memcmp(g->re + g->o - 2, ".*", 2) != 0 ||
			    (g->o >= 3 && g->re[g->o - 3] == '\\')) {
				memcpy(g->re + g->o, ".*", 2);
				g->o += 2;
			}
			g->i++;
		} else if (ch == '?') {
			g->re[g->o++] = '.';
			g->i++;
		} else if (ch == '[') {
			g->cost.classes++;
			if (glob_class(g) < 0)
				return -1;
		} else if (ch == '\\' && g->i + 1 == g->len) {
			snprintf(g->why, sizeof g->why, "it ends in a '\\' that escapes nothing"
				 " (for a '\\' itself write '\\\\')");
			return -1;
		} else {
			g->i += ch == '\\'; /* escaped: the next character as itself */
			size_t n = glob_char(g, g->i, &cp);
			glob_literal(g, g->i, n, 0);
			g->i += n;
		}
	}
	g->re[g->o++] = '$';
	return 0;
}

jv dp_glob_regex(const char *glob, dp_glob_cost *cost)
{
	struct glob g = {.p = glob, .len = strlen(glob)};

	if (g.len == 0)
		return jv_invalid_with_msg(jv_string("an empty pattern matches nothing"));
	if ((g.re = malloc(2 * g.len + 16)) == NULL)
		return jv_invalid_with_msg(jv_string("out of memory"));
	jv r = glob_translate(&g) == 0 ? jv_string_sized(g.re, (int)g.o)
				       : jv_invalid_with_msg(jv_string(g.why));
	free(g.re);
	*cost = g.cost;
	return r;
}

int dp_glob_check_walk(const char *name, const char *pattern, dp_err *err)
{
	dp_glob_cost cost;
	char shown[200];
	size_t len = strlen(pattern);
	jv re = dp_glob_regex(pattern, &cost);
	jv why = jv_is_valid(re) ? jv_null() : jv_invalid_get_msg(jv_copy(re));

	jv_free(re);
	if (jv_get_kind(why) == JV_KIND_NULL && len > 0 && (pattern[0] == '/' || pattern[len - 1] == '/'))
		why = jv_string(pattern[0] == '/'
				? "a pattern with a '/' matches the path relative to the root, which"
				  " never starts with '/' (for a root's own files write 'name' or"
				  " 'dir/name', without the leading '/')"
				: "it ends in '/', and no path does (for a directory write its name"
				  " without the '/')");
	if (jv_get_kind(why) == JV_KIND_NULL)
		return 0;
	dp_utf8_shown(pattern, len, shown, sizeof shown);
	dp_err_set(err, "--%s '%s': %s", name, shown, jv_string_value(why));
	jv_free(why);
	return -1;
}
