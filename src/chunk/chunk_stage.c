#include "chunk_stage.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontmatter.h"
#include "hash.h"
#include "jscan.h"
#include "path.h"
#include "record.h"
#include "text.h"

int chunk_stage_init(chunk_stage *cs, const chunk_opts *opts, unsigned long long max_size,
		     enum chunk_format_choice format, dp_err *err)
{
	if (chunk_opts_check(opts, err) < 0)
		return -1;
	cs->opts = *opts;
	cs->max_size = max_size;
	cs->format = format;
	conv_opts_default(&cs->conv, (size_t)max_size * 4);
	conv_global_init();
	/* The version part changes whenever the same input would give other
	 * chunks: the store re-chunks documents made by another identity. */
	snprintf(cs->chunker_markdown, sizeof cs->chunker_markdown,
		 "md4c-v3 max=%zu overlap=%zu min=%zu", opts->max_tokens, opts->overlap,
		 opts->min_tokens);
	snprintf(cs->chunker_text, sizeof cs->chunker_text, "text-v3 max=%zu overlap=%zu min=%zu",
		 opts->max_tokens, opts->overlap, opts->min_tokens);
	return 0;
}

enum chunk_format chunk_format_of(const char *path, enum chunk_format_choice choice)
{
	if (choice != CHUNK_FORMAT_AUTO)
		return choice == CHUNK_FORMAT_MARKDOWN ? CHUNK_MARKDOWN : CHUNK_TEXT;
	const char *dot = dp_path_extension(path);
	if (dot != NULL && (strcasecmp(dot, ".md") == 0 || strcasecmp(dot, ".markdown") == 0))
		return CHUNK_MARKDOWN;
	return CHUNK_TEXT;
}

static ssize_t read_full(int fd, char *buf, size_t want)
{
	size_t got = 0;

	while (got < want) {
		ssize_t n = read(fd, buf + got, want - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* fstat of open file fd into *st, and what chunk takes: a regular file of
 * at most max_size bytes (--max-size).  0, or -1 with err set.  At the
 * open and before each read again: a file that grew past --max-size
 * while it was read is refused as one that was too big at the open. */
static int stat_checked(int fd, unsigned long long max_size, struct stat *st, dp_err *err)
{
	if (fstat(fd, st) != 0) {
		dp_err_set(err, "cannot stat: %s", strerror(errno));
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		dp_err_set(err, "not a regular file any more");
		return -1;
	}
	if ((unsigned long long)st->st_size > max_size) {
		dp_err_set(err, "file is %lld bytes, over --max-size %llu", (long long)st->st_size,
			   max_size);
		return -1;
	}
	return 0;
}

int chunk_open_file(const char *path, unsigned long long max_size, struct stat *st, int *linked,
		    dp_err *err)
{
	/* O_NONBLOCK: a FIFO put in the file's place must not hang us. */
	int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
	int fd = open(path, flags | O_NOFOLLOW);

	/* A symbolic link: a root given as a link to a file (discover follows
	 * the roots it is given, never a link below one), or a link put in the
	 * file's place since; read through, its bytes must be discover's
	 * (chunk_check_sum). */
	*linked = fd < 0 && errno == ELOOP;
	if (*linked)
		fd = open(path, flags);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return CHUNK_GONE;
		dp_err_set(err, "cannot open: %s", strerror(errno));
		return -1;
	}
	if (stat_checked(fd, max_size, st, err) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int chunk_file_unchanged(int fd, const struct stat *before)
{
	struct stat after;

	return fstat(fd, &after) == 0 && after.st_size == before->st_size &&
	       after.st_mtim.tv_sec == before->st_mtim.tv_sec &&
	       after.st_mtim.tv_nsec == before->st_mtim.tv_nsec &&
	       after.st_ctim.tv_sec == before->st_ctim.tv_sec &&
	       after.st_ctim.tv_nsec == before->st_ctim.tv_nsec;
}

/* Reads of a file written while being read before it fails. */
#define CHUNK_READ_TRIES 3

char *chunk_read_file(const char *path, unsigned long long max_size, const char *want,
		      size_t *len, char hash[DP_HASH_HEX], int *gone, struct stat *st, int *linked,
		      dp_err *err)
{
	int fd = chunk_open_file(path, max_size, st, linked, err);
	*gone = fd == CHUNK_GONE;
	if (fd < 0)
		return NULL;
	char *buf = NULL, last[DP_HASH_HEX] = "";
	size_t size = 0;
	ssize_t got = 0;
	/* A file written in place while it was read (an editor or a tool that
	 * rewrites without truncating, a download's pieces) gave bytes of two
	 * versions, a text the file never held, taken as if it were one
	 * (chunk_check_sum: "changed since discovery"; fault sweep 26: 37
	 * reads of 40 under a rewriter).  Its times do not always show it (20
	 * of 40 torn reads kept them, ext4, Linux 6.18): a read is taken when
	 * its bytes are discover's (want) or the last whole read's. */
	for (int tries = 1;; tries++) {
		size = (size_t)st->st_size;
		char *grown = realloc(buf, size + 1);
		if (grown == NULL) {
			dp_err_set(err, "out of memory reading %zu bytes", size);
			goto fail;
		}
		buf = grown;
		/* One read of the size fstat gave, plus one byte to notice growth. */
		got = lseek(fd, 0, SEEK_SET) == 0 ? read_full(fd, buf, size + 1) : -1;
		if (got < 0) {
			dp_err_set(err, "read: %s", strerror(errno));
			goto fail;
		}
		if ((size_t)got == size && chunk_file_unchanged(fd, st)) {
			dp_hash_hex(buf, size, hash);
			if (want == NULL || strcmp(hash, want) == 0 || strcmp(hash, last) == 0)
				break;
			memcpy(last, hash, DP_HASH_HEX);
		}
		if (tries == CHUNK_READ_TRIES) {
			dp_err_set(err, "file changed while being read, %d times in a row (the last"
				   " read: %zd bytes, its size %zu)", tries, got, size);
			goto fail;
		}
		if (stat_checked(fd, max_size, st, err) < 0)
			goto fail;
	}
	buf[size] = '\0';
	close(fd);
	*len = size;
	return buf;
fail:
	free(buf);
	close(fd);
	return NULL;
}

int chunk_check_file(jv *file_rec, const char *buf, size_t len, const struct stat *st, int linked,
		     dp_err *err)
{
	char got[DP_HASH_HEX];
	dp_hash_hex(buf, len, got);
	return chunk_check_sum(file_rec, got, len, st, linked, err);
}

int chunk_check_sum(jv *file_rec, const char *got, size_t len, const struct stat *st, int linked,
		    dp_err *err)
{
	double size;
	const char *want = dp_record_str(*file_rec, "hash");
	int resized = dp_record_num(*file_rec, "size", &size) == 0 && size != (double)len;

	if (!resized && (want == NULL || strcmp(got, want) == 0))
		return 0;
	if (linked) {
		if (resized)
			dp_err_set(err, "file changed since discovery: %zu bytes now, %.0f then (read"
				   " through a symbolic link: not taken)", len, size);
		else
			dp_err_set(err, "file changed since discovery: its hash differs (read through"
				   " a symbolic link: not taken)");
		return -1;
	}
	/* Edited since discover hashed it (a live tree: in a run, discover
	 * may be a whole window ahead of chunk): the version read is the
	 * file's now, and the record says so; the next run finds it
	 * unchanged. */
	const char *path = dp_record_str(*file_rec, "path");
	if (resized)
		dp_diag("%s: changed since discovery (%zu bytes now, %.0f then): the version read is"
			" taken", path != NULL ? path : "-", len, size);
	else
		dp_diag("%s: changed since discovery: the version read is taken",
			path != NULL ? path : "-");
	*file_rec = jv_object_set(*file_rec, jv_string("hash"), jv_string(got));
	*file_rec = jv_object_set(*file_rec, jv_string("size"), jv_number((double)len));
	*file_rec = jv_object_set(*file_rec, jv_string("mtime"),
				  jv_number((double)st->st_mtim.tv_sec + st->st_mtim.tv_nsec / 1e9));
	return 0;
}

/* Bytes read to name the encoding of a file that is not UTF-8: a bounded
 * sniff, whatever the file's size. */
#define ENCODING_SNIFF 4096

static int ascii_letter(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Whether text, valid UTF-8 up to its first bad byte at bad, looks like
 * Latin-1 or Windows-1252 text, judged on ENCODING_SNIFF bytes from just
 * before bad: no valid UTF-8 sequence of two bytes or more (a file mixing
 * UTF-8 with another encoding would be garbled by a whole-file
 * conversion), no control byte but tab, LF, CR and FF, no byte Windows-1252
 * leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D: iconv refuses them), and
 * most (half or more) bytes 0x80-0xFF stand alone between ASCII bytes, one
 * of them at least beside an ASCII letter ("caf\xe9", "don\x92t").  Text
 * in a multi-byte encoding (Shift JIS, GBK) or a Cyrillic or Greek code
 * page has runs of such bytes: no hint. */
static int latin1_like(const char *text, size_t len, size_t bad)
{
	const unsigned char *b = (const unsigned char *)text;
	size_t from = bad > 64 ? bad - 64 : 0, end, high = 0, alone = 0, by_letter = 0;

	while (from < bad && (b[from] & 0xC0) == 0x80)
		from++; /* not into a character cut by the sample */
	end = len - from < ENCODING_SNIFF ? len : from + ENCODING_SNIFF;
	for (size_t i = from; i < end; i++) {
		unsigned char c = b[i];
		if (c < 0x80) {
			if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f') || c == 0x7f)
				return 0;
			continue;
		}
		if (dp_utf8_seq_len(b + i, end - i) > 1 || c == 0x81 || c == 0x8D || c == 0x8F ||
		    c == 0x90 || c == 0x9D)
			return 0;
		high++;
		if ((i == from || b[i - 1] < 0x80) && (i + 1 == end || b[i + 1] < 0x80)) {
			alone++;
			by_letter |= (i > from && ascii_letter(b[i - 1])) ||
				     (i + 1 < end && ascii_letter(b[i + 1]));
		}
	}
	return alone * 2 >= high && by_letter;
}

/* Whether the NUL bytes of text (valid UTF-8) are stray ones in text:
 * at most 1 byte in CHUNK_NUL_SHARE, and no other control byte but tab,
 * LF, VT, FF, CR and ESC (a terminal's colours).  Binary data that passes
 * conv_sniff and is valid UTF-8 (ASCII and zero bytes: tables, counters,
 * zero-filled blocks) holds other small bytes or mostly zeros; of the
 * 63,308 files with a NUL under /usr and /var/lib, 141 are valid UTF-8,
 * 130 of them with other controls, 10 of the rest UTF-16/32 or over 1 in
 * 32 zeros (docs/PERFORMANCE.md). */
#define CHUNK_NUL_SHARE 32

static int stray_nuls(const char *text, size_t len)
{
	const unsigned char *u = (const unsigned char *)text;
	size_t nuls = 0;

	for (size_t i = 0; i < len; i++) {
		if (u[i] >= 0x20) {
			if (u[i] == 0x7F)
				return 0;
			continue;
		}
		if (u[i] == 0)
			nuls++;
		else if (u[i] != '\t' && u[i] != '\n' && u[i] != '\v' && u[i] != '\f' &&
			 u[i] != '\r' && u[i] != 0x1B)
			return 0;
	}
	return nuls * CHUNK_NUL_SHARE <= len;
}

int chunk_check_text(const char *text, size_t len, const char *sniffed, wide_enc *wide, dp_err *err)
{
	wide->unit = 0;
	char what[160];
	if (sniffed == NULL) {
		conv_sniff(text, len, what, sizeof what);
		sniffed = what;
	}
	if (sniffed[0] != '\0') {
		dp_err_set(err, "looks like %s, not text", sniffed);
		return -1;
	}
	if (wide_detect(text, len, wide))
		return 0;
	const char *nul = memchr(text, '\0', len);
	size_t bad = dp_utf8_invalid_at(text, len);
	if (nul == NULL && bad == len)
		return 0;
	if (nul != NULL && bad == len && stray_nuls(text, len))
		return 0;
	char hint[192] = "";
	const char *utf16 = wide_cjk_hint(text, len);
	if (utf16 != NULL)
		snprintf(hint, sizeof hint, "; reads as CJK in %s without a byte order mark (or is"
			 " Shift JIS, EUC-KR ...): convert it, e.g. iconv -f %s -t UTF-8", utf16, utf16);
	else if (nul == NULL && latin1_like(text, len, bad))
		snprintf(hint, sizeof hint, "; looks like Latin-1 or Windows-1252: convert it, e.g."
			 " iconv -f WINDOWS-1252 -t UTF-8");
	if (nul != NULL)
		dp_err_set(err, "binary file: NUL byte at byte %zu%s", (size_t)(nul - text), hint);
	else
		dp_err_set(err, "invalid UTF-8 at byte %zu%s", bad, hint);
	return -1;
}

char *chunk_nuls_replace(char *buf, size_t *len, chunk_map *map, dp_err *err)
{
	size_t n = 0, first = 0;
	for (const char *p = buf; (p = memchr(p, '\0', (size_t)(buf + *len - p))) != NULL; p++)
		if (n++ == 0)
			first = (size_t)(p - buf);
	map->n_nul = n;
	map->first_nul = first;
	if (n == 0)
		return buf;
	char *out = malloc(*len + 2 * n + 1);
	size_t *at = malloc(n * sizeof *at);
	if (out == NULL || at == NULL) {
		free(out);
		free(at);
		free(buf);
		dp_err_set(err, "out of memory replacing %zu NUL bytes", n);
		return NULL;
	}
	size_t o = 0, k = 0;
	for (size_t i = 0; i < *len; i++) {
		if (buf[i] != '\0') {
			out[o++] = buf[i];
			continue;
		}
		at[k++] = o;
		memcpy(out + o, "\xEF\xBF\xBD", 3);
		o += 3;
	}
	out[o] = '\0';
	free(buf);
	*len = o;
	map->nul_at = at;
	return out;
}

/* The file offset of offset off (a character boundary) of the text map
 * describes (map NULL: the file's own bytes). */
static size_t file_offset(const chunk_map *map, wide_cursor *wc, size_t off)
{
	if (map == NULL)
		return off;
	if (map->wide != NULL)
		return wide_file_offset(wc, off);
	/* 2 bytes more for each replacement before off */
	return off - 2 * chunk_first_at(map->nul_at, map->n_nul, off);
}

/* 1-based line numbers of offsets visited in increasing order. */
struct line_cursor {
	const char *file;
	size_t at, line;
};

static size_t line_at(struct line_cursor *lc, size_t off)
{
	const char *p = lc->file + lc->at, *end = lc->file + off;

	while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		lc->line++;
		p++;
	}
	lc->at = off;
	return lc->line;
}

/* The record's "meta": the front matter's fields under the upstream ones. */
static jv merge_meta(jv rec, jv meta)
{
	jv up = jv_object_get(jv_copy(rec), jv_string("meta"));

	if (jv_get_kind(meta) != JV_KIND_OBJECT || jv_object_length(jv_copy(meta)) == 0) {
		jv_free(meta);
		jv_free(up);
		return rec;
	}
	if (jv_get_kind(up) == JV_KIND_OBJECT)
		meta = jv_object_merge(meta, up);
	else if (jv_is_valid(up) && jv_get_kind(up) != JV_KIND_NULL) {
		jv_free(meta); /* an upstream value that is not an object is kept as it is */
		meta = up;
	} else
		jv_free(up);
	return jv_object_set(rec, jv_string("meta"), meta);
}

/* The record's fields before "chunks": the file record (consumed; every
 * field kept, a "chunks" it had dropped so the chunks come last) with the
 * document's kind, meta (consumed), format, encoding and chunker. */
static jv document_head(jv file_rec, const chunk_map *map, jv meta, const char *format,
			const char *chunker)
{
	jv rec = jv_object_delete(file_rec, jv_string("chunks"));

	rec = jv_object_set(rec, jv_string("kind"), jv_string(DP_KIND_DOCUMENT));
	rec = merge_meta(rec, meta);
	rec = jv_object_set(rec, jv_string("format"), jv_string(format));
	if (map != NULL && map->wide != NULL)
		rec = jv_object_set(rec, jv_string("encoding"), jv_string(map->wide->name));
	return jv_object_set(rec, jv_string("chunker"), jv_string(chunker));
}

/* In the writers below, which return 0 or -1 with err set: the first
 * failure (b over its max) returns. */
#define TRY(call) \
	do { \
		if ((call) < 0) \
			return -1; \
	} while (0)
#define PUT(lit) TRY(dp_json_put(b, lit, sizeof lit - 1, err))
#define PUT_NUMBER(n) TRY(dp_json_put_number(b, (double)(n), err))

/* Writes the chunks of doc as the record's "chunks" array into b: each
 * {"seq", "text", "heading", "tokens"} and, when slices says the texts are
 * slices of file (not of a text derived from it), its byte and line range
 * {"start", "end", "line_start", "line_end"}.  Written as text, not built
 * as jv values and dumped: that was 36% of the chunker's instructions on
 * Markdown (jq's UTF-8 decoding of every string, objects, reference
 * counts; docs/PERFORMANCE.md, session 38). */
static int chunks_text(dp_json_buf *b, chunk_doc *doc, const char *file, size_t body,
		       int slices, const chunk_map *map, dp_err *err)
{
	struct line_cursor lc = {.file = file, .at = 0, .line = 1}, lc_end = lc;
	const char *text = file + body;
	const wide_enc *wide = map != NULL ? map->wide : NULL;
	wide_cursor wc_start, wc_end;
	size_t heading_at = 0, heading_len = 0, section = SIZE_MAX;

	if (wide != NULL) {
		wide_cursor_init(&wc_start, wide, file);
		wc_end = wc_start;
	}
	PUT("[");
	for (size_t i = 0; i < doc->n_chunks; i++) {
		const chunk_span *c = &doc->chunks[i];
		size_t n;
		const char *t = chunk_text(doc, c, text, &n);
		if (i > 0)
			PUT(",");
		PUT("{\"seq\":");
		PUT_NUMBER(i);
		PUT(",\"text\":");
		TRY(dp_json_put_string(b, t != NULL ? t : "", t != NULL ? n : 0, err));
		PUT(",\"heading\":");
		if (c->section == section) {
			/* Written for the section's first chunk. */
			TRY(dp_json_put_again(b, heading_at, heading_len, err));
		} else {
			const chunk_section *sec = &doc->sections[c->section];
			heading_at = b->len;
			PUT("[");
			for (int d = 0; d < sec->depth; d++) {
				if (d > 0)
					PUT(",");
				TRY(dp_json_put_string(b, sec->path[d].len > 0 ? doc->names + sec->path[d].off : "",
						       sec->path[d].len, err));
			}
			PUT("]");
			heading_len = b->len - heading_at;
			section = c->section;
		}
		PUT(",\"tokens\":");
		PUT_NUMBER(c->tokens);
		if (slices) {
			size_t start = body + c->off, end = start + c->len;
			size_t first = line_at(&lc, start);
			if (lc_end.at > end - 1 || lc_end.at < start)
				lc_end = lc; /* ends mostly grow: counted once, else from the start */
			PUT(",\"start\":");
			PUT_NUMBER(file_offset(map, &wc_start, start));
			PUT(",\"end\":");
			PUT_NUMBER(file_offset(map, &wc_end, end));
			PUT(",\"line_start\":");
			PUT_NUMBER(first);
			PUT(",\"line_end\":");
			PUT_NUMBER(line_at(&lc_end, end - 1));
		}
		PUT("}");
	}
	PUT("]");
	return 0;
}

/* The whole record: head's text (borrowed) without its "}", then the
 * chunks, last. */
static int document_text(dp_json_buf *b, jv head, chunk_doc *doc, const char *file,
			 size_t body, int slices, const chunk_map *map, dp_err *err)
{
	TRY(dp_json_append(b, head, err));
	b->len--;
	PUT(",\"chunks\":");
	TRY(chunks_text(b, doc, file, body, slices, map, err));
	PUT("}");
	return 0;
}

#undef PUT_NUMBER
#undef PUT
#undef TRY

/* chunk_document and chunk_document_derived: the record's text into out
 * (returns jv_invalid()), or, when out is NULL, its value, parsed back
 * from the text (one writer for both). */
static jv document(dp_json_buf *out, jv file_rec, chunk_doc *doc, const char *file,
		   size_t body, int slices, const chunk_map *map, jv meta, const char *format,
		   const char *chunker)
{
	jv head = document_head(file_rec, map, meta, format, chunker), rec;
	dp_json_buf own;
	dp_err err;

	dp_buf_init(&own, INT_MAX); /* jv_parse_sized's limit; the sink checks its own */
	dp_json_buf *b = out != NULL ? out : &own;
	if (document_text(b, head, doc, file, body, slices, map, &err) < 0) {
		rec = dp_record_too_big(head, &err, b->max);
	} else {
		jv_free(head);
		rec = out != NULL ? jv_invalid() : dp_jscan_parse(own.data, own.len);
	}
	dp_buf_free(&own);
	return rec;
}

jv chunk_document(dp_json_buf *out, jv file_rec, chunk_doc *doc, const char *file, size_t body,
		  const chunk_map *map, jv meta, const char *format, const char *chunker)
{
	return document(out, file_rec, doc, file, body, 1, map, meta, format, chunker);
}

jv chunk_document_derived(jv file_rec, chunk_doc *doc, const char *text, jv meta,
			  const char *format, const char *chunker)
{
	return document(NULL, file_rec, doc, text, 0, 0, NULL, meta, format, chunker);
}

/* Old Mac OS text ends its lines with a lone "\r": the chunker, which
 * finds lines by "\n", read such a file as one line (no heading after
 * the first line was one, and every chunk was on line 1).  Each becomes a
 * "\n" in place: the same length, so every byte range still points into
 * the file, and a "\r\n" stays as it is. */
static void lone_cr_to_lf(char *text, size_t len)
{
	char *p = text, *end = text + len;

	while ((p = memchr(p, '\r', (size_t)(end - p))) != NULL) {
		if (p + 1 == end || p[1] != '\n')
			*p = '\n';
		p++;
	}
}

/* A byte order mark that starts a line after the first (files
 * concatenated: "cat a.md b.md") hid the heading after it ("\uFEFF# Two"
 * is a paragraph).  Each becomes three spaces in place: the same length,
 * so every byte range still points into the file, and up to three spaces
 * still let a line be a heading. */
static void inner_bom_to_spaces(char *text, size_t len)
{
	/* memchr, not memmem: glibc's memmem cost 6% of the chunker's
	 * instructions on Markdown (bench/chunk-callgrind.sh). */
	for (char *p = text + 1; (p = memchr(p, 0xEF, (size_t)(text + len - p))) != NULL; p++)
		if (p[-1] == '\n' && text + len - p >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
			memcpy(p, "   ", 3);
}

jv chunk_gone(jv rec, const char *path)
{
	static const char *const of_file[] = {"hash", "size", "mtime"};

	dp_diag("%s: deleted since discovery: its stored document (if any) is deleted", path);
	for (size_t i = 0; i < sizeof of_file / sizeof of_file[0]; i++)
		rec = jv_object_delete(rec, jv_string(of_file[i]));
	return jv_object_set(rec, jv_string("kind"), jv_string(DP_KIND_DELETE));
}

/* chunk_stage_process and chunk_stage_process_text: a document record
 * goes into out when out is not NULL. */
static jv process(const chunk_stage *cs, jv rec, dp_json_buf *out)
{
	const char *path = dp_record_str(rec, "path");
	dp_err err;
	size_t len;
	char *buf;

	if (path == NULL || path[0] != '/')
		return dp_record_error(rec, "chunk", "file record without an absolute \"path\"");
	const conv_command *cmd = NULL;
	enum conv_kind kind = cs->format == CHUNK_FORMAT_AUTO ? conv_kind_of(&cs->conv, path, &cmd)
							       : CONV_NONE;
	if (kind == CONV_PDF)
		return chunk_converted_pdf(cs, rec, path);
	int gone, linked;
	struct stat st;
	char hash[DP_HASH_HEX];
	buf = chunk_read_file(path, cs->max_size, dp_record_str(rec, "hash"), &len, hash, &gone, &st,
			      &linked, &err);
	if (buf == NULL)
		return gone ? chunk_gone(rec, path) : dp_record_error(rec, "chunk", err.msg);
	if (chunk_check_sum(&rec, hash, len, &st, linked, &err) < 0) {
		free(buf);
		return dp_record_error(rec, "chunk", err.msg);
	}
	path = dp_record_str(rec, "path"); /* rec may be a new value */
	/* Read as text unless its first bytes say otherwise: a PDF, DOCX, ODT
	 * or EPUB named like text is converted as what it is (under --format
	 * chunk_check_text refuses it, as anything else they name).  Sniffed
	 * once: the refusal takes what was found (libmagic's look at binary
	 * data is no cheap call). */
	char what[160] = "";
	if (kind == CONV_NONE) {
		enum conv_kind real = conv_sniff(buf, len, what, sizeof what);
		if (cs->format == CHUNK_FORMAT_AUTO)
			kind = real;
	}
	if (kind != CONV_NONE)
		return chunk_converted(cs, rec, kind, cmd, path, buf, len);
	wide_enc wide;
	if (chunk_check_text(buf, len, what, &wide, &err) < 0) {
		free(buf);
		return dp_record_error(rec, "chunk", err.msg);
	}
	chunk_map map = {.wide = NULL};
	if (wide.unit != 0) {
		/* UTF-16/32: chunked as UTF-8, the ranges mapped back. */
		char *utf8;
		int rc = wide_decode(&wide, buf, len, &utf8, &len, &err);
		free(buf);
		if (rc < 0)
			return dp_record_error(rec, "chunk", err.msg);
		buf = utf8;
		map.wide = &wide;
	} else {
		/* Stray NULs (chunk_check_text let them by): U+FFFD each. */
		buf = chunk_nuls_replace(buf, &len, &map, &err);
		if (buf == NULL)
			return dp_record_error(rec, "chunk", err.msg);
		if (map.n_nul > 0)
			dp_diag("%s: %zu NUL byte%s (the first at byte %zu) read as U+FFFD", path,
				map.n_nul, map.n_nul == 1 ? "" : "s", map.first_nul);
	}
	const chunk_map *mapped = map.wide != NULL || map.n_nul > 0 ? &map : NULL;

	lone_cr_to_lf(buf, len);
	if (len > 0)
		inner_bom_to_spaces(buf, len);
	/* A byte order mark is not text; front matter is metadata. */
	size_t body = len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
	enum chunk_format format = chunk_format_of(path, cs->format);
	jv meta = jv_invalid();
	const char *title = NULL;
	if (format == CHUNK_MARKDOWN) {
		const char *problem;
		body += fm_parse(buf + body, len - body, &meta, &problem);
		if (problem != NULL)
			dp_diag("%s: %s", path, problem);
		jv t = jv_object_get(jv_copy(meta), jv_string("title"));
		if (jv_get_kind(t) == JV_KIND_STRING)
			title = jv_string_value(t); /* meta keeps it alive */
		jv_free(t);
	}
	chunk_doc doc;
	chunk_doc_init(&doc);
	if (chunk_split(&doc, buf + body, len - body, format, &cs->opts, title,
			title != NULL ? strlen(title) : 0, &err) < 0) {
		jv_free(meta);
		rec = dp_record_error(rec, "chunk", err.msg);
	} else {
		int markdown = format == CHUNK_MARKDOWN;
		rec = chunk_document(out, rec, &doc, buf, body, mapped, meta, markdown ? "markdown" : "text",
				     markdown ? cs->chunker_markdown : cs->chunker_text);
	}
	chunk_doc_free(&doc);
	free(map.nul_at);
	free(buf);
	return rec;
}

jv chunk_stage_process(void *ctx, jv rec)
{
	return process(ctx, rec, NULL);
}

jv chunk_stage_process_text(void *ctx, jv rec, dp_json_buf *out)
{
	return process(ctx, rec, out);
}
