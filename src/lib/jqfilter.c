#include "jqfilter.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jq.h>

#include "record.h"

/* Bounds the outputs of one input, so `--jq 'range(1e9)'` cannot exhaust
 * memory. */
#define DP_JQ_MAX_OUTPUTS 1024

struct dp_jq {
	jq_state *state;
	pthread_mutex_t lock;
};

/* Collects compile messages: jq reports them through this callback, which
 * owns msg. */
static void keep_message(void *data, jv msg)
{
	dp_err *err = data;
	size_t used = strlen(err->msg);

	msg = jq_format_error(msg);
	if (used < sizeof err->msg - 1)
		snprintf(err->msg + used, sizeof err->msg - used, "%s%s", used ? "; " : "",
			 jv_string_value(msg));
	jv_free(msg);
}

static void drop_message(void *data, jv msg)
{
	(void)data;
	jv_free(msg);
}

dp_jq *dp_jq_new(const char *program, dp_err *err)
{
	dp_jq *jq = calloc(1, sizeof *jq);
	dp_err compile = {{0}};

	if (jq == NULL || (jq->state = jq_init()) == NULL) {
		free(jq);
		dp_err_set(err, "out of memory");
		return NULL;
	}
	jq_set_error_cb(jq->state, keep_message, &compile);
	if (!jq_compile(jq->state, program)) {
		dp_err_set(err, "--jq: %s", compile.msg[0] ? compile.msg : "does not compile");
		jq_teardown(&jq->state);
		free(jq);
		return NULL;
	}
	/* Runtime messages come back from jq_next; none should reach stderr. */
	jq_set_error_cb(jq->state, drop_message, NULL);
	pthread_mutex_init(&jq->lock, NULL);
	return jq;
}

void dp_jq_free(dp_jq **jq)
{
	if (*jq == NULL)
		return;
	jq_teardown(&(*jq)->state);
	pthread_mutex_destroy(&(*jq)->lock);
	free(*jq);
	*jq = NULL;
}

/* Puts the error record of input (consumed) for why.  Returns put's
 * negative return, else 1: the record failed, which the stage's exit
 * status must say as it does for its other error records. */
static int failed(dp_jq_put_fn put, void *arg, jv input, const char *why)
{
	char reason[DP_ERR_MAX];

	snprintf(reason, sizeof reason, "--jq: %s", why);
	int rc = put(arg, dp_record_error(input, dp_stage(), reason));
	return rc < 0 ? rc : 1;
}

int dp_jq_each(dp_jq *jq, jv rec, dp_jq_put_fn put, void *arg)
{
	int n = 0, rc = 0, more = 0;

	pthread_mutex_lock(&jq->lock);
	jq_start(jq->state, jv_copy(rec), 0);
	while (rc >= 0) {
		jv out = jq_next(jq->state);

		if (!jv_is_valid(out)) {
			if (jv_invalid_has_msg(jv_copy(out))) {
				jv msg = jv_invalid_get_msg(out);
				if (jv_get_kind(msg) != JV_KIND_STRING)
					msg = jv_dump_string(msg, 0);
				rc = failed(put, arg, jv_copy(rec), jv_string_value(msg));
				jv_free(msg);
			} else {
				jv_free(out);
			}
			break;
		}
		if (++n > DP_JQ_MAX_OUTPUTS) {
			jv_free(out);
			rc = failed(put, arg, jv_copy(rec), "too many outputs for one record");
			break;
		}
		if (jv_get_kind(out) != JV_KIND_OBJECT) {
			char why[128];
			snprintf(why, sizeof why, "produced a %s, not a record",
				 jv_kind_name(jv_get_kind(out)));
			jv_free(out);
			rc = failed(put, arg, jv_copy(rec), why);
		} else if (dp_record_kind(out) == NULL) {
			jv_free(out);
			rc = failed(put, arg, jv_copy(rec), "produced an object without \"kind\"");
		} else {
			rc = put(arg, out);
		}
		more |= rc > 0;
	}
	jv_free(rec);
	pthread_mutex_unlock(&jq->lock);
	return rc < 0 ? rc : more | (rc > 0);
}
