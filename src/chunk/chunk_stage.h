/* docpipe-chunk's record work: read the file a `file` record names, check
 * it is still what discover saw, split it (chunker.h) and build the
 * `document` record (docs/protocol.md). */
#ifndef DP_CHUNK_STAGE_H
#define DP_CHUNK_STAGE_H

#include <stddef.h>
#include <sys/stat.h>

#include <jv.h>

#include "chunker.h"
#include "convert.h"
#include "err.h"
#include "hash.h"
#include "json.h"
#include "wide.h"

#define CHUNK_MAX_SIZE_DEFAULT (16ull << 20)

enum chunk_format_choice { CHUNK_FORMAT_AUTO = 0, CHUNK_FORMAT_MARKDOWN, CHUNK_FORMAT_TEXT };

typedef struct chunk_stage {
	chunk_opts opts;
	unsigned long long max_size;     /* bytes; larger files are refused */
	enum chunk_format_choice format; /* AUTO: by file name extension */
	char chunker_markdown[64];       /* identity strings, see chunk_stage_init */
	char chunker_text[64];
	conv_opts conv;                  /* other formats (convert.h); set after init */
} chunk_stage;

/* Fills the identity strings from the options.  Returns 0, or -1 with err
 * set when the options are out of range. */
int chunk_stage_init(chunk_stage *cs, const chunk_opts *opts, unsigned long long max_size,
		     enum chunk_format_choice format, dp_err *err);

/* The format for a path: .md and .markdown (any case) are Markdown unless
 * the choice forces one. */
enum chunk_format chunk_format_of(const char *path, enum chunk_format_choice choice);

/* Opens a regular file of at most max_size bytes for reading (no FIFO) and
 * fstat()s it into *st; *linked: the path is a symbolic link, read through
 * (a root given as a link to a file).  Returns the descriptor;
 * CHUNK_GONE when no file has the path any more (deleted since discovery:
 * chunk_gone); or -1 with err holding the reason as it goes into an error
 * record. */
#define CHUNK_GONE (-2)
int chunk_open_file(const char *path, unsigned long long max_size, struct stat *st, int *linked,
		    dp_err *err);

/* Whether the file open on fd has the size, mtime and ctime *before (its
 * fstat) gave.  A write since then changes its times, though not always
 * where this sees it (their granularity, a write under way when *before
 * was taken): 20 of 40 reads that mixed two versions passed this check
 * (ext4, Linux 6.18), so chunk_read_file does not rely on it alone. */
int chunk_file_unchanged(int fd, const struct stat *before);

/* Reads a whole regular file with one bounded read (*st and *linked as
 * chunk_open_file sets them; *st the read's) into a malloc'ed buffer
 * (NUL-terminated, *len bytes before the NUL) and its hash; want: the hash
 * discover gave (or NULL).  A read whose bytes are not want's is taken
 * only when the next whole read (same size and times before and after:
 * chunk_file_unchanged) has the same bytes, up to 3 reads: the file then
 * held them, no mix of two versions written while it was read.  NULL with
 * *gone set when the file is gone (CHUNK_GONE), else with err holding the
 * reason as it goes into an error record. */
char *chunk_read_file(const char *path, unsigned long long max_size, const char *want,
		      size_t *len, char hash[DP_HASH_HEX], int *gone, struct stat *st, int *linked,
		      dp_err *err);

/* The record for file record rec (consumed) whose file was deleted after
 * discovery (a temporary file, build output in a live tree): rec as a
 * delete record of its path (its other fields kept: root, run, stream,
 * seq ...), so the store removes what it stored for it and no failure is
 * counted, as for a file deleted while discover walks; said on stderr. */
jv chunk_gone(jv rec, const char *path);

/* Checks bytes read from a file (st: its fstat; linked: read through a
 * symbolic link) against the file record *file_rec that named it: same
 * size and hash.  A file edited since discovery (a live tree) is taken as
 * read: *file_rec (replaced) gets its hash, size and mtime, said on
 * stderr.  Bytes read through a symbolic link must be discover's (a link
 * put in the file's place is never taken).  Returns 0, or -1 with the
 * reason in err. */
int chunk_check_file(jv *file_rec, const char *buf, size_t len, const struct stat *st, int linked,
		     dp_err *err);

/* chunk_check_file with the hash (DP_HASH_HEX digits) and size given. */
int chunk_check_sum(jv *file_rec, const char *hash, size_t len, const struct stat *st, int linked,
		    dp_err *err);

/* The text is not a file of another kind by its
 * first bytes (conv_sniff: "looks like a PNG image, not text"), and is
 * UTF-16 or UTF-32 text (wide_detect: *wide filled, the caller decodes
 * it), or is valid UTF-8 (wide->unit 0) whose NUL bytes, if any, are
 * stray: at most 1 byte in 32, no other control byte but tab, LF, VT, FF,
 * CR and ESC (the caller replaces them: chunk_nuls_replace).  Latin-1 or
 * Windows-1252 text is refused naming it, with the iconv command that
 * converts it.  sniffed: what conv_sniff said of text when the caller ran
 * it ("" for text), or NULL to have it run here. */
int chunk_check_text(const char *text, size_t len, const char *sniffed, wide_enc *wide, dp_err *err);

/* The document record of a file another format converts to Markdown
 * (convert.h), buf checked by chunk_check_file: converts, splits.  Consumes
 * rec and buf (malloc'ed, freed as soon as it is converted: a big PDF need
 * not be held while its record is built); returns the document or an
 * error record. */
jv chunk_converted(const chunk_stage *cs, jv rec, enum conv_kind kind, const conv_command *cmd,
		   const char *path, char *buf, size_t len);

/* chunk_converted for a PDF, which poppler reads from the file as it needs
 * it, so a big PDF is never held in memory whole: the file is hashed by
 * streaming, then converted; a change of size or mtime meanwhile fails it. */
jv chunk_converted_pdf(const chunk_stage *cs, jv rec, const char *path);

/* How the text the chunker read maps onto the file's bytes when it is not
 * them: decoded from UTF-16/32 (wide), or with the stray NUL bytes read as
 * U+FFFD (nul_at[0..n_nul): the replacements' offsets in the text,
 * ascending, malloc'ed; first_nul: the first NUL's offset in the file). */
typedef struct chunk_map {
	const wide_enc *wide;
	size_t *nul_at;
	size_t n_nul, first_nul;
} chunk_map;

/* Replaces each NUL byte of buf (*len bytes, malloc'ed, consumed) by
 * U+FFFD: returns the new malloc'ed NUL-terminated text (buf itself when it
 * has no NUL), *len its length, map's nul fields set (nul_at NULL when
 * none; the caller frees it).  NULL with err set when out of memory. */
char *chunk_nuls_replace(char *buf, size_t *len, chunk_map *map, dp_err *err);

/* Builds the document record from the file record (consumed; every field
 * is kept) and doc, the split of the file's text from file + body on (body:
 * the byte order mark and front matter): chunk offsets are relative to
 * file + body, the record's start/end/line_start/line_end to file; when
 * map is not NULL, file is the text it describes: start/end are mapped
 * onto the file's bytes, and for UTF-16/32 the record names the encoding
 * ("encoding").  meta (consumed: the front matter's fields, an object, or
 * invalid) goes into "meta"; the keys of an upstream "meta" object win.
 * Returns the record; with out not NULL, writes its JSON text into out
 * instead (as dp_json_append would write the record) and returns
 * jv_invalid().  A record over out's max (or, without out, INT_MAX bytes)
 * is an error record saying so (dp_record_too_big). */
jv chunk_document(dp_json_buf *out, jv file_rec, chunk_doc *doc, const char *file,
		  size_t body, const chunk_map *map, jv meta, const char *format,
		  const char *chunker);

/* chunk_document for a document whose text[0..) is not the file's bytes
 * but derived from them (a converter's Markdown, convert.h): the chunks get
 * no start/end/line_start/line_end, which would be offsets into text. */
jv chunk_document_derived(jv file_rec, chunk_doc *doc, const char *text, jv meta,
			  const char *format, const char *chunker);

/* dp_stage_ops.process: ctx is a chunk_stage.  Consumes rec, returns the
 * document record or an error record (stage "chunk"). Thread-safe. */
jv chunk_stage_process(void *ctx, jv rec);
/* dp_stage_ops.process_text: the same, a document record written into out
 * as JSON text (returns jv_invalid() then). */
jv chunk_stage_process_text(void *ctx, jv rec, dp_json_buf *out);

#endif
