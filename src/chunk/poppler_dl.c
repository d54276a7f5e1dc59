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

/* The smallest PDF poppler reads without a complaint: one empty page
 * (its xref offsets exact: a repaired xref is a warning on stderr). */
static const char one_page_pdf[] =
	"%PDF-1.4\n"
	"1 0 obj\n<</Type/Catalog/Pages 2 0 R>>\nendobj\n"
	"2 0 obj\n<</Type/Pages/Kids[3 0 R]/Count 1>>\nendobj\n"
	"3 0 obj\n<</Type/Page/Parent 2 0 R/MediaBox[0 0 1 1]>>\nendobj\n"
	"xref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000054 00000 n \n"
	"0000000105 00000 n \ntrailer\n<</Size 4/Root 1 0 R>>\nstartxref\n166\n%%EOF\n";

/* Reads one_page_pdf's text once, before any thread converts a PDF.
 * poppler makes some of its state on first use without a lock:
 * GfxState's constructor sets its static sRGB colour profile when it
 * finds none (a std::shared_ptr: `if (!sRGBProfile) sRGBProfile = ...`),
 * and chunk's --threads N reading PDFs side by side made it at once on
 * two threads, one freeing the profile the other had just stored
 * (ThreadSanitizer, chunk_pdf_load; docs/RELIABILITY.md, "ThreadSanitizer
 * over docpipe").  Made here, under load's once, every later GfxState
 * finds it.  A warm-up that fails changes nothing: the first PDF then
 * makes that state, as before. */
static void warm_up(void)
{
	GBytes *bytes = table.dl_g_bytes_new_static(one_page_pdf, sizeof one_page_pdf - 1);
	GError *error = NULL;
	PopplerDocument *doc = table.dl_poppler_document_new_from_bytes(bytes, NULL, &error);
	PopplerPage *page = doc != NULL ? table.dl_poppler_document_get_page(doc, 0) : NULL;

	if (page != NULL) {
		table.dl_g_free(table.dl_poppler_page_get_text(page));
		table.dl_g_object_unref(page);
	}
	if (doc != NULL)
		table.dl_g_object_unref(doc);
	table.dl_g_clear_error(&error);
	table.dl_g_bytes_unref(bytes);
}

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
	warm_up();
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
