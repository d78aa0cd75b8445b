/* A JSON reader that builds no tree: gw_js_open checks a whole text in one
 * pass, then the caller walks it in place (a member by its key, an array's
 * elements, a number, a string decoded into an arena), with no allocation per
 * value. The WhatsApp notifications (parse_wa.c) are read this way; the other
 * channels keep cJSON.
 *
 * It accepts exactly the texts gw_json_parse accepts (the grammar of Debian 12's cJSON 1.7.15:
 * bytes up to 0x20 count as white space, a number is what strtod reads of a
 * run of [0-9+-eE.] starting with '-' or a digit, control
 * characters and any byte >= 0x80 may stand in a string, a UTF-8 byte order
 * mark may lead), with the same reasons, byte offsets included, and the same
 * strings after gw_json_mark (\u0000 as six 0xFF bytes, a lone surrogate as
 * six 0xFE, a raw 0xFF as 0xFE), with one exception: a \u escape without four
 * hex digits is malformed here (at its backslash), where cJSON reads it as
 * U+0000 and cuts the string there. */
#ifndef LOKET_GW_JSCAN_H
#define LOKET_GW_JSCAN_H

#include <stddef.h>
#include <stdint.h>

/* A value of a text gw_js_open accepted: its first byte, or NULL for none. Every
 * function below takes NULL and gives NULL (or 0) for it. */
typedef const char *gw_jv;

enum gw_js_type {
    GW_JS_NONE,
    GW_JS_OBJECT,
    GW_JS_ARRAY,
    GW_JS_STRING,
    GW_JS_NUMBER,
    GW_JS_TRUE,
    GW_JS_FALSE,
    GW_JS_NULL,
};

/* A checked text. The check notes where each of the first GW_JS_INDEX arrays and objects
 * ends, so that the walk steps over them without reading them again (the outer ones
 * open first: a body's big lists are among them); any later one is read through. */
#define GW_JS_INDEX 64
typedef struct gw_js_doc {
    const char *s;
    size_t n;
    gw_jv root;
    int nc;                      /* containers in the index */
    uint32_t start[GW_JS_INDEX]; /* offsets of their brackets, in increasing order */
    uint32_t end[GW_JS_INDEX];   /* and of the byte after each one's closing bracket */
} gw_js_doc;

/* Checks that s[0..n) is one JSON object (the checks and reasons of gw_json_parse: nested
 * at most GW_MAX_JSON_DEPTH deep, no NUL byte, nothing after the value). 0 with d filled
 * (d->root the object); -1 with a reason in why. d and its values borrow s: it must
 * outlive them. */
int gw_js_open(gw_js_doc *d, const char *s, size_t n, char *why, size_t whylen);

enum gw_js_type gw_js_type(gw_jv v);

/* The value of obj's first member named key (as cJSON_GetObjectItemCaseSensitive: the
 * decoded key compared byte for byte), or NULL, also when obj is not an object. */
gw_jv gw_js_get(const gw_js_doc *d, gw_jv obj, const char *key);
/* gw_js_get of each of keys[0..n) (distinct names) into vals, in one pass over obj. */
void gw_js_get_keys(const gw_js_doc *d, gw_jv obj, const char *const *keys, int n, gw_jv *vals);

/* The first element of the array arr, or NULL (also when arr is not an array). */
gw_jv gw_js_first(gw_jv arr);
/* The element after el in its array, or NULL after the last. */
gw_jv gw_js_next(const gw_js_doc *d, gw_jv el);

/* A number's value as cJSON has it: valuedouble, and valueint (saturated to int). */
double gw_js_double(gw_jv num);
int gw_js_int(gw_jv num);

/* Room for decoded strings: p[0..cap), used of it taken. Decoded, a string with its
 * NUL never needs more bytes than its quoted text, so cap = the text's length holds
 * each string of it decoded once. */
typedef struct gw_js_arena {
    char *p;
    size_t cap, used;
} gw_js_arena;

/* The string v decoded and NUL-terminated in a (valid while a's memory is), or NULL
 * when v is not a string or a has no room for it. */
const char *gw_js_str(gw_jv v, gw_js_arena *a);

#endif
