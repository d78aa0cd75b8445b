/* What loket-load reads about the server it loads: CPU time and memory from
 * /proc/PID, and counters from its /metrics. */
#include "load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* utime + stime of the process in clock ticks, or -1. */
long long ld_proc_cpu_ticks(int pid)
{
    char path[64], buf[4096], *p;
    unsigned long long ut, st;
    FILE *f;
    size_t n;
    int i;

    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    if (!(f = fopen(path, "r")))
        return -1;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    if (!(p = strrchr(buf, ')')))
        return -1;
    p++;
    for (i = 0; i < 11; i++) /* from field 3 (state) to field 14 (utime) */
        if (!(p = strchr(p + 1, ' ')))
            return -1;
    if (sscanf(p, " %llu %llu", &ut, &st) != 2)
        return -1;
    return (long long)(ut + st);
}

/* A "Vm...:  N kB" line of /proc/PID/status in KiB, or -1. */
long ld_proc_status_kib(int pid, const char *key)
{
    char path[64], line[256];
    size_t n = strlen(key);
    long v = -1;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%d/status", pid);
    if (!(f = fopen(path, "r")))
        return -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, n) && line[n] == ':') {
            v = strtol(line + n + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

void ld_read_metrics(const ld_addr *a, ld_counters *m)
{
    lb body = {0};
    char *line, *save = NULL;

    memset(m, 0, sizeof *m);
    if (ld_http_get(a, "/metrics", &body, 5000) != 0) {
        lb_free(&body);
        return;
    }
    m->ok = 1;
    for (line = strtok_r(body.p, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *sp = strrchr(line, ' ');
        size_t nlen = strcspn(line, "{ ");
        double v;

        if (line[0] == '#' || !sp)
            continue;
        v = strtod(sp + 1, NULL);
        if (nlen == 23 && !strncmp(line, "loket_messages_in_total", nlen))
            m->in += v;
        else if (nlen == 18 && !strncmp(line, "loket_outbox_depth", nlen))
            m->outbox += v;
        else if (nlen >= 14 && !strncmp(line + nlen - 14, "_commits_total", 14))
            m->commits += v, m->has_commits = 1;
    }
    lb_free(&body);
}
