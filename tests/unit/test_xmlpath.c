/* Unit tests of xml_node_path (src/chunk/xmlpath.c): the same string as
 * libxml2's xmlGetNodePath for every element of parsed HTML, namespaced XML
 * and random trees, whatever order the paths are asked in. */
#include <stdlib.h>

#include <libxml/HTMLparser.h>
#include <libxml/parser.h>

#include "../../src/chunk/xmlpath.h"
#include "t.h"

/* Compares both paths for every element of the subtree at n, in document
 * order or, with reverse, children last first.  Returns the mismatches
 * (the first one is printed). */
static int compare(xmlNodePtr n, int reverse, int *checked)
{
	int bad = 0;
	if (n->type == XML_ELEMENT_NODE) {
		xmlChar *want = xmlGetNodePath(n), *got = xml_node_path(n);
		(*checked)++;
		if (want == NULL || got == NULL || xmlStrcmp(want, got) != 0) {
			if (bad == 0)
				printf("#   got '%s', want '%s'\n", got ? (char *)got : "(null)",
				       want ? (char *)want : "(null)");
			bad++;
		}
		xmlFree(want);
		xmlFree(got);
	}
	for (xmlNodePtr c = reverse ? n->last : n->children; c != NULL; c = reverse ? c->prev : c->next)
		bad += compare(c, reverse, checked);
	return bad;
}

static void clear_memo(xmlNodePtr n)
{
	n->_private = NULL;
	for (xmlNodePtr c = n->children; c != NULL; c = c->next)
		clear_memo(c);
}

static void check_doc(xmlDocPtr doc, const char *name)
{
	char what[160];
	int checked = 0;
	T_OK(doc != NULL, name);
	if (doc == NULL)
		return;
	snprintf(what, sizeof what, "%s: every element's path, in document order", name);
	T_EQ_INT(compare((xmlNodePtr)doc, 0, &checked), 0, what);
	T_OK(checked > 0, "... elements were checked");
	clear_memo((xmlNodePtr)doc);
	snprintf(what, sizeof what, "%s: every element's path, last first", name);
	T_EQ_INT(compare((xmlNodePtr)doc, 1, &checked), 0, what);
	xmlFreeDoc(doc);
}

static void test_parsed(void)
{
	const char *html = "<html><head><title>t</title></head><body><h1>a</h1><p>x</p><div><p>y</p>"
			   "<p>z<b>b</b><i>i</i><b>c</b></p></div><p>w</p><ul><li>1</li></ul>"
			   "<x-1>u</x-1><x-2>v</x-2><section><p>only</p></section></body></html>";
	check_doc(htmlReadMemory(html, (int)strlen(html), NULL, NULL,
				 HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET),
		  "HTML");

	/* A default namespace prints "*" and counts every element; prefixes
	 * count their own; a prefix bound twice to different URIs is still
	 * one name to libxml2. */
	const char *xml = "<w:document xmlns:w=\"urn:w\" xmlns:v=\"urn:v\"><w:body>"
			  "<w:p>1</w:p><w:tbl><w:tr><w:tc><w:p>2</w:p></w:tc><w:tc/></w:tr></w:tbl>"
			  "<w:p>3</w:p><v:p/><p/><p/><x xmlns=\"urn:d\"><y/><z/><y/></x>"
			  "<w:p xmlns:w=\"urn:other\"/><q xmlns=\"urn:d\"/><q/>"
			  "</w:body></w:document>";
	check_doc(xmlReadMemory(xml, (int)strlen(xml), NULL, NULL, XML_PARSE_NONET), "namespaced XML");

	/* A prefixed name longer than libxml2's 100-byte buffer is cut as it
	 * cuts it. */
	char longxml[1024];
	char pre[120];
	memset(pre, 'n', sizeof pre - 1);
	pre[sizeof pre - 1] = '\0';
	snprintf(longxml, sizeof longxml, "<%s:r xmlns:%s=\"urn:l\"><%s:c/><%s:c/></%s:r>", pre, pre, pre,
		 pre, pre);
	check_doc(xmlReadMemory(longxml, (int)strlen(longxml), NULL, NULL, XML_PARSE_NONET),
		  "a long prefix");
}

/* A random tree: elements of a few names, some in a default or prefixed
 * namespace, mixed with text and comments. */
static void grow(xmlNodePtr parent, xmlNsPtr *ns, int depth, unsigned *seed)
{
	static const char *const names[] = {"p", "div", "q", "li"};
	int n = 1 + rand_r(seed) % 6;
	for (int i = 0; i < n; i++) {
		int what = rand_r(seed) % 10;
		if (what == 0) {
			xmlAddChild(parent, xmlNewText(BAD_CAST "t"));
			continue;
		}
		if (what == 1) {
			xmlAddChild(parent, xmlNewComment(BAD_CAST "c"));
			continue;
		}
		xmlNodePtr c = xmlNewChild(parent, ns[rand_r(seed) % 4], BAD_CAST names[rand_r(seed) % 4], NULL);
		if (depth < 4 && rand_r(seed) % 2 == 0)
			grow(c, ns, depth + 1, seed);
	}
}

static void test_random(void)
{
	int bad = 0, checked = 0;
	for (unsigned s = 1; s <= 200; s++) {
		unsigned seed = s;
		xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
		xmlNodePtr root = xmlNewNode(NULL, BAD_CAST "root");
		xmlDocSetRootElement(doc, root);
		xmlNsPtr ns[4] = {NULL, xmlNewNs(root, BAD_CAST "urn:d", NULL),
				  xmlNewNs(root, BAD_CAST "urn:a", BAD_CAST "a"),
				  xmlNewNs(root, BAD_CAST "urn:b", BAD_CAST "b")};
		grow(root, ns, 0, &seed);
		bad += compare((xmlNodePtr)doc, s % 2, &checked);
		xmlFreeDoc(doc);
	}
	T_EQ_INT(bad, 0, "200 random trees: every element's path as libxml2's");
	T_OK(checked > 2000, "... over 2,000 elements");
}

/* The case that was quadratic: many siblings.  Every path is checked
 * against a count, not against libxml2 (which would take the quadratic
 * time this module exists to avoid). */
static void test_many_siblings(void)
{
	xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr body = xmlNewNode(NULL, BAD_CAST "body");
	xmlDocSetRootElement(doc, body);
	enum { N = 100000 };
	for (int i = 0; i < N; i++)
		xmlNewChild(body, NULL, BAD_CAST(i % 2 ? "p" : "h2"), NULL);
	int bad = 0, i = 0;
	char want[64];
	for (xmlNodePtr c = body->children; c != NULL; c = c->next, i++) {
		snprintf(want, sizeof want, "/body/%s[%d]", i % 2 ? "p" : "h2", i / 2 + 1);
		xmlChar *got = xml_node_path(c);
		bad += got == NULL || strcmp((char *)got, want) != 0;
		xmlFree(got);
	}
	T_EQ_INT(bad, 0, "100,000 siblings: each numbered among its name");
	xmlFreeDoc(doc);
}

int main(void)
{
	xmlInitParser();
	test_parsed();
	test_random();
	test_many_siblings();
	xmlCleanupParser();
	return t_done();
}
