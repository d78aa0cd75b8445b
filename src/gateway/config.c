/* Settings of `loket serve`. Precedence, lowest first: built-in defaults, the
 * --config file, LOKET_<KEY> environment variables, command-line flags. The
 * file holds `key = value` lines ('#' starts a comment). Secrets come only
 * from the environment and are never logged or accepted from the file. */
#include "gw.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gw_config_defaults(gw_config *c)
{
    memset(c, 0, sizeof *c);
    c->flow = strdup(lk_default_flow());
    c->db = strdup("loket.db");
    c->host = strdup("127.0.0.1");
    c->port = 8080;
    c->sync = LK_SYNC_FULL;
    c->log_level = GW_LOG_INFO;
    c->dedup_keep_ms = INT64_C(8) * 86400 * 1000;
    c->log_keep_ms = INT64_C(90) * 86400 * 1000;
    c->outbox_keep_ms = INT64_C(7) * 86400 * 1000;
    c->session_keep_ms = INT64_C(7) * 86400 * 1000;
    c->rate = 1.0;
    c->burst = 20;
    c->max_conns_per_peer = 64;
    c->max_webhook_conns = 32;
    /* a proxy on the same machine (the README's nginx): whoever can connect from
     * loopback runs there already, and believing it costs nothing but fairness */
    if ((c->trusted = calloc(2, sizeof *c->trusted)) &&
        gw_cidr_parse("127.0.0.0/8", &c->trusted[0]) == 0 &&
        gw_cidr_parse("::1", &c->trusted[1]) == 0)
        c->ntrusted = 2;
    c->ws_ping_s = 30;
    c->ws_idle_s = 60;
    c->request_timeout_s = 10;
    c->keepalive_idle_s = 5;
    c->retry_base_ms = 1000;
    c->retry_cap_ms = 5 * 60 * 1000;
    c->retry_give_up_ms = 24 * 3600 * 1000;
    c->checkpoint_ms = 5000;
    c->sender_poll_ms = 1000;
    c->prune_every_ms = 3600 * 1000;
    c->active_window_ms = 30 * 60 * 1000;
    c->send_timeout_s = 10;
    c->send_inflight = 128;
    c->batch_per_turn = 32;
    c->wal_max = 64 * 1024 * 1024;
    c->ws_sessions_per_conn = 8;
    c->ws_new_sessions = 60;
    c->store_workers = 0; /* per backend: 1 for SQLite, 4 for PostgreSQL (pipeline.c) */
    c->batch_max = 256;
    c->batch_wait_us = 0;
    c->wa_read_receipts = 1;
    c->wa_rate = 80; /* Meta's default throughput of a phone number */
}

void gw_config_free(gw_config *c)
{
    free(c->flow);
    free(c->db);
    free(c->host);
    free(c->wa_verify_token);
    free(c->wa_app_secret);
    free(c->wa_token);
    free(c->wa_api_url);
    free(c->twilio_token);
    free(c->generic_token);
    free(c->public_url);
    free(c->ws_secret);
    free(c->wa_numbers);
    free(c->trusted);
    memset(c, 0, sizeof *c);
}

/* 90, 250ms, 30s, 5m, 2h, 8d; bare numbers are seconds. */
static int parse_duration(const char *s, int64_t *ms)
{
    char *end;
    double v;
    int64_t unit = 1000;

    errno = 0;
    v = strtod(s, &end);
    if (end == s || errno || v < 0 || v > 1e9)
        return -1;
    if (!strcmp(end, "ms"))
        unit = 1;
    else if (!strcmp(end, "s") || !*end)
        unit = 1000;
    else if (!strcmp(end, "m"))
        unit = 60000;
    else if (!strcmp(end, "h"))
        unit = 3600000;
    else if (!strcmp(end, "d"))
        unit = 86400000;
    else
        return -1;
    *ms = (int64_t)(v * (double)unit);
    return 0;
}

static int parse_int(const char *s, long lo, long hi, int *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_bool(const char *s, int *out)
{
    if (!strcmp(s, "1") || !strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "on"))
        *out = 1;
    else if (!strcmp(s, "0") || !strcasecmp(s, "false") || !strcasecmp(s, "no") ||
             !strcasecmp(s, "off"))
        *out = 0;
    else
        return -1;
    return 0;
}

/* 1048576, 512KB, 16MB, 1GB (powers of 1024; KiB, MiB, GiB as well). */
static int parse_size(const char *s, int64_t *bytes)
{
    char *end;
    double v;
    int64_t unit = 1;

    errno = 0;
    v = strtod(s, &end);
    if (end == s || errno || v < 0 || v > 1e12)
        return -1;
    while (*end == ' ')
        end++;
    if (!strcasecmp(end, "kb") || !strcasecmp(end, "kib") || !strcasecmp(end, "k"))
        unit = 1024;
    else if (!strcasecmp(end, "mb") || !strcasecmp(end, "mib") || !strcasecmp(end, "m"))
        unit = 1024 * 1024;
    else if (!strcasecmp(end, "gb") || !strcasecmp(end, "gib") || !strcasecmp(end, "g"))
        unit = 1024 * 1024 * 1024;
    else if (*end && strcasecmp(end, "b"))
        return -1;
    *bytes = (int64_t)(v * (double)unit);
    return 0;
}

static int set_str(char **dst, const char *v)
{
    char *p = strdup(v);
    if (!p)
        return -1;
    free(*dst);
    *dst = p;
    return 0;
}

/* "127.0.0.1, 10.0.0.0/8 ::1" (commas or spaces) or "none": -1 when an item
 * is not an address or a range, and the old list stays. */
static int parse_proxies(gw_config *c, const char *v)
{
    gw_cidr *list = NULL, *grown;
    int n = 0;
    char item[64];

    if (!strcasecmp(v, "none") || !*v)
        goto done;
    while (*v) {
        size_t len = strcspn(v, ", \t");
        if (len == 0) {
            v++;
            continue;
        }
        if (len >= sizeof item || !(grown = realloc(list, (size_t)(n + 1) * sizeof *list)))
            goto fail;
        list = grown;
        memcpy(item, v, len);
        item[len] = '\0';
        if (gw_cidr_parse(item, &list[n]) < 0)
            goto fail;
        n++;
        v += len;
    }
done:
    free(c->trusted);
    c->trusted = list;
    c->ntrusted = n;
    return 0;
fail:
    free(list);
    return -1;
}

/* The keys of the file, also read from LOKET_<KEY> (upper case). */
static const char *const keys[] = {
    "flow",
    "db",
    "host",
    "port",
    "sync",
    "log",
    "test_clock",
    "dedup_keep",
    "log_keep",
    "outbox_keep",
    "session_keep",
    "rate",
    "burst",
    "max_conns_per_peer",
    "ws_ping",
    "ws_idle",
    "request_timeout",
    "retry_base",
    "retry_cap",
    "retry_give_up",
    "checkpoint_every",
    "sender_poll",
    "prune_every",
    "active_window",
    "send_timeout",
    "send_inflight",
    "batch_per_turn",
    "generic_open",
    "wal_max",
    "ws_sessions_per_conn",
    "ws_new_sessions",
    "max_conns",
    "max_webhook_conns",
    "trusted_proxies",
    "store_workers",
    "batch_max",
    "batch_wait_us",
    "wa_numbers",
    "wa_read_receipts",
    "wa_rate",
    "keepalive_idle",
    "event_loop",
    NULL,
};

lk_err gw_config_set(gw_config *c, const char *key, const char *v, const char *src, lk_diag *diag)
{
    int64_t ms;
    const char *why = NULL;

    if (!strcmp(key, "flow")) {
        if (set_str(&c->flow, v))
            return LK_ENOMEM;
    } else if (!strcmp(key, "db")) {
        if (set_str(&c->db, v))
            return LK_ENOMEM;
    } else if (!strcmp(key, "host")) {
        if (set_str(&c->host, v))
            return LK_ENOMEM;
    } else if (!strcmp(key, "port")) {
        if (parse_int(v, 0, 65535, &c->port))
            why = "a port number 0-65535 (0 picks a free one)";
    } else if (!strcmp(key, "sync")) {
        if (!strcasecmp(v, "off"))
            c->sync = LK_SYNC_OFF;
        else if (!strcasecmp(v, "normal"))
            c->sync = LK_SYNC_NORMAL;
        else if (!strcasecmp(v, "full"))
            c->sync = LK_SYNC_FULL;
        else
            why = "off, normal or full";
    } else if (!strcmp(key, "log")) {
        if (!strcasecmp(v, "error"))
            c->log_level = GW_LOG_ERROR;
        else if (!strcasecmp(v, "warn"))
            c->log_level = GW_LOG_WARN;
        else if (!strcasecmp(v, "info"))
            c->log_level = GW_LOG_INFO;
        else if (!strcasecmp(v, "debug"))
            c->log_level = GW_LOG_DEBUG;
        else
            why = "error, warn, info or debug";
    } else if (!strcmp(key, "event_loop")) {
        if (!strcasecmp(v, "epoll"))
            c->event_poll = 0;
        else if (!strcasecmp(v, "poll"))
            c->event_poll = 1;
        else
            why = "epoll or poll";
    } else if (!strcmp(key, "test_clock")) {
        if (parse_bool(v, &c->test_clock))
            why = "true or false";
    } else if (!strcmp(key, "generic_open")) {
        if (parse_bool(v, &c->generic_open))
            why = "yes or no";
    } else if (!strcmp(key, "wal_max")) {
        if (parse_size(v, &c->wal_max) || c->wal_max < 1024 * 1024)
            why = "a size of 1MB or more, such as 16MB";
    } else if (!strcmp(key, "ws_sessions_per_conn")) {
        if (parse_int(v, 1, 1000000, &c->ws_sessions_per_conn))
            why = "a number of sessions, 1 or more";
    } else if (!strcmp(key, "ws_new_sessions")) {
        if (parse_int(v, 1, 1000000, &c->ws_new_sessions))
            why = "new sessions per address per minute, 1 or more";
    } else if (!strcmp(key, "rate")) {
        char *end;
        double r = strtod(v, &end);
        if (end == v || *end || !(r > 0) || r > 1e6)
            why = "messages per second per sender, above 0";
        else
            c->rate = r;
    } else if (!strcmp(key, "wa_read_receipts")) {
        if (parse_bool(v, &c->wa_read_receipts))
            why = "yes or no";
    } else if (!strcmp(key, "wa_rate")) {
        char *end;
        double r = strtod(v, &end);
        if (end == v || *end || !(r > 0) || r > 100000)
            why = "messages per second per WhatsApp phone number, above 0";
        else
            c->wa_rate = r;
    } else if (!strcmp(key, "burst")) {
        if (parse_int(v, 1, 1000000, &c->burst))
            why = "a number of messages, 1 or more";
    } else if (!strcmp(key, "max_conns_per_peer")) {
        if (parse_int(v, 1, 1000000, &c->max_conns_per_peer))
            why = "a number of connections, 1 or more";
    } else if (!strcmp(key, "send_inflight")) {
        if (parse_int(v, 1, 1000, &c->send_inflight))
            why = "a number of requests in flight, 1 to 1000";
    } else if (!strcmp(key, "store_workers")) {
        if (parse_int(v, 1, 64, &c->store_workers))
            why = "a number of store worker threads, 1 to 64 (SQLite uses 1)";
    } else if (!strcmp(key, "batch_max")) {
        if (parse_int(v, 1, 100000, &c->batch_max))
            why = "a number of messages per commit, 1 or more";
    } else if (!strcmp(key, "batch_wait_us")) {
        if (parse_int(v, 0, 1000000, &c->batch_wait_us))
            why = "microseconds a worker waits for more messages, 0 to 1000000";
    } else if (!strcmp(key, "batch_per_turn")) {
        if (parse_int(v, 1, 100000, &c->batch_per_turn))
            why = "a number of messages, 1 or more";
    } else if (!strcmp(key, "max_conns")) {
        if (parse_int(v, 0, 1000000, &c->max_conns))
            why = "a number of connections (0: from the file descriptor limit)";
    } else if (!strcmp(key, "max_webhook_conns")) {
        if (parse_int(v, 1, 1000000, &c->max_webhook_conns))
            why = "a number of connections, 1 or more";
    } else if (!strcmp(key, "wa_numbers")) {
        if (gw_wa_numbers_valid(v, &why) == 0 && set_str(&c->wa_numbers, v))
            return LK_ENOMEM;
    } else if (!strcmp(key, "trusted_proxies")) {
        if (parse_proxies(c, v) < 0)
            why = "addresses or CIDR ranges (127.0.0.1, 10.0.0.0/8, ::1), or none";
    } else if (!strcmp(key, "log_keep") || !strcmp(key, "outbox_keep") ||
               !strcmp(key, "session_keep")) {
        int64_t *dst = key[0] == 'l'   ? &c->log_keep_ms
                       : key[0] == 'o' ? &c->outbox_keep_ms
                                       : &c->session_keep_ms;
        if (!strcmp(v, "forever"))
            *dst = 0;
        else if (parse_duration(v, &ms) || ms < 60000)
            why = "a duration of 1m or more, such as 90d, or forever";
        else
            *dst = ms;
    } else if (!strcmp(key, "keepalive_idle")) {
        if (!strcmp(v, "off"))
            c->keepalive_idle_s = 0;
        else if (parse_duration(v, &ms) || ms < 1000 || ms > 3600 * 1000)
            why = "a duration of 1s to 1h, or off";
        else
            c->keepalive_idle_s = (int)(ms / 1000);
    } else if (!strcmp(key, "ws_ping") || !strcmp(key, "ws_idle") ||
               !strcmp(key, "request_timeout") || !strcmp(key, "send_timeout")) {
        if (parse_duration(v, &ms) || ms < 1000 || ms > 65535 * 1000)
            why = "a duration of 1s to 18h";
        else if (!strcmp(key, "ws_ping"))
            c->ws_ping_s = (int)(ms / 1000);
        else if (!strcmp(key, "ws_idle"))
            c->ws_idle_s = (int)(ms / 1000);
        else if (!strcmp(key, "request_timeout"))
            c->request_timeout_s = (int)(ms / 1000);
        else
            c->send_timeout_s = (int)(ms / 1000);
    } else {
        int64_t *dst = !strcmp(key, "dedup_keep")         ? &c->dedup_keep_ms
                       : !strcmp(key, "retry_base")       ? &c->retry_base_ms
                       : !strcmp(key, "retry_cap")        ? &c->retry_cap_ms
                       : !strcmp(key, "retry_give_up")    ? &c->retry_give_up_ms
                       : !strcmp(key, "checkpoint_every") ? &c->checkpoint_ms
                       : !strcmp(key, "sender_poll")      ? &c->sender_poll_ms
                       : !strcmp(key, "prune_every")      ? &c->prune_every_ms
                       : !strcmp(key, "active_window")    ? &c->active_window_ms
                                                          : NULL;
        if (!dst) {
            lk_diag_add(diag, src, 0, 0, NULL,
                        "unknown setting '%s' (known: see loket serve --help)", key);
            return LK_EINVAL;
        }
        if (parse_duration(v, &ms) || ms < 1)
            why = "a duration such as 250ms, 30s, 5m, 8d";
        else
            *dst = ms;
    }
    if (why) {
        lk_diag_add(diag, src, 0, 0, NULL, "%s: '%s' is not valid: expected %s", key, v, why);
        return LK_EINVAL;
    }
    return LK_OK;
}

lk_err gw_config_file(gw_config *c, const char *path, lk_diag *diag)
{
    FILE *fp = fopen(path, "r");
    char line[4096];
    int lineno = 0;
    lk_err err = LK_OK;

    if (!fp) {
        lk_diag_add(diag, path, 0, 0, NULL, "cannot read the config file: %s", strerror(errno));
        return LK_EIO;
    }
    while (fgets(line, sizeof line, fp)) {
        char *p = line, *eq, *k, *v, *e;
        lineno++;
        if ((e = strchr(p, '#')))
            *e = '\0';
        while (isspace((unsigned char)*p))
            p++;
        e = p + strlen(p);
        while (e > p && isspace((unsigned char)e[-1]))
            *--e = '\0';
        if (!*p)
            continue;
        if (!(eq = strchr(p, '='))) {
            lk_diag_add(diag, path, lineno, 0, NULL, "expected key = value");
            err = LK_EINVAL;
            continue;
        }
        k = p;
        v = eq + 1;
        for (e = eq; e > k && isspace((unsigned char)e[-1]); e--)
            ;
        *e = '\0';
        while (isspace((unsigned char)*v))
            v++;
        if (strlen(v) >= 2 && (*v == '"' || *v == '\'') && v[strlen(v) - 1] == *v) {
            v[strlen(v) - 1] = '\0';
            v++;
        }
        {
            lk_diag sub = {0};
            size_t i;
            if (gw_config_set(c, k, v, path, &sub) != LK_OK)
                err = LK_EINVAL;
            for (i = 0; i < sub.n; i++)
                lk_diag_add(diag, path, lineno, 0, NULL, "%s", sub.items[i].msg);
            lk_diag_clear(&sub);
        }
    }
    fclose(fp);
    return err;
}

static int env_dup(char **dst, const char *name, const char *dflt)
{
    const char *v = getenv(name);
    if ((!v || !*v) && !dflt)
        return 0;
    return set_str(dst, v && *v ? v : dflt);
}

lk_err gw_config_env(gw_config *c, lk_diag *diag)
{
    char name[64];
    const char *v;
    lk_err err = LK_OK;
    size_t i, j;

    for (i = 0; keys[i]; i++) {
        snprintf(name, sizeof name, "LOKET_%s", keys[i]);
        for (j = 6; name[j]; j++)
            name[j] = (char)toupper((unsigned char)name[j]);
        if ((v = getenv(name)) && *v && gw_config_set(c, keys[i], v, name, diag) != LK_OK)
            err = LK_EINVAL;
    }
    if (env_dup(&c->wa_verify_token, "LOKET_WA_VERIFY_TOKEN", NULL) ||
        env_dup(&c->wa_app_secret, "LOKET_WA_APP_SECRET", NULL) ||
        env_dup(&c->wa_token, "LOKET_WA_TOKEN", NULL) ||
        env_dup(&c->wa_api_url, "LOKET_WA_API_URL", "https://graph.facebook.com/v25.0") ||
        env_dup(&c->twilio_token, "LOKET_TWILIO_AUTH_TOKEN", NULL) ||
        env_dup(&c->generic_token, "LOKET_GENERIC_TOKEN", NULL) ||
        env_dup(&c->public_url, "LOKET_PUBLIC_URL", NULL) ||
        env_dup(&c->ws_secret, "LOKET_WS_SECRET", NULL))
        return LK_ENOMEM;
    /* a trailing slash would double in {url}/{id}/messages */
    while (c->wa_api_url && *c->wa_api_url && c->wa_api_url[strlen(c->wa_api_url) - 1] == '/')
        c->wa_api_url[strlen(c->wa_api_url) - 1] = '\0';
    while (c->public_url && *c->public_url && c->public_url[strlen(c->public_url) - 1] == '/')
        c->public_url[strlen(c->public_url) - 1] = '\0';
    return err;
}
