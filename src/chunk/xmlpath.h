/* The XPath of a node of a parsed document, as libxml2's xmlGetNodePath
 * writes it ("/html/body/div[2]/p[7]"), in time linear in the document.
 *
 * xmlGetNodePath counts a node's same-name siblings on every call, so the
 * paths of all the chunks of a document of n siblings (200k <p> in one
 * <body>) cost O(n^2): minutes.  Here a parent's children are numbered once,
 * the first time a path passes through it, and each child keeps its number
 * in its _private field (libxml2 leaves that field to the application). */
#ifndef DP_CHUNK_XMLPATH_H
#define DP_CHUNK_XMLPATH_H

#include <libxml/tree.h>

/* The path of node, the same string as xmlGetNodePath(node).  Returns a
 * string to free with xmlFree, or NULL (out of memory, or node NULL).
 * Numbers children in the _private fields of node's ancestors' children:
 * nothing else may use _private in this document, and the tree must not
 * change between calls. */
xmlChar *xml_node_path(xmlNodePtr node);

#endif
