/* Unit tests for docpipe-discover: glob and exclude matching, absolute
 * roots without symlink resolution, printable names. */
#include <sys/stat.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../src/discover/walk.h"
#include "path.h"
#include "t.h"

static void test_match(void)
{
	T_OK(discover_match("*.md", "a.md"), "base name at the top");
	T_OK(discover_match("*.md", "x/y/a.md"), "pattern without '/' matches the base name");
	T_OK(!discover_match("*.md", "a.md.bak"), "whole name must match");
	T_OK(discover_match("docs/*.md", "docs/a.md"), "pattern with '/' matches the relative path");
	T_OK(!discover_match("docs/*.md", "docs/sub/a.md"), "'*' does not cross '/'");
	T_OK(!discover_match("docs/*.md", "x/docs/a.md"), "path patterns are anchored at the root");
	T_OK(discover_match("*/*/a.md", "x/y/a.md"), "several levels");
	T_OK(discover_match("draft-?.txt", "p/draft-1.txt"), "'?'");
	T_OK(discover_match("[ab].md", "b.md"), "bracket");
	T_OK(discover_match("build", "src/build"), "directory base name");
}

static void test_wanted(void)
{
	discover_opts o = {.max_size = 1};

	T_OK(discover_wanted(&o, "a.md"), "default glob *.md");
	T_OK(discover_wanted(&o, "d/a.markdown"), "default glob *.markdown");
	T_OK(discover_wanted(&o, "d/a.txt"), "default glob *.txt");
	T_OK(!discover_wanted(&o, "d/a.c"), "other files are not taken");
	o.globs[o.n_globs++] = "*.rst";
	T_OK(discover_wanted(&o, "a.rst"), "--glob replaces the defaults");
	T_OK(!discover_wanted(&o, "a.md"), "defaults gone");
	o.n_globs = 0;
	o.excludes[o.n_excludes++] = "*-draft.md";
	o.excludes[o.n_excludes++] = "old/*";
	T_OK(!discover_wanted(&o, "x/a-draft.md"), "--exclude by base name");
	T_OK(!discover_wanted(&o, "old/a.md"), "--exclude by relative path");
	T_OK(discover_wanted(&o, "x/old/a.md"), "relative path patterns are anchored");
}

static void test_abspath(void)
{
	dp_err err;
	char *cwd = getcwd(NULL, 0);
	char want[4096];
	char *p;

	p = dp_path_absolute("/a//b/./c/", &err);
	T_EQ_STR(p, "/a/b/c", "repeated slashes, '.' and trailing '/' removed");
	free(p);
	p = dp_path_absolute("/nonexistent-dp/../y", &err);
	T_EQ_STR(p, "/nonexistent-dp/../y", "'..' of a path that is not there: kept");
	free(p);
	/* ".." as the kernel reads it: the parent of a link is its target's;
	 * the links after the last ".." are kept. */
	char tmpl[] = "/tmp/dp-path.XXXXXX", *made = mkdtemp(tmpl), *base, buf[4200];
	base = made != NULL ? realpath(made, NULL) : NULL;
	T_OK(base != NULL, "a scratch directory");
	if (base != NULL) {
		snprintf(buf, sizeof buf, "%s/real", base);
		T_OK(mkdir(buf, 0700) == 0, "mkdir real");
		snprintf(buf, sizeof buf, "%s/real/sub", base);
		T_OK(mkdir(buf, 0700) == 0, "mkdir real/sub");
		snprintf(buf, sizeof buf, "%s/link", base);
		T_OK(symlink("real/sub", buf) == 0, "link -> real/sub");
		snprintf(buf, sizeof buf, "%s/link/../x/./y", base);
		p = dp_path_absolute(buf, &err);
		snprintf(want, sizeof want, "%s/real/x/y", base);
		T_EQ_STR(p, want, "'..' after a link: its target's parent");
		free(p);
		snprintf(buf, sizeof buf, "%s/real/../link", base);
		p = dp_path_absolute(buf, &err);
		snprintf(want, sizeof want, "%s/link", base);
		T_EQ_STR(p, want, "'..' gone, the link after it kept");
		free(p);
		snprintf(buf, sizeof buf, "%s/link", base);
		unlink(buf);
		snprintf(buf, sizeof buf, "%s/real/sub", base);
		rmdir(buf);
		snprintf(buf, sizeof buf, "%s/real", base);
		rmdir(buf);
		rmdir(base);
		free(base);
	}
	p = dp_path_absolute("/", &err);
	T_EQ_STR(p, "/", "the root directory");
	free(p);
	T_EQ_STR(dp_path_file_name("/a/b.tar.gz"), "b.tar.gz", "file name: after the last '/'");
	T_EQ_STR(dp_path_file_name("b.md"), "b.md", "file name without a '/': the path");
	T_EQ_STR(dp_path_file_name("/a/"), "", "file name of a directory path: empty");
	T_EQ_STR(dp_path_extension("/a/b.tar.gz"), ".gz", "extension: from the last '.'");
	T_OK(dp_path_extension("/a.d/README") == NULL, "a '.' in a directory is no extension");
	p = dp_path_absolute("./docs/", &err);
	snprintf(want, sizeof want, "%s/docs", strcmp(cwd, "/") == 0 ? "" : cwd);
	T_EQ_STR(p, want, "relative to the working directory");
	free(p);
	free(cwd);
}

static void test_printable(void)
{
	char out[64];

	discover_printable("ok é 日本", out, sizeof out);
	T_EQ_STR(out, "ok é 日本", "valid UTF-8 unchanged");
	discover_printable("bad\xff\x01name", out, sizeof out);
	T_EQ_STR(out, "bad\\xff\\x01name", "invalid bytes and controls escaped");
	discover_printable("abcdefgh", out, 5);
	T_EQ_STR(out, "abcd", "bounded by the output size");
}

int main(void)
{
	test_match();
	test_wanted();
	test_abspath();
	test_printable();
	return t_done();
}
