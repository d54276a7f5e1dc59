#include "convert.h"
int conv_pdf(conv_out *o, const char *buf, size_t len, dp_err *err) { (void)o; (void)buf; (void)len; dp_err_set(err, "PDF not supported yet"); return -1; }
