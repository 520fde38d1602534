/* it_kube.c — proof that libcurl + json-c talk to the real kube-apiserver with
 * the credentials of the generated admin kubeconfig: /version, /readyz, and a
 * CustomResourceDefinition that becomes Established. */
#include "byron/buf.h"
#include "byron/json.h"
#include "testenv.h"

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One request with the admin client certificate; returns the HTTP status. */
static long kube(const char *method, const char *path, const char *body, json_object **out) {
    char url[512], pki[512], ca[600], crt[600], key[600];
    snprintf(url, sizeof url, "%s%s", byron_testenv("BYRON_KUBE_SERVER"), path);
    snprintf(pki, sizeof pki, "%s/pki", byron_testenv("BYRON_TESTENV_DIR"));
    snprintf(ca, sizeof ca, "%s/ca.crt", pki);
    snprintf(crt, sizeof crt, "%s/admin.crt", pki);
    snprintf(key, sizeof key, "%s/admin.key", pki);
    CURL *c = curl_easy_init();
    byron_buf_t b = {0};
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    curl_easy_setopt(c, CURLOPT_SSLCERT, crt);
    curl_easy_setopt(c, CURLOPT_SSLKEY, key);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    if (body) curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, byron_buf_curl_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    CURLcode rc = curl_easy_perform(c);
    cr_assert_eq(rc, CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror(rc));
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (out) {
        byron_err_t err = {0};
        *out = NULL;
        cr_assert_eq(byron_json_parse(b.buf ? b.buf : "", b.len, 0, out, &err), BYRON_OK, "%s", err.msg);
    }
    free(b.buf);
    return code;
}

Test(kube, version_and_readyz_with_kubeconfig_credentials) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    json_object *v = NULL;
    cr_assert_eq(kube("GET", "/version", NULL, &v), 200);
    cr_assert_str_eq(json_object_get_string(json_object_object_get(v, "major")), "1");
    cr_assert(strncmp(json_object_get_string(json_object_object_get(v, "gitVersion")), "v1.", 3) == 0);
    json_object_put(v);
    cr_assert_eq(kube("GET", "/readyz", NULL, NULL), 200);
    curl_global_cleanup();
}

Test(kube, crd_becomes_established) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    char plural[64], crd[2048], path[256];
    snprintf(plural, sizeof plural, "probes%d", (int)getpid());
    snprintf(crd, sizeof crd,
             "{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\","
             "\"metadata\":{\"name\":\"%s.foundation.byron.io\"},"
             "\"spec\":{\"group\":\"foundation.byron.io\",\"scope\":\"Namespaced\","
             "\"names\":{\"plural\":\"%s\",\"singular\":\"probe%d\",\"kind\":\"Probe%d\"},"
             "\"versions\":[{\"name\":\"v1\",\"served\":true,\"storage\":true,"
             "\"schema\":{\"openAPIV3Schema\":{\"type\":\"object\"}}}]}}",
             plural, plural, (int)getpid(), (int)getpid());
    cr_assert_eq(kube("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd, NULL), 201);
    snprintf(path, sizeof path,
             "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/%s.foundation.byron.io", plural);
    int established = 0;
    long long deadline = byron_test_now_ms() + 30000;
    while (!established && byron_test_now_ms() < deadline) {
        json_object *o = NULL, *conds = NULL, *status = NULL;
        cr_assert_eq(kube("GET", path, NULL, &o), 200);
        /* A new CRD's status may hold "conditions": null before the first update. */
        if (json_object_object_get_ex(o, "status", &status) &&
            json_object_object_get_ex(status, "conditions", &conds) &&
            json_object_is_type(conds, json_type_array)) {
            for (size_t i = 0; i < json_object_array_length(conds); i++) {
                json_object *cnd = json_object_array_get_idx(conds, i);
                if (strcmp(json_object_get_string(json_object_object_get(cnd, "type")), "Established") == 0 &&
                    strcmp(json_object_get_string(json_object_object_get(cnd, "status")), "True") == 0)
                    established = 1;
            }
        }
        json_object_put(o);
        if (!established) usleep(100 * 1000);
    }
    cr_assert(established, "CRD not Established within 30 s");
    /* Established: the API server accepted the names; its handler for the new
     * collection is installed right after, so poll that too (with a deadline). */
    snprintf(path, sizeof path, "/apis/foundation.byron.io/v1/namespaces/default/%s", plural);
    long code = 0;
    for (deadline = byron_test_now_ms() + 30000; byron_test_now_ms() < deadline; usleep(100 * 1000))
        if ((code = kube("GET", path, NULL, NULL)) == 200) break;
    cr_assert_eq(code, 200, "the new resource was not served within 30 s");
    snprintf(path, sizeof path,
             "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/%s.foundation.byron.io", plural);
    cr_assert_eq(kube("DELETE", path, NULL, NULL), 200);
    curl_global_cleanup();
}
