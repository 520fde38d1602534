/* test_kubeconfig.c — kubeconfig and in-cluster credentials: good and malformed. */
#include "byron/kubeconfig.h"
#include "byron/yaml.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *GOOD = "apiVersion: v1\n"
                          "kind: Config\n"
                          "current-context: dev\n"
                          "clusters:\n"
                          "- name: prod\n"
                          "  cluster: {server: 'https://prod:6443', certificate-authority-data: UFJPRA==}\n"
                          "- name: local\n"
                          "  cluster:\n"
                          "    server: https://127.0.0.1:6443/\n"
                          "    certificate-authority-data: Q0EtUEVN\n" /* CA-PEM */
                          "- name: lab\n"
                          "  cluster: {server: https://lab:6443, insecure-skip-tls-verify: true}\n"
                          "users:\n"
                          "- name: admin\n"
                          "  user:\n"
                          "    client-certificate-data: Q0VSVA==\n" /* CERT */
                          "    client-key-data: S0VZ\n"             /* KEY */
                          "- name: bot\n"
                          "  user: {token: abc.def}\n"
                          "contexts:\n"
                          "- name: dev\n"
                          "  context: {cluster: local, user: admin, namespace: shop}\n"
                          "- name: lab\n"
                          "  context: {cluster: lab, user: bot}\n";

Test(kubeconfig, current_context_with_inline_data) {
    byron_kube_config_t *c = NULL;
    byron_err_t err = {0};
    cr_assert_eq(byron_kubeconfig_parse(GOOD, strlen(GOOD), "/nowhere", NULL, &c, &err), BYRON_OK, "%s",
                 err.msg);
    cr_assert_str_eq(c->server, "https://127.0.0.1:6443");
    cr_assert_eq(c->ca_len, 6);
    cr_assert(memcmp(c->ca_pem, "CA-PEM", 6) == 0);
    cr_assert(memcmp(c->cert_pem, "CERT", 4) == 0);
    cr_assert(memcmp(c->key_pem, "KEY", 3) == 0);
    cr_assert_null(c->token);
    cr_assert_str_eq(c->namespace, "shop");
    cr_assert_eq(c->insecure, 0);
    byron_kubeconfig_free(c);
}

Test(kubeconfig, explicit_context_token_and_insecure) {
    byron_kube_config_t *c = NULL;
    byron_err_t err = {0};
    cr_assert_eq(byron_kubeconfig_parse(GOOD, strlen(GOOD), NULL, "lab", &c, &err), BYRON_OK, "%s", err.msg);
    cr_assert_str_eq(c->server, "https://lab:6443");
    cr_assert_str_eq(c->token, "abc.def");
    cr_assert_eq(c->insecure, 1);
    cr_assert_null(c->ca_pem);
    byron_kubeconfig_free(c);
}

static char dir[] = "/tmp/byron-kc-XXXXXX";

static void write_file(const char *name, const char *content) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs(content, f);
    fclose(f);
}

Test(kubeconfig, file_paths_relative_to_the_kubeconfig_and_token_file) {
    cr_assert_not_null(mkdtemp(dir));
    mkdir(strcat(strcpy((char[600]){0}, dir), "/pki"), 0700);
    write_file("pki/ca.crt", "CAFILE");
    write_file("pki/a.crt", "CERTFILE");
    write_file("pki/a.key", "KEYFILE");
    write_file("tok", "tok-1\n");
    write_file(
        "config",
        "current-context: c\n"
        "clusters: [{name: k, cluster: {server: 'https://k:1', certificate-authority: pki/ca.crt}}]\n"
        "users: [{name: u, user: {client-certificate: pki/a.crt, client-key: pki/a.key}},\n"
        "        {name: t, user: {tokenFile: tok}}]\n"
        "contexts: [{name: c, context: {cluster: k, user: u}}, {name: d, context: {cluster: k, user: t}}]\n");
    char path[600];
    snprintf(path, sizeof path, "%s/config", dir);
    byron_kube_config_t *c = NULL;
    byron_err_t err = {0};
    cr_assert_eq(byron_kubeconfig_load(path, NULL, &c, &err), BYRON_OK, "%s", err.msg);
    cr_assert_str_eq(c->ca_pem, "CAFILE");
    cr_assert_str_eq(c->cert_pem, "CERTFILE");
    cr_assert_str_eq(c->key_pem, "KEYFILE");
    byron_kubeconfig_free(c);
    cr_assert_eq(byron_kubeconfig_load(path, "d", &c, &err), BYRON_OK, "%s", err.msg);
    cr_assert_str_eq(c->token, "tok-1");
    cr_assert_not_null(c->token_file);
    byron_kubeconfig_free(c);
}

Test(kubeconfig, in_cluster_service_account) {
    cr_assert_not_null(mkdtemp(dir));
    write_file("ca.crt", "SA-CA");
    write_file("token", "jwt\n");
    write_file("namespace", "byron-system");
    setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    byron_kube_config_t *c = NULL;
    byron_err_t err = {0};
    cr_assert_eq(byron_kubeconfig_in_cluster(dir, &c, &err), BYRON_OK, "%s", err.msg);
    cr_assert_str_eq(c->server, "https://10.96.0.1:443");
    cr_assert_str_eq(c->token, "jwt");
    cr_assert_str_eq(c->namespace, "byron-system");
    cr_assert_str_eq(c->ca_pem, "SA-CA");
    byron_kubeconfig_free(c);
    unsetenv("KUBERNETES_SERVICE_HOST");
    cr_assert_eq(byron_kubeconfig_in_cluster(dir, &c, &err), BYRON_EINVAL);
    cr_assert(strstr(err.msg, "KUBERNETES_SERVICE_HOST"), "%s", err.msg);
}

/* Each malformed document fails with a message naming what is wrong. */
static void expect_error(const char *doc, const char *context, const char *needle) {
    byron_kube_config_t *c = NULL;
    byron_err_t err = {0};
    cr_assert_eq(byron_kubeconfig_parse(doc, strlen(doc), "/nowhere", context, &c, &err), BYRON_EINVAL,
                 "accepted: %s", doc);
    cr_assert_null(c);
    cr_assert(strstr(err.msg, needle), "message '%s' lacks '%s'", err.msg, needle);
}

Test(kubeconfig, malformed_documents_are_clear_errors) {
    expect_error("clusters: [unclosed", NULL, "invalid YAML at line");
    expect_error("- a\n- b\n", NULL, "mapping");
    expect_error("clusters: []\n", NULL, "current-context is not set: choose one with --context NAME");
    expect_error("current-context: ''\nclusters: []\n", NULL, "current-context is not set");
    expect_error(GOOD, "nope", "context \"nope\" does not exist in the kubeconfig");
    expect_error("current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\nclusters: [{name: k, "
                 "cluster: {}}]\n",
                 NULL, "clusters[0].cluster.server");
    expect_error("current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n"
                 "clusters: [{name: k, cluster: {server: 'ftp://x'}}]\n",
                 NULL, "must be an http(s) URL");
    expect_error("current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n"
                 "clusters: [{name: k, cluster: {server: 'https://x', certificate-authority-data: '!!!'}}]\n",
                 NULL, "certificate-authority-data: not valid base64");
    expect_error("current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
                 "clusters: [{name: k, cluster: {server: 'https://x'}}]\n"
                 "users: [{name: u, user: {client-certificate-data: QQ==}}]\n",
                 NULL, "client-certificate and client-key go together");
    expect_error(
        "current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n"
        "clusters: [{name: k, cluster: {server: 'https://x', certificate-authority: /no/such/ca}}]\n",
        NULL, "certificate-authority");
    expect_error("current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n"
                 "clusters: [{name: k, cluster: {server: 'https://x', insecure-skip-tls-verify: maybe}}]\n",
                 NULL, "insecure-skip-tls-verify");
}

Test(yaml, typed_manifest_scalars) {
    const char *doc = "a: 1\nb: '1'\nc: 1.5\nd: true\ne: ~\nf: [x, 2]\ng: &x {k: v}\nh: *x\n";
    json_object *o = NULL;
    byron_err_t err = {0};
    cr_assert_eq(byron_yaml_parse(doc, strlen(doc), 1, &o, &err), BYRON_OK, "%s", err.msg);
    cr_assert_str_eq(
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
        "{\"a\":1,\"b\":\"1\",\"c\":1.5,\"d\":true,\"e\":null,\"f\":[\"x\",2],\"g\":{\"k\":\"v\"},"
        "\"h\":{\"k\":\"v\"}}");
    json_object_put(o);
}

/* KUBECONFIG=a:b, as kubectl merges it: the first current-context, entries by
 * name (the first file's win), relative paths against their own file, and a
 * missing file skipped. */
Test(kubeconfig, a_kubeconfig_list_is_merged_as_kubectl_merges_it) {
    char tmp[] = "/tmp/byron-kcfg-XXXXXX", a[300], b[300], ca[300], list[1000];
    cr_assert_not_null(mkdtemp(tmp));
    snprintf(a, sizeof a, "%s/a", tmp);
    snprintf(b, sizeof b, "%s/sub/b", tmp);
    snprintf(ca, sizeof ca, "%s/sub/ca.pem", tmp);
    char sub[300];
    snprintf(sub, sizeof sub, "%s/sub", tmp);
    cr_assert_eq(mkdir(sub, 0700), 0);
    FILE *f = fopen(a, "w");
    fputs("contexts: [{name: shared, context: {cluster: first}}]\n"
          "clusters: [{name: first, cluster: {server: 'https://first:6443'}}]\n",
          f);
    fclose(f);
    f = fopen(b, "w");
    fputs("current-context: mine\n"
          "contexts: [{name: mine, context: {cluster: second, namespace: shop}},\n"
          "           {name: shared, context: {cluster: second}}]\n"
          "clusters: [{name: second, cluster: {server: 'https://second:6443', certificate-authority: "
          "ca.pem}},\n"
          "           {name: first, cluster: {server: 'https://ignored:6443'}}]\n",
          f);
    fclose(f);
    f = fopen(ca, "w");
    fputs("CA", f);
    fclose(f);
    snprintf(list, sizeof list, "%s/missing:%s:%s", tmp, a, b);
    setenv("KUBECONFIG", list, 1);
    byron_kube_config_t *c = NULL;
    byron_err_t err = {0};
    cr_assert_eq(byron_kubeconfig_load(NULL, NULL, &c, &err), BYRON_OK, "%s", err.msg);
    cr_assert_str_eq(c->server, "https://second:6443");
    cr_assert_str_eq(c->namespace, "shop");
    cr_assert_eq(c->ca_len, 2); /* ca.pem, relative to b's directory */
    byron_kubeconfig_free(c);
    cr_assert_eq(byron_kubeconfig_load(NULL, "shared", &c, &err), BYRON_OK, "%s", err.msg);
    cr_assert_str_eq(c->server, "https://first:6443"); /* a's context and cluster win */
    byron_kubeconfig_free(c);
    snprintf(list, sizeof list, "%s/missing:%s/missing2", tmp, tmp);
    setenv("KUBECONFIG", list, 1);
    cr_assert_neq(byron_kubeconfig_load(NULL, NULL, &c, &err), BYRON_OK);
    cr_assert(strstr(err.msg, "none of these files exists"), "%s", err.msg);
    unsetenv("KUBECONFIG");
}
