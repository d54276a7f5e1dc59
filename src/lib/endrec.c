#include "endrec.h"

#include <stdio.h>
#include <string.h>

#include "record.h"

/* end's "unread": an array of strings, one at least; else invalid. */
static jv unread_list(jv end)
{
	jv unread = jv_get_kind(end) == JV_KIND_OBJECT ? jv_object_get(jv_copy(end), jv_string("unread"))
						       : jv_invalid();
	if (jv_get_kind(unread) != JV_KIND_ARRAY || jv_array_length(jv_copy(unread)) == 0) {
		jv_free(unread);
		return jv_invalid();
	}
	jv_array_foreach(unread, i, p) {
		int text = jv_get_kind(p) == JV_KIND_STRING;
		jv_free(p);
		if (!text) {
			jv_free(unread);
			return jv_invalid();
		}
	}
	return unread;
}

int dp_end_proves(jv end, double seen, char *why, size_t size)
{
	double records, status;
	const char *kind = jv_get_kind(end) == JV_KIND_OBJECT ? dp_record_kind(end) : NULL;

	if (kind == NULL || strcmp(kind, DP_KIND_END) != 0) {
		snprintf(why, size, "discovery did not finish (no end record: discover, or docpipe-watch"
				    " before its first pass was over, was killed, failed, or its output was cut)");
		return 0;
	}
	if (dp_record_num(end, "records", &records) < 0 || dp_record_num(end, "status", &status) < 0) {
		snprintf(why, size, "the end record lacks \"records\" or \"status\"");
		return 0;
	}
	jv complete = jv_object_get(jv_copy(end), jv_string("complete"));
	jv unread = unread_list(end);
	/* Parts not read, each listed: what is stored under them is kept. */
	int walked = jv_get_kind(complete) == JV_KIND_TRUE || jv_is_valid(unread);
	jv_free(complete);
	jv_free(unread);
	/* Status 1 only says some files became error records: those carry
	 * their paths, and the store marks them, so a sweep keeps them. */
	if ((status != 0 && status != 1) || !walked) {
		snprintf(why, size, "the walk did not read everything (status %.0f%s)", status,
			 walked ? "" : ", a root or directory unread");
		return 0;
	}
	if (records != seen) {
		const char *stage = dp_record_str(end, "stage");
		snprintf(why, size, "%s wrote %.0f records but %.0f arrived",
			 stage != NULL && strcmp(stage, "watch") == 0 ? "docpipe-watch's first pass" : "discover",
			 records, seen);
		return 0;
	}
	return 1;
}

jv dp_end_unread(jv end)
{
	jv unread = unread_list(end);
	return jv_is_valid(unread) ? unread : (jv_free(unread), jv_array());
}
