/* Unit tests for the words of a document's path that the store lexes into
 * its first chunk's tsvector (store_path_words, src/store/fulltext.c). */
#include <string.h>

#include "../../src/store/fulltext.h"
#include "t.h"

static const char *words(const char *path, const char *root, size_t size)
{
	static char out[256];
	size_t n = store_path_words(path, root, out, size);

	return n == strlen(out) ? out : "(length differs)";
}

int main(void)
{
	T_EQ_STR(words("/d/functions/strings/Replace.md", "/d", 256), "functions strings Replace",
		 "directories and the file name below the root, no extension");
	T_EQ_STR(words("/d/functions/strings/Replace.md", "/d/", 256), "functions strings Replace",
		 "a root with a trailing slash");
	T_EQ_STR(words("/d/methods/page/PrevInSection.md", "/d", 256),
		 "methods page PrevInSection Prev In Section", "an identifier, then its pieces");
	T_EQ_STR(words("/d/HTMLEscape.md", "/d", 256), "HTMLEscape HTML Escape",
		 "a run of capitals ends where a piece begins");
	T_EQ_STR(words("/d/h2Title.md", "/d", 256), "h2Title h2 Title", "a capital after a digit");
	T_EQ_STR(words("/d/ch08-02-strings.md", "/d", 256), "ch08-02-strings", "no capitals: whole");
	T_EQ_STR(words("/x/a/b/Name.md", "/d", 256), "Name", "root not a prefix: the file name alone");
	T_EQ_STR(words("/dd/a.md", "/d", 256), "a", "a root that is a prefix of a directory name is not one");
	T_EQ_STR(words("/x/a/b/Name.md", NULL, 256), "Name", "no root: the file name alone");
	T_EQ_STR(words("Name", NULL, 256), "Name", "a bare name");
	T_EQ_STR(words("/d/a.b.c.md", "/d", 256), "a.b.c", "only the last extension goes");
	T_EQ_STR(words("/d/conf/.hidden", "/d", 256), "conf .hidden", "a dot file keeps its name");
	T_EQ_STR(words("/d/README", "/d", 256), "README", "no extension");
	T_EQ_STR(words("/d/dir.v2/file", "/d", 256), "dir.v2 file", "a dot in a directory is no extension");
	T_EQ_STR(words("/d", "/d", 256), "d", "the root itself: its last name");
	T_EQ_STR(words("/d/functions/strings/Replace.md", "/d", 8), "functio", "truncated to size - 1 bytes");
	T_EQ_STR(words("/d/PrevInSection.md", "/d", 1), "", "size 1: empty");
	return t_done();
}
