/* Unit tests of src/runtime: one inbound message is one transaction (or one
 * savepoint of a batch's transaction, test_batch). A
 * duplicate id is acknowledged and not processed, bad input never touches a
 * session, and a step that fails midway (the engine's step bound) leaves the
 * stored session, the log and the outbox as they were. Real SQLite files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loket/runtime.h"
#include "test.h"

/* A flow whose "loop" choice runs pass states in a conditional cycle until
 * the step bound stops it. */
static const char FLOW[] =
    "{\"loket\":1,\"name\":\"rt\",\"start\":\"ask\",\"invalid\":{\"message\":\"bad\"},"
    "\"session\":{\"max_steps\":8},"
    "\"states\":{"
    "\"ask\":{\"say\":\"pick\",\"menu\":[{\"title\":\"count\",\"goto\":\"count\"},"
    "{\"title\":\"loop\",\"set\":{\"x\":1},\"goto\":\"a\"}]},"
    "\"count\":{\"set\":{\"n\":\"n + 1\"},\"say\":\"n={{n}}\",\"next\":\"ask\"},"
    "\"a\":{\"next\":[{\"if\":\"x > 0\",\"goto\":\"b\"},{\"goto\":\"ask\"}]},"
    "\"b\":{\"next\":[{\"if\":\"x > 0\",\"goto\":\"a\"},{\"goto\":\"ask\"}]}}}";

static char dir[] = "/tmp/loket-rt-XXXXXX";
static char dbpath[256];

static int render(void *ctx, const char *user, const lk_reply *r, lk_buf *payload)
{
    (void)ctx;
    lk_buf_printf(payload, "{\"to\":\"%s\",\"text\":\"%s\"}", user, r->text);
    return 0;
}

static lk_err send_as(lk_runtime *rt, lk_out *out, const char *channel, const char *user,
                      const char *id, const char *text, int *dup)
{
    lk_inbound in = {0};
    in.channel = channel;
    in.user = user;
    in.ext_id = id;
    in.text = text;
    in.len = strlen(text);
    in.now_ms = 1795485600000LL;
    in.render = render;
    in.outbox_channel = "test";
    return lk_runtime_handle(rt, &in, out, dup, NULL);
}

static lk_err send(lk_runtime *rt, lk_out *out, const char *id, const char *text, int *dup)
{
    return send_as(rt, out, "test", "u1", id, text, dup);
}

/* One message of a batch: lk_runtime_step inside the caller's transaction. */
static lk_err step_as(lk_runtime *rt, lk_out *out, const char *user, const char *id,
                      const char *text, int *dup, int *lost)
{
    lk_inbound in = {0};
    in.channel = "batch";
    in.user = user;
    in.ext_id = id;
    in.text = text;
    in.len = strlen(text);
    in.now_ms = 1795485600000LL;
    return lk_runtime_step(rt, &in, out, dup, NULL, lost);
}

/* Many messages, one transaction: each in its own savepoint. A failing
 * message undoes only its own work (its id is not recorded), a duplicate of
 * an earlier message of the same batch is a duplicate, and all the others
 * commit together. */
static void test_batch(lk_runtime *rt, lk_store *st, lk_out *out)
{
    lk_buf b = {0};
    int dup = -1, lost = -1, found = -1;

    CHECK_INT(lk_store_savepoint(st), LK_EINVAL); /* no transaction */
    CHECK_INT(lk_store_begin(st), LK_OK);
    CHECK_INT(lk_store_release(st), LK_EINVAL); /* no savepoint */
    CHECK_INT(lk_store_rollback_to(st), LK_EINVAL);
    CHECK_INT(step_as(rt, out, "b1", "x1", "1", &dup, &lost), LK_OK);
    CHECK_STR(lk_out_joined(out), "n=1\npick\n1. count\n2. loop");
    CHECK_INT(step_as(rt, out, "b2", "x2", "2", &dup, &lost), LK_ELIMIT);
    CHECK_INT(lost, 0);
    CHECK_INT(lk_out_count(out), 0);
    CHECK_INT(step_as(rt, out, "b1", "x1", "1", &dup, &lost), LK_OK); /* the same id again */
    CHECK_INT(dup, 1);
    CHECK_INT(lk_out_count(out), 0);
    CHECK_INT(step_as(rt, out, "b1", "x3", "1", &dup, &lost), LK_OK);
    CHECK_INT(dup, 0);
    CHECK_STR(lk_out_joined(out), "n=2\npick\n1. count\n2. loop");
    CHECK_INT(step_as(rt, out, "b3", "x1", "1", &dup, &lost), LK_OK); /* another user's x1 */
    CHECK_INT(dup, 0);
    CHECK_INT(lk_store_commit(st), LK_OK);

    /* committed: b1's two messages and b3's; of b2 nothing, not even its id */
    CHECK_INT(lk_store_load(st, "batch", "b2", &b, &found), LK_OK);
    CHECK_INT(found, 0);
    CHECK_INT(lk_store_load(st, "batch", "b3", &b, &found), LK_OK);
    CHECK_INT(found, 1);
    CHECK_INT(lk_store_begin(st), LK_OK);
    CHECK_INT(step_as(rt, out, "b2", "x2", "1", &dup, &lost), LK_OK);
    CHECK_INT(dup, 0);
    CHECK_STR(lk_out_joined(out), "n=1\npick\n1. count\n2. loop");
    CHECK_INT(step_as(rt, out, "b1", "x3", "1", &dup, &lost), LK_OK); /* committed before */
    CHECK_INT(dup, 1);
    lk_store_rollback(st); /* a batch that does not commit leaves nothing */
    CHECK_INT(lk_store_load(st, "batch", "b2", &b, &found), LK_OK);
    CHECK_INT(found, 0);
    lk_buf_free(&b);
}

static void stored(lk_store *st, lk_buf *blob)
{
    int found = 0;
    lk_buf_reset(blob);
    CHECK_INT(lk_store_load(st, "test", "u1", blob, &found), LK_OK);
    CHECK(found);
}

int main(void)
{
    lk_flow *flow = NULL;
    lk_store *st = NULL;
    lk_store_opts so;
    lk_diag diag = {0};
    lk_runtime *rt;
    lk_out *out = lk_out_new();
    lk_buf before = {0}, after = {0};
    int64_t depth = 0;
    int dup = -1;
    const char *why = NULL;

    if (!mkdtemp(dir))
        return 1;
    snprintf(dbpath, sizeof dbpath, "%s/rt.db", dir);
    CHECK_INT(lk_flow_load_string("rt.json", FLOW, strlen(FLOW), &flow, &diag), LK_OK);
    lk_diag_print(&diag, stderr);
    lk_store_opts_default(&so);
    CHECK_INT(lk_store_open(dbpath, &so, &st, &diag), LK_OK);
    if (!flow || !st)
        return 1;
    rt = lk_runtime_new(flow, st);

    /* a message is handled, its reply logged and put in the outbox */
    CHECK_INT(send(rt, out, "m1", "hi", &dup), LK_OK);
    CHECK_INT(dup, 0);
    CHECK_STR(lk_out_joined(out), "bad");
    CHECK_INT(send(rt, out, "m2", "1", &dup), LK_OK);
    CHECK_STR(lk_out_joined(out), "n=1\npick\n1. count\n2. loop");
    CHECK_INT(lk_store_outbox_depth(st, &depth), LK_OK);
    CHECK_INT(depth, 3);

    /* the same id again: acknowledged, not processed */
    CHECK_INT(send(rt, out, "m2", "1", &dup), LK_OK);
    CHECK_INT(dup, 1);
    CHECK_INT(lk_out_count(out), 0);
    CHECK_INT(lk_store_outbox_depth(st, &depth), LK_OK);
    CHECK_INT(depth, 3);

    /* a step that fails midway leaves the stored session untouched */
    stored(st, &before);
    CHECK_INT(send(rt, out, "m3", "2", &dup), LK_ELIMIT);
    CHECK_INT(lk_out_count(out), 0);
    stored(st, &after);
    CHECK(before.len == after.len && !memcmp(before.p, after.p, before.len));
    CHECK_INT(lk_store_outbox_depth(st, &depth), LK_OK);
    CHECK_INT(depth, 3);
    /* ... and its id was not recorded, so a retry is processed again */
    CHECK_INT(send(rt, out, "m3", "1", &dup), LK_OK);
    CHECK_INT(dup, 0);
    CHECK_STR(lk_out_joined(out), "n=2\npick\n1. count\n2. loop");

    /* bad input is refused before it reaches the session */
    stored(st, &before);
    CHECK_INT(send(rt, out, "m4", "a\xff", &dup), LK_EINVAL);
    {
        lk_inbound in = {0};
        char big[4200];
        in.user = "u1";
        in.text = "a\0b";
        in.len = 3;
        CHECK_INT(lk_inbound_check(&in, &why), LK_EINVAL);
        CHECK(why && strstr(why, "NUL"));
        memset(big, 'x', sizeof big);
        in.text = big;
        in.len = 4096;
        CHECK_INT(lk_inbound_check(&in, &why), LK_OK);
        in.len = 4097;
        CHECK_INT(lk_inbound_check(&in, &why), LK_EINVAL);
        CHECK(why && strstr(why, "4096"));
        in.user = "";
        in.len = 1;
        CHECK_INT(lk_inbound_check(&in, &why), LK_EINVAL);
    }
    stored(st, &after);
    CHECK(before.len == after.len && !memcmp(before.p, after.p, before.len));

    /* the same sender id on another channel is another user: its own
     * session (a fresh start, not u1's counter), its own processed ids */
    CHECK_INT(send_as(rt, out, "other", "u1", "m2", "1", &dup), LK_OK);
    CHECK_INT(dup, 0);
    CHECK_STR(lk_out_joined(out), "n=1\npick\n1. count\n2. loop");
    CHECK_INT(send_as(rt, out, "other", "u1", "m6", "1", &dup), LK_OK);
    CHECK_STR(lk_out_joined(out), "n=2\npick\n1. count\n2. loop");
    /* two users of one channel may send the same message id */
    CHECK_INT(send_as(rt, out, "test", "u2", "m2", "hi", &dup), LK_OK);
    CHECK_INT(dup, 0);
    CHECK_STR(lk_out_joined(out), "bad");

    test_batch(rt, st, out);

    /* the session survives closing and reopening the database */
    lk_runtime_free(rt);
    lk_store_close(st);
    CHECK_INT(lk_store_open(dbpath, &so, &st, &diag), LK_OK);
    rt = lk_runtime_new(flow, st);
    CHECK_INT(send(rt, out, "m5", "1", &dup), LK_OK);
    CHECK_STR(lk_out_joined(out), "n=3\npick\n1. count\n2. loop");

    lk_runtime_free(rt);
    lk_store_close(st);
    lk_flow_free(flow);
    lk_out_free(out);
    lk_buf_free(&before);
    lk_buf_free(&after);
    lk_diag_clear(&diag);
    {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    }
    return test_done("test_runtime");
}
