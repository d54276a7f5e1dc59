/* ZIP containers read safely (libzip, from memory) and EPUB (convert.h).
 *
 * Zip bombs: an archive is refused when it has more than
 * CONV_ZIP_MAX_ENTRIES entries or its entries declare more than
 * CONV_ZIP_MAX_BYTES uncompressed in total, before anything is inflated;
 * an entry that inflates to more than its declared size is refused at the
 * first byte over it (a lying header).  Path tricks: entry names that are
 * absolute, hold a ".." component or a backslash refuse the archive; EPUB
 * references are resolved against the package document's folder and must
 * stay inside.
 *
 * EPUB: META-INF/container.xml names the package document (OPF); its
 * metadata (dc:title, dc:creator, dc:language, dc:subject, dc:description,
 * dc:publisher) becomes the document's meta; the spine's items are read in
 * order through the HTML converter, each locator prefixed with the entry
 * name and '#'. */
#include "convert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <zip.h>

static int bad_name(const char *name)
{
	if (name[0] == '/' || strchr(name, '\\') != NULL)
		return 1;
	for (const char *p = name; (p = strstr(p, "..")) != NULL; p += 2)
		if ((p == name || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
			return 1;
	return 0;
}

int conv_zip_open(conv_zip *z, const char *buf, size_t len, dp_err *err)
{
	zip_error_t ze;
	zip_error_init(&ze);
	z->za = NULL;
	z->budget = CONV_ZIP_MAX_BYTES;
	zip_source_t *src = zip_source_buffer_create(buf, len, 0, &ze);
	if (src != NULL && (z->za = zip_open_from_source(src, ZIP_RDONLY, &ze)) == NULL)
		zip_source_free(src);
	if (z->za == NULL) {
		dp_err_set(err, "damaged ZIP container: %s", zip_error_strerror(&ze));
		zip_error_fini(&ze);
		return -1;
	}
	zip_error_fini(&ze);
	zip_int64_t n = zip_get_num_entries(z->za, 0);
	if (n < 0 || n > CONV_ZIP_MAX_ENTRIES) {
		dp_err_set(err, "ZIP container refused: %lld entries (limit %d)", (long long)n,
			   CONV_ZIP_MAX_ENTRIES);
		goto refuse;
	}
	unsigned long long total = 0;
	for (zip_int64_t i = 0; i < n; i++) {
		zip_stat_t st;
		if (zip_stat_index(z->za, (zip_uint64_t)i, ZIP_FL_ENC_RAW, &st) != 0 ||
		    !(st.valid & ZIP_STAT_NAME)) {
			dp_err_set(err, "damaged ZIP container: entry %lld unreadable", (long long)i);
			goto refuse;
		}
		if (bad_name(st.name)) {
			dp_err_set(err, "ZIP container refused: entry name '%.100s' leaves the archive",
				   st.name);
			goto refuse;
		}
		if (st.valid & ZIP_STAT_SIZE)
			total += st.size;
		if (total > CONV_ZIP_MAX_BYTES) {
			dp_err_set(err, "ZIP container refused (zip bomb?): entries inflate to more "
					"than %llu bytes", (unsigned long long)CONV_ZIP_MAX_BYTES);
			goto refuse;
		}
	}
	z->declared = (size_t)total;
	return 0;
refuse:
	conv_zip_close(z);
	return -1;
}

void conv_zip_close(conv_zip *z)
{
	if (z->za != NULL)
		zip_discard(z->za);
	z->za = NULL;
}

int conv_zip_read(conv_zip *z, const char *name, char **out, size_t *len, dp_err *err)
{
	*out = NULL;
	*len = 0;
	zip_int64_t i = bad_name(name) ? -1 : zip_name_locate(z->za, name, ZIP_FL_ENC_RAW);
	if (i < 0)
		return 0;
	zip_stat_t st;
	if (zip_stat_index(z->za, (zip_uint64_t)i, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE)) {
		dp_err_set(err, "damaged ZIP entry %.100s: no size", name);
		return -1;
	}
	/* conv_zip_open checked the declared sizes against the budget; an
	 * entry that inflates to more than it declares is lying. */
	size_t declared = (size_t)st.size, n = 0;
	char *buf = malloc(declared + 1);
	zip_file_t *f = buf != NULL ? zip_fopen_index(z->za, (zip_uint64_t)i, 0) : NULL;
	if (f == NULL) {
		dp_err_set(err, "damaged ZIP entry %.100s: %s", name,
			   buf == NULL ? "out of memory" : zip_strerror(z->za));
		free(buf);
		return -1;
	}
	for (;;) {
		/* One byte more than declared, to notice a lie. */
		zip_int64_t got = zip_fread(f, buf + n, declared + 1 - n);
		if (got < 0) {
			dp_err_set(err, "damaged ZIP entry %.100s: %s", name,
				   zip_error_strerror(zip_file_get_error(f)));
			goto fail;
		}
		if (got == 0)
			break;
		n += (size_t)got;
		if (n > declared) {
			dp_err_set(err, "ZIP container refused (zip bomb?): entry %.100s inflates "
					"beyond its declared %zu bytes", name, declared);
			goto fail;
		}
	}
	if (n > z->budget) { /* declared sizes were summed when opened: defensive */
		dp_err_set(err, "ZIP container refused (zip bomb?): more than %llu bytes inflated",
			   (unsigned long long)CONV_ZIP_MAX_BYTES);
		goto fail;
	}
	z->budget -= n;
	zip_fclose(f);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 1;
fail:
	zip_fclose(f);
	free(buf);
	return -1;
}

xmlDocPtr conv_zip_xml(conv_zip *z, conv_out *o, const char *name, conv_block_fn block,
		       void *block_data, int *rc, dp_err *err)
{
	char *data;
	size_t len;
	*rc = conv_zip_read(z, name, &data, &len, err);
	if (*rc <= 0)
		return NULL;
	size_t over = conv_attrs_over(data, len);
	if (over > 0) {
		dp_err_set(err, "XML in %.100s refused: an element with more than %d attributes (line %zu)",
			   name, CONV_MAX_ATTRS, over);
		free(data);
		*rc = -1;
		return NULL;
	}
	conv_guard g = {0};
	xmlParserCtxtPtr ctxt = len <= INT32_MAX ? xmlNewParserCtxt() : NULL;
	if (ctxt != NULL) {
		conv_guard_parse(&g, o, ctxt);
		g.block = block;
		g.data = block_data;
	}
	xmlDocPtr doc = ctxt != NULL ? xmlCtxtReadMemory(ctxt, data, (int)len, NULL, NULL,
							 XML_PARSE_NONET | XML_PARSE_NOERROR |
								 XML_PARSE_NOWARNING)
				     : NULL;
	free(data);
	/* A parse the guard stopped can return a well-formed tree of the
	 * part before the stop: not the document. */
	if (g.stop != CONV_STOP_NONE || doc == NULL || xmlDocGetRootElement(doc) == NULL) {
		/* libxml2's reason, so that a part nested past its 256 levels
		 * is not taken for a broken file. */
		const xmlError *e = ctxt != NULL ? xmlCtxtGetLastError(ctxt) : NULL;
		if (g.stop == CONV_STOP_NODES)
			dp_err_set(err, "XML in %.100s refused: the document's parts hold more than %u "
					"nodes (limit)", name, CONV_MAX_NODES);
		else if (e != NULL && e->message != NULL && strncmp(e->message, "Excessive depth", 15) == 0)
			dp_err_set(err, "XML in %.100s nested deeper than 256 levels (line %d)", name,
				   e->line);
		else if (e != NULL && e->message != NULL)
			dp_err_set(err, "damaged XML in %.100s: line %d: %.*s", name, e->line,
				   (int)strcspn(e->message, "\n"), e->message);
		else
			dp_err_set(err, "damaged XML in %.100s", name);
		xmlFreeDoc(doc);
		xmlFreeParserCtxt(ctxt);
		*rc = -1;
		return NULL;
	}
	xmlFreeParserCtxt(ctxt);
	*rc = 1;
	return doc;
}

/* ---- EPUB ---- */

int conv_xml_is(const xmlNode *n, const char *name)
{
	return n != NULL && n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

xmlNode *conv_xml_child(xmlNode *n, const char *name)
{
	for (xmlNode *c = n != NULL ? n->children : NULL; c != NULL; c = c->next)
		if (conv_xml_is(c, name))
			return c;
	return NULL;
}

/* The package document's path, from META-INF/container.xml, into path. */
static int opf_path(conv_zip *z, conv_out *o, char *path, size_t size, dp_err *err)
{
	int rc;
	xmlDocPtr doc = conv_zip_xml(z, o, "META-INF/container.xml", NULL, NULL, &rc, err);
	if (doc == NULL) {
		if (rc == 0)
			dp_err_set(err, "damaged EPUB: no META-INF/container.xml");
		return -1;
	}
	xmlNode *rf = conv_xml_child(conv_xml_child(xmlDocGetRootElement(doc), "rootfiles"), "rootfile");
	xmlChar *p = rf != NULL ? xmlGetProp(rf, (const xmlChar *)"full-path") : NULL;
	rc = p != NULL && strlen((const char *)p) < size ? 0 : -1;
	if (rc == 0)
		snprintf(path, size, "%s", (const char *)p);
	else
		dp_err_set(err, "damaged EPUB: container.xml names no package document");
	xmlFree(p);
	xmlFreeDoc(doc);
	return rc;
}

static void opf_meta(conv_out *o, xmlNode *metadata)
{
	static const char *const keys[][2] = {
		{"title", "title"},     {"creator", "author"},          {"language", "language"},
		{"subject", "subject"}, {"description", "description"}, {"publisher", "publisher"},
	};
	for (xmlNode *m = metadata != NULL ? metadata->children : NULL; m != NULL; m = m->next)
		for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
			if (conv_xml_is(m, keys[k][0])) {
				xmlChar *v = xmlNodeGetContent(m);
				conv_meta(o, keys[k][1], (const char *)v);
				xmlFree(v);
			}
}

/* dir + href (percent escapes decoded, fragment dropped, "." and ".."
 * segments resolved as in a URL: an OPF in OEBPS/content/ names its
 * chapters "../Text/ch1.xhtml"; "./ch1.xhtml" and "x/../ch1.xhtml" were
 * "missing") into out.  Returns 0, or -1 when the name is too long or
 * leaves the archive (a ".." above its root, a leading '/', a backslash). */
static int resolve(const char *dir, const char *href, char *out, size_t size)
{
	char joined[1024];
	size_t n = (size_t)snprintf(joined, sizeof joined, "%s", dir), o = 0;
	for (const char *p = href; *p != '\0' && *p != '#' && n + 1 < sizeof joined; p++) {
		unsigned v;
		if (p[0] == '%' && sscanf(p + 1, "%2x", &v) == 1 && v != 0) {
			joined[n++] = (char)v;
			p += 2;
		} else {
			joined[n++] = *p;
		}
	}
	if (n + 1 >= sizeof joined || n + 1 > size)
		return -1;
	joined[n] = '\0';
	/* out gets each segment with the '/' after it, if any. */
	for (const char *seg = joined; *seg != '\0';) {
		size_t len = strcspn(seg, "/");
		int slash = seg[len] == '/';
		if (len == 2 && seg[0] == '.' && seg[1] == '.') {
			if (o == 0)
				return -1;
			o--; /* the '/' after the last segment kept */
			while (o > 0 && out[o - 1] != '/')
				o--;
		} else if (!(len == 1 && seg[0] == '.')) {
			memcpy(out + o, seg, len + (size_t)slash);
			o += len + (size_t)slash;
		}
		seg += len + (size_t)slash;
	}
	out[o] = '\0';
	return bad_name(out) ? -1 : 0;
}

/* Reads the chapter at href (relative to dir, the package document's
 * folder) through the HTML converter, unless its entry is in *read (the
 * entries read so far, as an object's keys; it is added).  An entry is
 * read once: EPUB wants itemrefs unique, and a spine listing one item
 * 200,000 times made its text, and trees, 200,000 times; 5000 manifest
 * items naming one 1 MB chapter read it until the ZIP budget refused the
 * book (147 MB, 1.2 s). */
static int chapter(conv_out *o, conv_zip *z, const char *dir, const char *href, jv *read,
		   const conv_opts *opts, dp_err *err)
{
	char name[1024], *data;
	size_t len;
	if (resolve(dir, href, name, sizeof name) < 0) {
		dp_err_set(err, "EPUB refused: spine item '%.100s' leaves the archive", href);
		return -1;
	}
	if (jv_object_has(jv_copy(*read), jv_string(name)))
		return 0;
	*read = jv_object_set(*read, jv_string(name), jv_true());
	int rc = conv_zip_read(z, name, &data, &len, err);
	if (rc == 0)
		dp_err_set(err, "damaged EPUB: spine item %.100s missing", name);
	if (rc <= 0)
		return -1;
	snprintf(o->prefix, sizeof o->prefix, "%.200s#", name);
	rc = conv_html_part(o, data, len, opts, err);
	free(data);
	if (rc < 0) { /* which chapter */
		dp_err why = *err;
		dp_err_set(err, "%.100s: %s", name, why.msg);
	}
	return rc;
}

/* Whether an OPF media type is one the HTML converter reads. */
static int is_html_type(const xmlChar *type)
{
	return xmlStrEqual(type, (const xmlChar *)"application/xhtml+xml") ||
	       xmlStrEqual(type, (const xmlChar *)"text/html");
}

/* The manifest as an object: id -> href, or null for an item that is not
 * (X)HTML.  The first item of an id wins.  Built once: looking each itemref
 * up in the manifest cost O(items) per itemref, 20 s for 40,000 chapters. */
static jv manifest_index(xmlNode *manifest)
{
	jv index = jv_object();
	for (xmlNode *it = manifest->children; it != NULL; it = it->next) {
		if (!conv_xml_is(it, "item"))
			continue;
		xmlChar *id = xmlGetProp(it, (const xmlChar *)"id");
		xmlChar *href = xmlGetProp(it, (const xmlChar *)"href");
		xmlChar *type = xmlGetProp(it, (const xmlChar *)"media-type");
		if (id != NULL && href != NULL &&
		    !jv_object_has(jv_copy(index), jv_string((const char *)id)))
			index = jv_object_set(index, jv_string((const char *)id),
					      is_html_type(type) ? jv_string((const char *)href)
								 : jv_null());
		xmlFree(id);
		xmlFree(href);
		xmlFree(type);
	}
	return index;
}

static int spine(conv_out *o, conv_zip *z, xmlNode *pkg, const char *dir, const conv_opts *opts,
		 dp_err *err)
{
	xmlNode *manifest = conv_xml_child(pkg, "manifest");
	xmlNode *sp = conv_xml_child(pkg, "spine");
	if (manifest == NULL || sp == NULL) {
		dp_err_set(err, "damaged EPUB: package without manifest or spine");
		return -1;
	}
	jv index = manifest_index(manifest), read = jv_object();
	int rc = 0;
	for (xmlNode *ref = sp->children; ref != NULL && rc == 0; ref = ref->next) {
		if (!conv_xml_is(ref, "itemref"))
			continue;
		xmlChar *idref = xmlGetProp(ref, (const xmlChar *)"idref");
		jv href = idref != NULL ? jv_object_get(jv_copy(index), jv_string((const char *)idref))
					: jv_invalid();
		/* else unknown or not (X)HTML */
		if (jv_get_kind(href) == JV_KIND_STRING)
			rc = chapter(o, z, dir, jv_string_value(href), &read, opts, err);
		xmlFree(idref);
		jv_free(href);
	}
	jv_free(index);
	jv_free(read);
	return rc;
}

int conv_epub(conv_out *o, const char *buf, size_t len, const conv_opts *opts, dp_err *err)
{
	conv_zip z;
	char path[1024], dir[1024];
	int rc = -1;

	o->format = "epub";
	o->version = CONV_HTML_VERSION; /* its chapters are conv_html_part's */
	snprintf(o->converter, sizeof o->converter, "libzip %s, libxml2 %s", zip_libzip_version(),
		 LIBXML_DOTTED_VERSION);
	if (conv_zip_open(&z, buf, len, err) < 0)
		return -1;
	conv_text_limit(o, z.declared);
	if (opf_path(&z, o, path, sizeof path, err) < 0)
		goto out;
	xmlDocPtr opf = conv_zip_xml(&z, o, path, NULL, NULL, &rc, err);
	if (opf == NULL) {
		if (rc == 0)
			dp_err_set(err, "damaged EPUB: package document %.100s missing", path);
		rc = -1;
		goto out;
	}
	const char *slash = strrchr(path, '/');
	snprintf(dir, sizeof dir, "%.*s", slash != NULL ? (int)(slash - path + 1) : 0, path);
	xmlNode *pkg = xmlDocGetRootElement(opf);
	opf_meta(o, conv_xml_child(pkg, "metadata"));
	rc = spine(o, &z, pkg, dir, opts, err);
	o->prefix[0] = '\0';
	xmlFreeDoc(opf);
out:
	conv_zip_close(&z);
	return rc;
}
