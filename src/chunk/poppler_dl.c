/* poppler-glib loaded on the first PDF (poppler_dl.h). */
#include "poppler_dl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>

#ifndef CHUNK_POPPLER_SONAME
#error "CHUNK_POPPLER_SONAME (libpoppler-glib's SONAME) comes from the Makefile"
#endif

static pthread_once_t once = PTHREAD_ONCE_INIT;
/* Written once by load (under once), read-only after. */
static chunk_poppler table;
static int loaded;
static dp_err failure;

/* RTLD_LAZY, as the libraries were bound when chunk was linked against
 * them: RTLD_NOW binds every function of poppler's ~40 libraries at once,
 * ~5 ms more on a process's first PDF (measured, docs/PERFORMANCE.md), and
 * the functions chunk calls are looked up here anyway.  RTLD_LOCAL:
 * poppler's and glib's symbols stay out of the process's global
 * scope.  The handle is never closed, not even when a function is missing:
 * libglib and libgobject cannot be unloaded (they are linked -z nodelete).
 * dlerror() is per thread: read in this thread right after the call that
 * failed. */
static void load(void)
{
	void *h = dlopen(CHUNK_POPPLER_SONAME, RTLD_LAZY | RTLD_LOCAL);
	if (h == NULL) {
		dp_err_set(&failure, "PDF not read: %s (poppler-glib, PDF support) cannot be loaded: %s",
			   CHUNK_POPPLER_SONAME, dlerror());
		return;
	}
	dlerror();
#define CHUNK_POPPLER_SYM(sym)                                                          \
	if ((table.dl_##sym = (__typeof__(table.dl_##sym))dlsym(h, #sym)) == NULL) {    \
		const char *why = dlerror();                                            \
		dp_err_set(&failure, "PDF not read: %s (poppler-glib, PDF support) lacks %s: %s", \
			   CHUNK_POPPLER_SONAME, #sym, why != NULL ? why : "no address");   \
		return;                                                                 \
	}
	CHUNK_POPPLER_FNS(CHUNK_POPPLER_SYM)
#undef CHUNK_POPPLER_SYM
	loaded = 1;
}

const chunk_poppler *chunk_poppler_get(dp_err *err)
{
	pthread_once(&once, load);
	if (!loaded) {
		*err = failure;
		return NULL;
	}
	return &table;
}
