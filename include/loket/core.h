/* loket core: status codes, diagnostics, growable buffers, UTF-8, text
 * normalisation and civil time. Everything here is pure and allocation is
 * explicit; no part of core does I/O except lk_diag_print(). */
#ifndef LOKET_CORE_H
#define LOKET_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum lk_err {
    LK_OK = 0,
    LK_ENOMEM, /* out of memory */
    LK_EINVAL, /* bad argument or bad input from a peer or user */
    LK_EIO,    /* a file or socket failed; errno was logged at the call */
    LK_EFLOW,  /* a flow file is broken; the lk_diag says where and why */
    LK_ESTORE, /* the store failed; the transaction was rolled back */
    LK_EPROTO, /* a peer broke a protocol */
    LK_ELIMIT, /* a bound was hit (steps per message, sizes) */
} lk_err;

/* A short lowercase name of the code, e.g. "out of memory". Never NULL. */
const char *lk_strerror(lk_err err);

/* ---- diagnostics -------------------------------------------------------
 * A diagnostic is one human-readable problem: "file:line:col: path: what".
 * Callers pass an lk_diag to collect every problem of a load or check. */
typedef struct lk_diag_item {
    char *file;  /* owned; may be NULL */
    int line;    /* 1-based; 0 when unknown */
    int col;     /* 1-based; 0 when unknown */
    char *path;  /* JSON path such as states.main.menu[2].goto; owned; may be NULL */
    char *msg;   /* owned */
    int warning; /* 1: reported by check, does not stop a load */
} lk_diag_item;

typedef struct lk_diag {
    lk_diag_item *items;
    size_t n, cap;
} lk_diag; /* a zeroed lk_diag is empty and ready */

void lk_diag_add(lk_diag *d, const char *file, int line, int col, const char *path, const char *fmt,
                 ...) __attribute__((format(printf, 6, 7)));
void lk_diag_vadd(lk_diag *d, int warning, const char *file, int line, int col, const char *path,
                  const char *fmt, va_list ap);
size_t lk_diag_errors(const lk_diag *d); /* items that are not warnings */
void lk_diag_print(const lk_diag *d, FILE *fp);
void lk_diag_clear(lk_diag *d); /* frees every item; d stays usable */

/* ---- growable buffer ----------------------------------------------------
 * Always NUL-terminated once anything was appended. Keeps its capacity over
 * lk_buf_reset() so a buffer reused per message stops allocating. On
 * allocation failure the buffer keeps its old contents and sets oom. */
typedef struct lk_buf {
    char *p;
    size_t len, cap;
    int oom;
} lk_buf; /* a zeroed lk_buf is empty and ready */

int lk_buf_reserve(lk_buf *b, size_t extra); /* 0 ok, -1 oom */
void lk_buf_put(lk_buf *b, const void *data, size_t n);
void lk_buf_puts(lk_buf *b, const char *s);
void lk_buf_putc(lk_buf *b, char c);
void lk_buf_printf(lk_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void lk_buf_reset(lk_buf *b);
void lk_buf_free(lk_buf *b);
const char *lk_buf_str(const lk_buf *b); /* "" when empty */

/* ---- UTF-8 and text ------------------------------------------------------ */

/* 1 when s[0..n) is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF)
 * and holds no NUL byte; 0 otherwise. *bad, if not NULL, gets the offset of
 * the first bad byte. */
int lk_utf8_valid(const char *s, size_t n, size_t *bad);

/* Number of code points in a valid UTF-8 string. */
size_t lk_utf8_len(const char *s, size_t n);

/* Normalises user text for matching: ASCII lowercase, each of . , - / _ ! ? ;
 * : ' " ( ) * and every ASCII white space become a space, runs of spaces fold
 * to one, leading and trailing spaces go. Non-ASCII bytes are kept as they
 * are. Writes at most cap-1 bytes plus NUL to out and returns the length. */
size_t lk_text_norm(const char *in, size_t n, char *out, size_t cap);

/* Levenshtein distance between a and b (bytes), or max+1 as soon as it is
 * known to exceed max. No allocation for strings up to 127 bytes. */
int lk_text_edit(const char *a, size_t an, const char *b, size_t bn, int max);

/* 1 when word (already normalised) occurs in text (normalised) as whole
 * words: at the start or after a space, and followed by the end or a space. */
int lk_text_has_word(const char *text, size_t tn, const char *word, size_t wn);

/* ---- formatting ------------------------------------------------------------ */

/* Decimal digits of v, no grouping, into buf (24 bytes): returns where they
 * start (NUL-terminated), their count in *n. */
char *lk_fmt_int(char buf[24], int64_t v, size_t *n);
/* Appends v's decimal digits, no grouping: -5000 -> "-5000". */
void lk_buf_put_int(lk_buf *b, int64_t v);
/* Indonesian money: 3750000 -> "Rp3.750.000", -5000 -> "-Rp5.000". */
void lk_fmt_money(lk_buf *b, int64_t amount);
/* Indonesian thousands grouping without the currency: 3750000 -> "3.750.000". */
void lk_fmt_thousands(lk_buf *b, int64_t v);

/* ---- civil time (no clock reads, no time zone database) ---------------------
 * Times are Unix milliseconds (UTC). Offsets are minutes east of UTC. */
typedef struct lk_civil {
    int year, month, day; /* month 1-12, day 1-31 */
    int hour, min, sec;
    int wday; /* 0 Sunday .. 6 Saturday */
} lk_civil;

int64_t lk_days_from_civil(int y, int m, int d); /* days since 1970-01-01 */
void lk_civil_from_ms(int64_t ms, int offset_min, lk_civil *out);
/* Parses 2026-11-24T09:00:00+07:00 (or Z, or no seconds). 0 ok, -1 bad. */
int lk_time_parse_iso(const char *s, int64_t *ms);
/* Parses yyyy-mm-dd, checking that the day exists. 0 ok, -1 bad. */
int lk_date_parse(const char *s, size_t n, int *y, int *m, int *d);
/* Parses a duration: 90, 31m, 1h, 2d, 30s (bare numbers are seconds). -1 bad. */
int lk_duration_parse(const char *s, int64_t *ms);

/* ---- this build (install.c) ----------------------------------------------- */
const char *lk_version(void);     /* the project version, "0.1.0" */
const char *lk_version_git(void); /* `git describe` of the source at build time; "" if unknown */
/* The bundled flow: <bin>/../share/loket/flows/chika.json for an installed
 * binary when that file exists, else flows/chika.json (a build tree). Reads
 * /proc/self/exe once; call it from the main thread. Never NULL; static. */
const char *lk_default_flow(void);

#endif
