#include "convert.h"
int conv_docx(conv_out *o, const char *buf, size_t len, dp_err *err) { (void)o; (void)buf; (void)len; dp_err_set(err, "DOCX not supported yet"); return -1; }
int conv_odt(conv_out *o, const char *buf, size_t len, dp_err *err) { (void)o; (void)buf; (void)len; dp_err_set(err, "ODT not supported yet"); return -1; }
int conv_epub(conv_out *o, const char *buf, size_t len, const conv_opts *opts, dp_err *err) { (void)o; (void)buf; (void)len; (void)opts; dp_err_set(err, "EPUB not supported yet"); return -1; }
