/* it_nats.c — proof that cnats drives the real nats-server's JetStream:
 * stream creation, de-duplicated publish, durable pull consumer, ack. */
#include "testenv.h"

#include <criterion/criterion.h>
#include <nats/nats.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static natsConnection *nc;
static jsCtx *js;
static char stream[64];

static void setup(void) {
    cr_assert_eq(natsConnection_ConnectTo(&nc, byron_testenv("BYRON_NATS_URL")), NATS_OK, "connect: %s",
                 nats_GetLastError(NULL));
    cr_assert_eq(natsConnection_JetStream(&js, nc, NULL), NATS_OK);
    snprintf(stream, sizeof stream, "FOUNDATION_%d", (int)getpid());
}

static void teardown(void) {
    jsErrCode jerr = 0;
    js_DeleteStream(js, stream, NULL, &jerr);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    nats_Close();
}

TestSuite(nats, .init = setup, .fini = teardown);

Test(nats, jetstream_dedup_pull_consumer_and_ack) {
    jsErrCode jerr = 0;
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    char subject[96];
    snprintf(subject, sizeof subject, "foundation.%d.>", (int)getpid());
    const char *subjects[] = {subject};
    cfg.Name = stream;
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Duplicates = 60 * (int64_t)1000000000;
    jsStreamInfo *si = NULL;
    cr_assert_eq(js_AddStream(&si, js, &cfg, NULL, &jerr), NATS_OK, "add stream: %d %s", jerr,
                 nats_GetLastError(NULL));
    jsStreamInfo_Destroy(si);

    char subj[96];
    snprintf(subj, sizeof subj, "foundation.%d.order.1", (int)getpid());
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = "cmd-1";
    jsPubAck *pa = NULL;
    cr_assert_eq(js_Publish(&pa, js, subj, "first", 5, &po, &jerr), NATS_OK);
    cr_assert_eq(pa->Sequence, 1);
    cr_assert_not(pa->Duplicate);
    jsPubAck_Destroy(pa);
    /* Same message id within the window: the server reports a duplicate, stores nothing. */
    cr_assert_eq(js_Publish(&pa, js, subj, "first", 5, &po, &jerr), NATS_OK);
    cr_assert(pa->Duplicate);
    cr_assert_eq(pa->Sequence, 1);
    jsPubAck_Destroy(pa);
    po.MsgId = "cmd-2";
    cr_assert_eq(js_Publish(&pa, js, subj, "second", 6, &po, &jerr), NATS_OK);
    cr_assert_eq(pa->Sequence, 2);
    jsPubAck_Destroy(pa);

    natsSubscription *sub = NULL;
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream;
    cr_assert_eq(js_PullSubscribe(&sub, js, subject, "worker", NULL, &so, &jerr), NATS_OK,
                 "pull subscribe: %s", nats_GetLastError(NULL));
    natsMsgList list = {0};
    const char *want[] = {"first", "second"};
    int got = 0;
    long long deadline = byron_test_now_ms() + 10000;
    while (got < 2 && byron_test_now_ms() < deadline) {
        natsStatus s = natsSubscription_Fetch(&list, sub, 10, 2000, &jerr);
        if (s == NATS_TIMEOUT) continue;
        cr_assert_eq(s, NATS_OK);
        for (int i = 0; i < list.Count; i++, got++) {
            cr_assert_lt(got, 2, "more messages than published");
            cr_assert_eq(natsMsg_GetDataLength(list.Msgs[i]), (int)strlen(want[got]));
            cr_assert_eq(memcmp(natsMsg_GetData(list.Msgs[i]), want[got], strlen(want[got])), 0);
            cr_assert_eq(natsMsg_AckSync(list.Msgs[i], NULL, &jerr), NATS_OK);
        }
        natsMsgList_Destroy(&list);
    }
    cr_assert_eq(got, 2);
    jsConsumerInfo *ci = NULL;
    cr_assert_eq(js_GetConsumerInfo(&ci, js, stream, "worker", NULL, &jerr), NATS_OK);
    cr_assert_eq(ci->NumAckPending, 0);
    cr_assert_eq(ci->Delivered.Stream, 2);
    jsConsumerInfo_Destroy(ci);
    natsSubscription_Destroy(sub);
}
