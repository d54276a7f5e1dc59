/* A node's XPath in linear time (xmlpath.h). */
#include "xmlpath.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A node's _private, once its parent's children are numbered:
 * (occurrence + 1) << 1, the occurrence as xmlGetNodePath prints it (0: no
 * "[n]"); bit 0 says the node's own children are numbered.  0 above bit 0:
 * not numbered yet. */
#define NUMBERED_CHILDREN ((uintptr_t)1)

static uintptr_t memo(const xmlNode *n)
{
	return (uintptr_t)n->_private;
}

/* libxml2 writes an element in the default namespace as "*" and counts
 * every element sibling for it; any other element counts the siblings of
 * its own name with no namespace, or with a namespace of its own prefix. */
static int generic(const xmlNode *n)
{
	return n->ns != NULL && n->ns->prefix == NULL;
}

typedef struct name_count {
	const xmlChar *name; /* NULL: a free slot */
	const xmlChar *prefix;
	int has_ns;
	size_t count;
} name_count;

static size_t name_hash(const xmlNode *n)
{
	size_t h = 1469598103934665603u;
	for (const xmlChar *s = n->name; *s != '\0'; s++)
		h = (h ^ *s) * 1099511628211u;
	h = (h ^ (n->ns != NULL ? 0x100u : 0x200u)) * 1099511628211u;
	if (n->ns != NULL)
		for (const xmlChar *s = n->ns->prefix; *s != '\0'; s++)
			h = (h ^ *s) * 1099511628211u;
	return h;
}

/* The slot of n's name in a table of cap (a power of two) slots, never
 * full: the slot holding it, or the free slot it goes into. */
static name_count *slot(name_count *table, size_t cap, const xmlNode *n)
{
	for (size_t i = name_hash(n) & (cap - 1);; i = (i + 1) & (cap - 1)) {
		name_count *e = &table[i];
		if (e->name == NULL)
			return e;
		if (e->has_ns == (n->ns != NULL) && xmlStrEqual(e->name, n->name) &&
		    (n->ns == NULL || xmlStrEqual(e->prefix, n->ns->prefix)))
			return e;
	}
}

/* Numbers parent's element children: each gets its occurrence (the count
 * of the earlier siblings of its kind plus one, or 1 when only later ones
 * exist, or 0 when it is alone).  Returns 0, or -1 (out of memory). */
static int number_children(xmlNode *parent)
{
	size_t n = 0;
	for (xmlNode *c = parent->children; c != NULL; c = c->next)
		n += c->type == XML_ELEMENT_NODE;
	size_t cap = 8;
	while (cap < 2 * n)
		cap *= 2;
	name_count *table = calloc(cap, sizeof *table);
	size_t *earlier = malloc((n > 0 ? n : 1) * sizeof *earlier);
	if (table == NULL || earlier == NULL) {
		free(table);
		free(earlier);
		return -1;
	}
	size_t i = 0;
	for (xmlNode *c = parent->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (generic(c)) {
			earlier[i] = i;
			i++;
			continue;
		}
		name_count *e = slot(table, cap, c);
		if (e->name == NULL)
			*e = (name_count){.name = c->name, .prefix = c->ns != NULL ? c->ns->prefix : NULL,
					  .has_ns = c->ns != NULL};
		earlier[i++] = e->count++;
	}
	i = 0;
	for (xmlNode *c = parent->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		size_t all = generic(c) ? n : slot(table, cap, c)->count;
		size_t k = earlier[i++];
		uintptr_t occur = k > 0 ? k + 1 : all > 1;
		c->_private = (void *)(((occur + 1) << 1) | (memo(c) & NUMBERED_CHILDREN));
	}
	parent->_private = (void *)(memo(parent) | NUMBERED_CHILDREN);
	free(table);
	free(earlier);
	return 0;
}

/* The step of element n: *shown gets its name as libxml2 writes it
 * (pointing into name, a buffer of 100 bytes where libxml2 cuts a prefixed
 * name, or at n's own name), digits its "[occurrence]" or "".  Returns the
 * step's length, or -1 (out of memory). */
static int step(xmlNode *n, char name[100], const char **shown, char digits[32])
{
	if ((memo(n->parent) & NUMBERED_CHILDREN) == 0 && number_children(n->parent) < 0)
		return -1;
	uintptr_t occur = (memo(n) >> 1) - 1;
	if (generic(n)) {
		*shown = "*";
	} else if (n->ns != NULL) {
		snprintf(name, 99, "%s:%s", (const char *)n->ns->prefix, (const char *)n->name);
		*shown = name;
	} else {
		*shown = (const char *)n->name;
	}
	digits[0] = '\0';
	if (occur > 0)
		snprintf(digits, 32, "[%ju]", (uintmax_t)occur);
	return (int)(1 + strlen(*shown) + strlen(digits));
}

/* Whether node's path is made of element steps below a document, the only
 * kind the memo numbers; anything else is left to libxml2. */
static int elements_to_document(const xmlNode *node)
{
	for (const xmlNode *n = node; n->type != XML_DOCUMENT_NODE && n->type != XML_HTML_DOCUMENT_NODE;
	     n = n->parent)
		if (n->type != XML_ELEMENT_NODE || n->parent == NULL)
			return 0;
	return 1;
}

xmlChar *xml_node_path(xmlNodePtr node)
{
	if (node == NULL)
		return NULL;
	if (node->type != XML_ELEMENT_NODE || !elements_to_document(node))
		return xmlGetNodePath(node);
	char name[100], digits[32];
	const char *shown;
	size_t len = 0;
	for (xmlNode *n = node; n->type == XML_ELEMENT_NODE; n = n->parent) {
		int l = step(n, name, &shown, digits);
		if (l < 0)
			return NULL;
		len += (size_t)l;
	}
	xmlChar *path = xmlMalloc(len + 1);
	if (path == NULL)
		return NULL;
	/* The steps are known from the node up: written from the end back. */
	size_t end = len;
	for (xmlNode *n = node; n->type == XML_ELEMENT_NODE; n = n->parent) {
		size_t l = (size_t)step(n, name, &shown, digits);
		end -= l;
		path[end] = '/';
		memcpy(path + end + 1, shown, strlen(shown));
		memcpy(path + end + 1 + strlen(shown), digits, strlen(digits));
	}
	path[len] = '\0';
	return path;
}
