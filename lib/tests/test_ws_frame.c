/* test_ws_frame.c — WebSocket frames (RFC 6455) and the exec status, as
 * kube_exec.c reads them: the RFC's examples, lengths at each encoding's
 * edge, fragments, and frames no server may send. */
#include "byron/json.h"
#include "byron/kube_exec.h"
#include "byron/ws_frame.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

Test(ws_frame, accept_key_is_the_rfc_example) {
    char out[29];
    cr_assert_eq(byron_ws_accept("dGhlIHNhbXBsZSBub25jZQ==", out), 0);
    cr_assert_str_eq(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

Test(ws_frame, a_masked_client_frame_is_the_rfc_example) {
    /* RFC 6455 5.7: a single-frame masked text message "Hello" */
    uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d}, out[32];
    size_t n = byron_ws_frame_encode(BYRON_WS_TEXT, "Hello", 5, mask, out);
    const uint8_t want[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    cr_assert_eq(n, sizeof want);
    cr_assert_eq(memcmp(out, want, n), 0);
    /* and it parses back, unmasked */
    byron_ws_frame_t f;
    cr_assert_eq(byron_ws_frame_parse(out, n, 100, &f), (long)n);
    cr_assert_eq(f.opcode, BYRON_WS_TEXT);
    cr_assert(f.fin);
    cr_assert_eq(f.len, 5);
    cr_assert_eq(memcmp(f.payload, "Hello", 5), 0);
}

Test(ws_frame, lengths_round_trip_at_each_encoding_edge) {
    size_t lens[] = {0, 125, 126, 65535, 65536, 200000};
    uint8_t mask[4] = {1, 2, 3, 4};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        uint8_t *payload = malloc(lens[i] + 1), *buf = malloc(lens[i] + BYRON_WS_HEADER_MAX);
        for (size_t k = 0; k < lens[i]; k++) payload[k] = (uint8_t)(k * 7);
        size_t n = byron_ws_frame_encode(BYRON_WS_BINARY, payload, lens[i], mask, buf);
        byron_ws_frame_t f;
        /* every proper prefix is incomplete, never an error */
        cr_assert_eq(byron_ws_frame_parse(buf, n - 1, 1u << 20, &f), 0, "len %zu", lens[i]);
        cr_assert_eq(byron_ws_frame_parse(buf, n, 1u << 20, &f), (long)n, "len %zu", lens[i]);
        cr_assert_eq(f.len, lens[i]);
        cr_assert_eq(memcmp(f.payload, payload, lens[i]), 0, "len %zu", lens[i]);
        free(payload);
        free(buf);
    }
}

Test(ws_frame, a_server_frame_parses_and_two_in_a_buffer_one_at_a_time) {
    /* unmasked binary "\x01hi" (stdout channel), then a FIN-less text fragment */
    uint8_t buf[] = {0x82, 0x03, 0x01, 'h', 'i', 0x01, 0x02, 'a', 'b'};
    byron_ws_frame_t f;
    cr_assert_eq(byron_ws_frame_parse(buf, sizeof buf, 100, &f), 5);
    cr_assert_eq(f.opcode, BYRON_WS_BINARY);
    cr_assert_eq(f.payload[0], 1);
    cr_assert_eq(byron_ws_frame_parse(buf + 5, 4, 100, &f), 4);
    cr_assert(!f.fin);
    cr_assert_eq(f.opcode, BYRON_WS_TEXT);
}

Test(ws_frame, frames_no_server_may_send_are_refused) {
    uint8_t rsv[] = {0xC2, 0x00};                            /* a reserved bit */
    uint8_t op[] = {0x83, 0x00};                             /* opcode 3 */
    uint8_t ctl[] = {0x89, 0x7e, 0x00, 0x80};                /* a ping of 128 bytes */
    uint8_t frag[] = {0x09, 0x00};                           /* a fragmented ping */
    uint8_t big[] = {0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0}; /* 2^63 */
    uint8_t over[] = {0x82, 0x7e, 0x01, 0x00};               /* 256 bytes beyond a max of 100 */
    byron_ws_frame_t f;
    cr_assert_eq(byron_ws_frame_parse(rsv, sizeof rsv, 100, &f), -1);
    cr_assert_eq(byron_ws_frame_parse(op, sizeof op, 100, &f), -1);
    cr_assert_eq(byron_ws_frame_parse(ctl, sizeof ctl, 1000, &f), -1);
    cr_assert_eq(byron_ws_frame_parse(frag, sizeof frag, 100, &f), -1);
    cr_assert_eq(byron_ws_frame_parse(big, sizeof big, UINT64_MAX, &f), -1);
    cr_assert_eq(byron_ws_frame_parse(over, sizeof over, 100, &f), -1);
}

static int code_of(const char *json, const char **msg) {
    json_object *o = NULL;
    cr_assert_eq(byron_json_parse(json, strlen(json), 0, &o, NULL), BYRON_OK);
    int c = byron_kube_exec_status_code(o, msg);
    if (msg) *msg = strdup(*msg);
    json_object_put(o);
    return c;
}

Test(kube_exec, the_status_channel_gives_the_exit_code) {
    const char *m = NULL;
    cr_assert_eq(code_of("{\"metadata\":{},\"status\":\"Success\"}", NULL), 0);
    cr_assert_eq(
        code_of("{\"metadata\":{},\"status\":\"Failure\",\"message\":\"command terminated with non-zero exit "
                "code: error executing command [sh -c exit 3], exit code 3\",\"reason\":\"NonZeroExitCode\","
                "\"details\":{\"causes\":[{\"reason\":\"ExitCode\",\"message\":\"3\"}]}}",
                NULL),
        3);
    cr_assert_eq(code_of("{\"status\":\"Failure\",\"message\":\"container not found (\\\"x\\\")\"}", &m), -1);
    cr_assert_str_eq(m, "container not found (\"x\")");
    free((char *)m);
    cr_assert_eq(
        code_of("{\"status\":\"Failure\",\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":[{\"reason\":"
                "\"ExitCode\",\"message\":\"nope\"}]}}",
                NULL),
        -1);
}
