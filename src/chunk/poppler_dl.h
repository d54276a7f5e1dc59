/* poppler-glib, loaded on the first PDF a process converts (session 32).
 *
 * docpipe-chunk is not linked against poppler-glib: that library maps ~40
 * more (cairo, glib/gobject/gio, freetype, lcms2, nss3, X11, ICU,
 * libstdc++ ...), whose loading and relocation was more than half of every
 * chunk process's start-up, PDFs or not (docs/PERFORMANCE.md, "chunk's
 * start-up").  convert_pdf.c calls poppler and glib only through the table
 * chunk_poppler_get returns; the types and prototypes are poppler's and
 * glib's own headers' (each pointer is declared with __typeof__ of the
 * function it holds, so a prototype cannot drift from the header).
 *
 * The library is opened by its SONAME, CHUNK_POPPLER_SONAME, which the
 * Makefile reads from the libpoppler-glib.so this build's headers belong to
 * (see POPPLER_SONAME there).  glib's functions are looked up in the same
 * handle: libpoppler-glib depends on libglib and libgobject, and dlsym on a
 * handle searches its dependencies. */
#ifndef DP_CHUNK_POPPLER_DL_H
#define DP_CHUNK_POPPLER_DL_H

#include <poppler.h>

#include "err.h"

/* Every function convert_pdf.c calls.  A new call there is a new line
 * here: the table is filled from this list. */
#define CHUNK_POPPLER_FNS(F)                                                    \
	F(poppler_get_version)                                                  \
	F(poppler_error_quark)                                                  \
	F(poppler_document_new_from_fd)                                         \
	F(poppler_document_new_from_bytes)                                      \
	F(poppler_document_get_n_pages)                                         \
	F(poppler_document_get_page)                                            \
	F(poppler_document_find_dest)                                           \
	F(poppler_document_get_title)                                           \
	F(poppler_document_get_author)                                          \
	F(poppler_document_get_subject)                                         \
	F(poppler_document_get_keywords)                                        \
	F(poppler_page_get_text)                                                \
	F(poppler_page_get_text_attributes)                                     \
	F(poppler_page_free_text_attributes)                                    \
	F(poppler_index_iter_new)                                               \
	F(poppler_index_iter_get_action)                                        \
	F(poppler_index_iter_get_child)                                         \
	F(poppler_index_iter_next)                                              \
	F(poppler_index_iter_free)                                              \
	F(poppler_action_free)                                                  \
	F(poppler_dest_free)                                                    \
	F(g_object_unref)                                                       \
	F(g_free)                                                               \
	F(g_strdup)                                                             \
	F(g_bytes_new_static)                                                   \
	F(g_bytes_unref)                                                        \
	F(g_clear_error)

/* Members are dl_<function>, not the function's own name: newer glib
 * headers make some of these names function-like macros (g_free, g_strdup),
 * which would rewrite a call through a member of the same name. */
typedef struct chunk_poppler {
#define CHUNK_POPPLER_PTR(sym) __typeof__(sym) *dl_##sym;
	CHUNK_POPPLER_FNS(CHUNK_POPPLER_PTR)
#undef CHUNK_POPPLER_PTR
} chunk_poppler;

/* Returns the table, every pointer set; the first call in the process
 * loads the library (any thread; concurrent callers wait for that one
 * load) and it stays loaded until the process ends.  Returns NULL with err
 * naming the library and dlerror()'s reason when it cannot be loaded or
 * lacks a function: the PDF fails, other formats are not concerned.  A
 * failed load is not tried again: every later call fails at once with the
 * same reason (a library search per PDF would only repeat it, and an
 * install during the run is picked up by the next process). */
const chunk_poppler *chunk_poppler_get(dp_err *err);

#endif
