/* Several WhatsApp numbers on one server, each with its own flow: the `wa_numbers`
 * setting maps a phone_number_id to a flow file,
 *
 *   wa_numbers = 106540352242922=flows/pandawa.json, 106540352242923=flows/chika.json
 *
 * A message to a listed number runs that number's flow, and its sessions are its own
 * (their channel is "whatsapp:<phone_number_id>"); a message to any other number runs
 * the server's flow as before. The flows load at start (a broken one stops the start,
 * as the main flow does) and again on SIGHUP, where a broken one keeps its running flow.
 * The table is small and read by the loop thread only (the store workers get a number's
 * flow with each message, lk_inbound.flow): a lookup is a few comparisons of short
 * strings, no allocation. */
#include "gw.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WA_NUMBERS_MAX 64

typedef struct wa_number {
    char pnid[33];
    char *path;
    lk_flow *flow;
} wa_number;

static wa_number numbers[WA_NUMBERS_MAX];
static int nnumbers;

/* Splits the next "pnid=path" of *sp into pnid and path (path gets cap bytes). 1: one
 * read, 0: the end, -1: malformed with *why set. */
static int next_pair(const char **sp, char pnid[33], char *path, size_t cap, const char **why)
{
    const char *s = *sp, *eq, *end;
    size_t n;

    while (*s == ' ' || *s == '\t' || *s == ',')
        s++;
    if (!*s)
        return 0;
    end = strchr(s, ',');
    if (!end)
        end = s + strlen(s);
    eq = memchr(s, '=', (size_t)(end - s));
    if (!eq || eq == s || eq - s > 32)
        goto bad;
    for (n = 0; s + n < eq; n++) {
        if (!isdigit((unsigned char)s[n]))
            goto bad;
        pnid[n] = s[n];
    }
    pnid[n] = '\0';
    eq++;
    while (eq < end && (*eq == ' ' || *eq == '\t'))
        eq++;
    n = (size_t)(end - eq);
    while (n > 0 && (eq[n - 1] == ' ' || eq[n - 1] == '\t'))
        n--;
    if (n == 0 || n >= cap)
        goto bad;
    memcpy(path, eq, n);
    path[n] = '\0';
    *sp = end;
    return 1;
bad:
    *why = "phone_number_id=flow file pairs separated by commas, such as "
           "106540352242922=flows/pandawa.json";
    return -1;
}

int gw_wa_numbers_valid(const char *spec, const char **why)
{
    char pnid[33], path[1024];
    int rc, n = 0;

    while ((rc = next_pair(&spec, pnid, path, sizeof path, why)) == 1)
        if (++n > WA_NUMBERS_MAX) {
            *why = "at most 64 numbers";
            return -1;
        }
    if (rc == 0)
        *why = NULL; /* next_pair set it before it knew */
    return rc;
}

int gw_wa_numbers_open(const char *spec)
{
    char pnid[33], path[1024];
    const char *why = NULL;
    lk_diag diag = {0};
    lk_err err;
    int rc, i;

    gw_wa_numbers_close();
    while (spec && (rc = next_pair(&spec, pnid, path, sizeof path, &why)) == 1) {
        wa_number *w = &numbers[nnumbers];
        for (i = 0; i < nnumbers; i++)
            if (!strcmp(numbers[i].pnid, pnid)) {
                fprintf(stderr, "wa_numbers: %s is listed twice\n", pnid);
                goto fail;
            }
        if (nnumbers == WA_NUMBERS_MAX || !(w->path = strdup(path))) {
            fprintf(stderr, "wa_numbers: too many numbers or out of memory\n");
            goto fail;
        }
        memcpy(w->pnid, pnid, sizeof w->pnid);
        nnumbers++;
        if ((err = lk_flow_load(path, &w->flow, &diag)) != LK_OK) {
            lk_diag_print(&diag, stderr);
            if (!diag.n)
                fprintf(stderr, "%s: %s\n", path, lk_strerror(err));
            lk_diag_clear(&diag);
            goto fail;
        }
        lk_diag_clear(&diag);
    }
    if (spec && rc < 0) {
        fprintf(stderr, "wa_numbers: %s\n", why);
        goto fail;
    }
    return 0;
fail:
    gw_wa_numbers_close();
    return -1;
}

void gw_wa_numbers_reload(void)
{
    lk_diag diag = {0};
    lk_flow *flow;
    lk_err err;
    int i;

    for (i = 0; i < nnumbers; i++) {
        wa_number *w = &numbers[i];
        flow = NULL;
        err = lk_flow_load(w->path, &flow, &diag);
        gw_log_diag(&diag);
        lk_diag_clear(&diag);
        if (err != LK_OK) {
            gw_log(GW_LOG_ERROR, "flow reload refused: keeping the running flow",
                   "phone_number_id=%s flow=\"%s\" err=\"%s\"", w->pnid, w->path, lk_strerror(err));
            continue;
        }
        /* queued messages may name the old flow and their replies point into it */
        gw_pipeline_retire(w->flow); /* freed once no queued message names it */
        w->flow = flow;
        gw_log(GW_LOG_INFO, "flow reloaded", "phone_number_id=%s flow=\"%s\" name=\"%s\"", w->pnid,
               w->path, lk_flow_name(flow));
    }
}

void gw_wa_numbers_close(void)
{
    int i;
    for (i = 0; i < nnumbers; i++) {
        lk_flow_free(numbers[i].flow);
        free(numbers[i].path);
    }
    memset(numbers, 0, sizeof numbers);
    nnumbers = 0;
}

const lk_flow *gw_wa_number_flow(const char *pnid)
{
    int i;
    for (i = 0; pnid && i < nnumbers; i++)
        if (!strcmp(numbers[i].pnid, pnid))
            return numbers[i].flow;
    return NULL;
}

const char *gw_wa_number_pnid(int i)
{
    return i >= 0 && i < nnumbers ? numbers[i].pnid : NULL;
}

int gw_wa_numbers_count(void)
{
    return nnumbers;
}
