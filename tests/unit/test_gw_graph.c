/* Unit tests of the classification of the Graph API's answers to a send
 * (src/gateway/graph.c): each answer of the fuzz corpus, written after Meta's
 * error code reference, and the verdict the sender must act on. */
#include "test.h"

#ifdef LOKET_HAVE_GATEWAY
#include <stdlib.h>

#include "parse.h"

/* Reads tests/fuzz/corpus/gw_graph/NAME: the status line, then the body. */
static enum gw_send_verdict verdict_of(const char *name, gw_graph_answer *a)
{
    char path[256], buf[8192];
    size_t n;
    long status = 0;
    const char *nl;
    FILE *f;

    snprintf(path, sizeof path, "tests/fuzz/corpus/gw_graph/%s", name);
    if (!(f = fopen(path, "rb"))) {
        fprintf(stderr, "cannot read %s\n", path);
        CHECK(0);
        return (enum gw_send_verdict) - 1;
    }
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    nl = strchr(buf, '\n');
    status = strtol(buf, NULL, 10);
    return gw_graph_answer_parse(status, nl ? nl + 1 : "", nl ? n - (size_t)(nl + 1 - buf) : 0, a);
}

static void test_corpus(void)
{
    static const struct {
        const char *file;
        enum gw_send_verdict v;
        long code;
    } cases[] = {
        {"sent", GW_SEND_SENT, 0},
        {"sent-without-id", GW_SEND_SENT, 0},
        {"created-empty", GW_SEND_SENT, 0},
        {"no-status", GW_SEND_RETRY, 0},
        {"unavailable", GW_SEND_RETRY, 0},
        {"html-error", GW_SEND_RETRY, 0},
        {"token-expired", GW_SEND_AUTH, 190},
        {"token-invalid", GW_SEND_AUTH, 190},
        {"permission", GW_SEND_AUTH, 10},
        {"permission-200", GW_SEND_AUTH, 200},
        {"throughput", GW_SEND_THROUGHPUT, 130429},
        {"pair-rate-limit", GW_SEND_PAIR, 131056},
        {"reengagement", GW_SEND_WINDOW, 131047},
        {"undeliverable", GW_SEND_DROP, 131026},
        {"template-missing", GW_SEND_DROP, 132001},
        {"newline-message", GW_SEND_DROP, 100},
        {"something-wrong", GW_SEND_RETRY, 131000},
        {"service-unavailable", GW_SEND_RETRY, 131016},
        {"quoted-code", GW_SEND_RETRY, 80007},
    };
    size_t i;

    for (i = 0; i < sizeof cases / sizeof *cases; i++) {
        gw_graph_answer a;
        enum gw_send_verdict v = verdict_of(cases[i].file, &a);
        if (v != cases[i].v || a.code != cases[i].code)
            fprintf(stderr, "%s: verdict %s code %ld\n", cases[i].file, gw_send_verdict_name(v),
                    a.code);
        CHECK_INT(v, cases[i].v);
        CHECK_INT(a.code, cases[i].code);
    }
}

static void test_status_rules(void)
{
    gw_graph_answer a;

    /* a 401 or 403 without a body is still the token or a permission */
    CHECK_INT(gw_graph_answer_parse(401, "", 0, &a), GW_SEND_AUTH);
    CHECK_INT(gw_graph_answer_parse(403, "<html>", 6, &a), GW_SEND_AUTH);
    /* no answer: the body (a proxy's page) does not decide */
    CHECK_INT(gw_graph_answer_parse(0, "{\"error\":{\"code\":131047}}", 25, &a), GW_SEND_RETRY);
    /* the code decides before the status: a 500 carrying 131047 is the window */
    CHECK_INT(gw_graph_answer_parse(500, "{\"error\":{\"code\":131047}}", 25, &a), GW_SEND_WINDOW);
    CHECK_INT(gw_graph_answer_parse(429, "", 0, &a), GW_SEND_RETRY);
    CHECK_INT(gw_graph_answer_parse(400, "", 0, &a), GW_SEND_DROP);
    CHECK_STR(gw_send_verdict_name(GW_SEND_PAIR), "pair");
}

int main(void)
{
    test_corpus();
    test_status_rules();
    return test_done("test_gw_graph");
}
#else
int main(void)
{
    puts("test_gw_graph: no gateway in this build");
    return 0;
}
#endif
