/* libFuzzer target for the record reader every stage runs on its input:
 * the bounded line reader (src/lib/lines.c), the record parser
 * (src/lib/record.c) and the vector decoder (src/lib/vec.c).  Built and run
 * by tests/fuzz/run-fuzz.sh record.
 *
 * Any input must not crash or leak; every line must come back as a record
 * or a reported error, its head (dp_record_head, the hub's) agreeing, the
 * one-pass parse (dp_jscan_parse) giving jq's value or error, and a
 * decoded vector must re-encode to its text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jscan.h"
#include "lines.h"
#include "record.h"
#include "vec.h"
#include "fuzz.h"

static void check_vectors(jv rec)
{
	jv chunks = jv_object_get(jv_copy(rec), jv_string("chunks"));

	if (jv_get_kind(chunks) == JV_KIND_ARRAY) {
		jv_array_foreach(chunks, i, c)
		{
			float v[64];
			dp_err err;
			jv s = jv_get_kind(c) == JV_KIND_OBJECT
				       ? jv_object_get(jv_copy(c), jv_string("vec"))
				       : jv_invalid();
			for (size_t dim = 1; dim <= 64 && jv_get_kind(s) == JV_KIND_STRING; dim++) {
				if (dp_vec_decode(s, v, dim, &err) == 0) {
					jv again = dp_vec_encode(v, dim);
					/* Padding bits may differ; the floats must not. */
					float w[64];
					CHECK(dp_vec_decode(again, w, dim, &err) == 0);
					CHECK(memcmp(v, w, dim * sizeof *v) == 0);
					jv_free(again);
				}
			}
			jv_free(s);
			jv_free(c);
			(void)i;
		}
	}
	jv_free(chunks);
}

/* The typed accessors keep their promises on any record. */
static void check_accessors(jv rec)
{
	const char *s;
	size_t len;
	long long n;
	dp_err err;

	if (dp_record_get_str(rec, "path", 16, &s, &len, &err) == 1)
		CHECK(len <= 16 && memchr(s, 0, len) == NULL);
	if (dp_record_get_int(rec, "seq", -5, 100, &n, &err) == 1)
		CHECK(n >= -5 && n <= 100);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fds[2];

	if (size > 60000 || pipe(fds) != 0)
		return 0; /* a pipe holds 64 KiB without a reader */
	if (write(fds[1], data, size) != (ssize_t)size)
		abort();
	close(fds[1]);

	dp_lines *lines = dp_lines_new(fds[0], 4096);
	const char *line;
	size_t len;
	unsigned long lineno, last = 0;
	dp_err err;
	int rc;

	while ((rc = dp_lines_next(lines, &line, &len, &lineno, &err)) != DP_LINES_EOF) {
		CHECK(rc != DP_LINES_ERROR);
		CHECK(lineno == last + 1);
		last = lineno;
		if (rc == DP_LINES_TOO_LONG)
			continue;
		CHECK(len <= 4096 && strlen(line) <= len);
		/* The parse every record goes through is jq's: the same
		 * value, by its dump, or the same error. */
		jv mine = dp_jscan_parse(line, len), jqs = jv_parse_sized(line, (int)len);
		CHECK(jv_is_valid(mine) == jv_is_valid(jqs));
		jv a = jv_is_valid(mine) ? jv_dump_string(mine, 0) : jv_invalid_get_msg(mine);
		jv b = jv_is_valid(jqs) ? jv_dump_string(jqs, 0) : jv_invalid_get_msg(jqs);
		CHECK(strcmp(jv_string_value(a), jv_string_value(b)) == 0);
		jv_free(a), jv_free(b);
		jv rec = dp_record_parse(line, len, &err);
		/* dp_record_head checks what dp_record_parse checks and
		 * gives the same record without its chunks (jscan.c). */
		jv head = dp_record_head(line, len, &err);
		CHECK(jv_is_valid(head) == jv_is_valid(rec));
		if (jv_is_valid(rec))
			CHECK(jv_equal(jv_object_delete(jv_copy(rec), jv_string("chunks")), jv_copy(head)));
		jv_free(head);
		if (jv_is_valid(rec)) {
			CHECK(dp_record_kind(rec) != NULL);
			check_vectors(rec);
			check_accessors(rec);
			jv e = dp_record_error(jv_copy(rec), "fuzz", "reason");
			CHECK(strcmp(dp_record_kind(e), "error") == 0);
			jv_free(e);
		}
		jv_free(rec);
	}
	dp_lines_free(&lines);
	close(fds[0]);
	return 0;
}
