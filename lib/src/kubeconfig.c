/* kubeconfig.c — kubeconfig (YAML → json-c with yaml.c, then strict getters
 * so every error names its field) and in-cluster service-account credentials. */
#include "byron/kubeconfig.h"

#include "byron/base64.h"
#include "byron/file.h"
#include "byron/json.h"
#include "byron/yaml.h"

#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILE (4u << 20)

/* Find the entry named `name` in a list of {name, <field>: {...}}. */
static byron_status_t find_named(json_object *root, const char *list, const char *field, const char *name,
                                 json_object **out, char *path, size_t pathlen, byron_err_t *err) {
    json_object *arr = NULL;
    byron_status_t st = byron_json_get_array(root, "", list, BYRON_JSON_OPTIONAL, &arr, err);
    if (st) return st;
    size_t n = arr ? json_object_array_length(arr) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(arr, i);
        char p[64];
        snprintf(p, sizeof(p), "%s[%zu]", list, i);
        const char *nm = NULL;
        if ((st = byron_json_get_string(e, p, "name", BYRON_JSON_REQUIRED, &nm, err))) return st;
        if (strcmp(nm, name) != 0) continue;
        snprintf(path, pathlen, "%s[%zu].%s", list, i, field);
        return byron_json_get_object(e, p, field, BYRON_JSON_REQUIRED, out, err);
    }
    if (!strcmp(list, "contexts"))
        return byron_err_set(err, BYRON_EINVAL, "context \"%s\" does not exist in the kubeconfig", name);
    return byron_err_set(err, BYRON_EINVAL, "%s: no entry named '%s'", list, name);
}

/* Read `<key>-data` (base64) or `<key>` (a path) into PEM bytes. */
static byron_status_t load_pem(json_object *o, const char *path, const char *key, const char *base_dir,
                               char **out, size_t *outlen, byron_err_t *err) {
    char dkey[64];
    snprintf(dkey, sizeof(dkey), "%s-data", key);
    const char *data = NULL, *file = NULL;
    byron_status_t st;
    if ((st = byron_json_get_string(o, path, dkey, BYRON_JSON_OPTIONAL, &data, err))) return st;
    if ((st = byron_json_get_string(o, path, key, BYRON_JSON_OPTIONAL, &file, err))) return st;
    if (data) {
        if (byron_base64_decode(data, strlen(data), out, outlen) != 0 || *outlen == 0)
            return byron_err_set(err, BYRON_EINVAL, "%s.%s: not valid base64", path, dkey);
        return BYRON_OK;
    }
    if (file) {
        char full[PATH_MAX];
        if (file[0] == '/' || !base_dir)
            snprintf(full, sizeof(full), "%s", file);
        else
            snprintf(full, sizeof(full), "%s/%s", base_dir, file);
        if (byron_file_read(full, MAX_FILE, out, outlen, err) != BYRON_OK) {
            byron_err_prefix(err, "%s.%s", path, key);
            if (err) err->code = BYRON_EINVAL; /* a kubeconfig naming a missing file is a bad kubeconfig */
            return BYRON_EINVAL;
        }
    }
    return BYRON_OK;
}

void byron_kubeconfig_free(byron_kube_config_t *c) {
    if (!c) return;
    free(c->server);
    free(c->ca_pem);
    free(c->cert_pem);
    free(c->key_pem);
    free(c->token);
    free(c->token_file);
    free(c->namespace);
    free(c);
}

/* Copy without trailing whitespace (and trailing slashes when `slashes`). */
static char *dup_trim2(const char *s, int slashes) {
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || (slashes && s[n - 1] == '/')))
        n--;
    return strndup(s, n);
}
#define dup_trim(s) dup_trim2((s), 0)

/* The config of one context of a kubeconfig document (root: its JSON; puts it). */
static byron_status_t parse_root(json_object *root, const char *base_dir, const char *context,
                                 byron_kube_config_t **out, byron_err_t *err) {
    *out = NULL;
    json_object *ctx = NULL, *cluster = NULL, *user = NULL;
    byron_kube_config_t *c = NULL;
    char cpath[96], upath[96], xpath[96];
    const char *cluster_name = NULL, *user_name = NULL, *ns = NULL, *server = NULL, *tok = NULL,
               *tokfile = NULL;
    int insecure = 0;
    byron_status_t st = BYRON_OK;
    if (!context &&
        ((st = byron_json_get_string(root, "", "current-context", BYRON_JSON_OPTIONAL, &context, err)) ||
         !context || !*context)) {
        if (!st)
            st =
                byron_err_set(err, BYRON_EINVAL,
                              "current-context is not set: choose one with --context NAME (or kubectl config "
                              "use-context NAME)");
        goto err;
    }
    if ((st = find_named(root, "contexts", "context", context, &ctx, xpath, sizeof(xpath), err))) goto err;
    if ((st = byron_json_get_string(ctx, xpath, "cluster", BYRON_JSON_REQUIRED, &cluster_name, err)) ||
        (st = byron_json_get_string(ctx, xpath, "user", BYRON_JSON_OPTIONAL, &user_name, err)) ||
        (st = byron_json_get_string(ctx, xpath, "namespace", BYRON_JSON_OPTIONAL, &ns, err)))
        goto err;
    if ((st = find_named(root, "clusters", "cluster", cluster_name, &cluster, cpath, sizeof(cpath), err)))
        goto err;
    if ((st = byron_json_get_string(cluster, cpath, "server", BYRON_JSON_REQUIRED, &server, err)) ||
        (st = byron_json_get_bool(cluster, cpath, "insecure-skip-tls-verify", BYRON_JSON_OPTIONAL, &insecure,
                                  err)))
        goto err;
    if (strncmp(server, "https://", 8) != 0 && strncmp(server, "http://", 7) != 0) {
        st = byron_err_set(err, BYRON_EINVAL, "%s.server: must be an http(s) URL, got '%s'", cpath, server);
        goto err;
    }
    if (!(c = calloc(1, sizeof(*c)))) {
        st = byron_err_set(err, BYRON_ENOMEM, "out of memory");
        goto err;
    }
    c->server = dup_trim2(server, 1);
    c->insecure = insecure;
    c->namespace = ns ? strdup(ns) : NULL;
    if ((st = load_pem(cluster, cpath, "certificate-authority", base_dir, &c->ca_pem, &c->ca_len, err)))
        goto err;
    if (user_name) {
        if ((st = find_named(root, "users", "user", user_name, &user, upath, sizeof(upath), err))) goto err;
        if ((st = load_pem(user, upath, "client-certificate", base_dir, &c->cert_pem, &c->cert_len, err)) ||
            (st = load_pem(user, upath, "client-key", base_dir, &c->key_pem, &c->key_len, err)) ||
            (st = byron_json_get_string(user, upath, "token", BYRON_JSON_OPTIONAL, &tok, err)) ||
            (st = byron_json_get_string(user, upath, "tokenFile", BYRON_JSON_OPTIONAL, &tokfile, err)))
            goto err;
        if (!!c->cert_pem != !!c->key_pem) {
            st = byron_err_set(err, BYRON_EINVAL, "%s: client-certificate and client-key go together", upath);
            goto err;
        }
        if (tok)
            c->token = strdup(tok);
        else if (tokfile) {
            char full[PATH_MAX];
            if (tokfile[0] == '/' || !base_dir)
                snprintf(full, sizeof(full), "%s", tokfile);
            else
                snprintf(full, sizeof(full), "%s/%s", base_dir, tokfile);
            c->token_file = strdup(full);
            char *t = NULL;
            if ((st = byron_file_read(full, 1 << 16, &t, NULL, err))) {
                byron_err_prefix(err, "%s.tokenFile", upath);
                goto err;
            }
            c->token = dup_trim(t);
            free(t);
        }
    }
    json_object_put(root);
    *out = c;
    return BYRON_OK;
err:
    json_object_put(root);
    byron_kubeconfig_free(c);
    return st;
}

byron_status_t byron_kubeconfig_parse(const char *buf, size_t len, const char *base_dir, const char *context,
                                      byron_kube_config_t **out, byron_err_t *err) {
    json_object *root = NULL;
    *out = NULL;
    byron_status_t st = byron_yaml_parse(buf, len, 0, &root, err);
    return st ? st : parse_root(root, base_dir, context, out, err);
}

/* Make the file paths of one kubeconfig absolute against its directory, so
 * that documents from several files can be merged. */
static void absolute_paths(json_object *root, const char *dir) {
    static const struct {
        const char *list, *item, *key;
    } P[] = {{"clusters", "cluster", "certificate-authority"},
             {"users", "user", "client-certificate"},
             {"users", "user", "client-key"},
             {"users", "user", "tokenFile"}};
    for (size_t k = 0; k < sizeof P / sizeof P[0]; k++) {
        json_object *arr = json_object_object_get(root, P[k].list);
        for (size_t i = 0; json_object_is_type(arr, json_type_array) && i < json_object_array_length(arr);
             i++) {
            json_object *it = json_object_object_get(json_object_array_get_idx(arr, i), P[k].item), *v;
            if (!json_object_is_type(it, json_type_object) || !json_object_object_get_ex(it, P[k].key, &v) ||
                !json_object_is_type(v, json_type_string) || json_object_get_string(v)[0] == '/')
                continue;
            const char *rel = json_object_get_string(v);
            size_t fl = strlen(dir) + strlen(rel) + 2;
            char *full = malloc(fl);
            if (!full) continue;
            snprintf(full, fl, "%s/%s", dir, rel);
            json_object_object_add(it, P[k].key, json_object_new_string(full));
            free(full);
        }
    }
}

/* kubectl's merge of a KUBECONFIG list: the first file to set current-context
 * wins it; clusters, users and contexts are taken by name, the first file's
 * entry winning. Files that do not exist are skipped. */
static byron_status_t load_list(const char *list, const char *context, byron_kube_config_t **out,
                                byron_err_t *err) {
    json_object *merged = json_object_new_object();
    char *copy = strdup(list), *save = NULL;
    int files = 0;
    byron_status_t st = copy ? BYRON_OK : byron_err_set(err, BYRON_ENOMEM, "out of memory");
    for (char *p = copy ? strtok_r(copy, ":", &save) : NULL; p && st == BYRON_OK;
         p = strtok_r(NULL, ":", &save)) {
        char *buf = NULL;
        size_t len = 0;
        json_object *root = NULL;
        if (byron_file_read(p, MAX_FILE, &buf, &len, NULL) != BYRON_OK) continue;
        files++;
        st = byron_yaml_parse(buf, len, 0, &root, err);
        free(buf);
        if (st) {
            byron_err_prefix(err, "kubeconfig %s", p);
            break;
        }
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s", p);
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = '\0';
        else
            snprintf(dir, sizeof dir, ".");
        absolute_paths(root, dir);
        json_object *cc = json_object_object_get(root, "current-context");
        if (!json_object_object_get(merged, "current-context") && json_object_is_type(cc, json_type_string) &&
            json_object_get_string(cc)[0])
            json_object_object_add(merged, "current-context", json_object_get(cc));
        static const char *const LISTS[] = {"clusters", "users", "contexts"};
        for (size_t l = 0; l < 3; l++) {
            json_object *src = json_object_object_get(root, LISTS[l]),
                        *dst = json_object_object_get(merged, LISTS[l]);
            if (!dst) json_object_object_add(merged, LISTS[l], dst = json_object_new_array());
            for (size_t i = 0; json_object_is_type(src, json_type_array) && i < json_object_array_length(src);
                 i++) {
                json_object *e = json_object_array_get_idx(src, i);
                const char *name = json_object_get_string(json_object_object_get(e, "name"));
                int have = 0;
                for (size_t k = 0; name && k < json_object_array_length(dst) && !have; k++)
                    have = !strcmp(name, json_object_get_string(json_object_object_get(
                                             json_object_array_get_idx(dst, k), "name")));
                if (!have) json_object_array_add(dst, json_object_get(e));
            }
        }
        json_object_put(root);
    }
    free(copy);
    if (st == BYRON_OK && !files)
        st = byron_err_set(err, BYRON_EIO, "KUBECONFIG=%s: none of these files exists", list);
    if (st != BYRON_OK) {
        json_object_put(merged);
        return st;
    }
    st = parse_root(merged, NULL, context, out, err);
    if (st) byron_err_prefix(err, "kubeconfig %s", list);
    return st;
}

byron_status_t byron_kubeconfig_load(const char *path, const char *context, byron_kube_config_t **out,
                                     byron_err_t *err) {
    char def[PATH_MAX];
    if (!path || !*path) {
        path = getenv("KUBECONFIG");
        if (path && strchr(path, ':')) return load_list(path, context, out, err);
    }
    if (!path || !*path) {
        const char *home = getenv("HOME");
        snprintf(def, sizeof(def), "%s/.kube/config", home ? home : "");
        path = def;
    }
    char *buf = NULL;
    size_t len = 0;
    byron_status_t st = byron_file_read(path, MAX_FILE, &buf, &len, err);
    if (st) return st;
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof(dir), ".");
    st = byron_kubeconfig_parse(buf, len, dir, context, out, err);
    free(buf);
    if (st) byron_err_prefix(err, "kubeconfig %s", path);
    return st;
}

byron_status_t byron_kubeconfig_in_cluster(const char *root, byron_kube_config_t **out, byron_err_t *err) {
    *out = NULL;
    if (!root) root = "/var/run/secrets/kubernetes.io/serviceaccount";
    const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");
    if (!host || !*host || !port || !*port)
        return byron_err_set(err, BYRON_EINVAL,
                             "not in a cluster: KUBERNETES_SERVICE_HOST/PORT unset (pass --kubeconfig)");
    byron_kube_config_t *c = calloc(1, sizeof(*c));
    if (!c) return byron_err_set(err, BYRON_ENOMEM, "out of memory");
    char buf[PATH_MAX];
    byron_status_t st;
    int v6 = strchr(host, ':') != NULL;
    snprintf(buf, sizeof(buf), v6 ? "https://[%s]:%s" : "https://%s:%s", host, port);
    c->server = strdup(buf);
    snprintf(buf, sizeof(buf), "%s/ca.crt", root);
    if ((st = byron_file_read(buf, MAX_FILE, &c->ca_pem, &c->ca_len, err))) goto err;
    snprintf(buf, sizeof(buf), "%s/token", root);
    c->token_file = strdup(buf);
    char *t = NULL;
    if ((st = byron_file_read(buf, 1 << 16, &t, NULL, err))) goto err;
    c->token = dup_trim(t);
    free(t);
    snprintf(buf, sizeof(buf), "%s/namespace", root);
    if (byron_file_read(buf, 256, &t, NULL, NULL) == BYRON_OK) {
        c->namespace = dup_trim(t);
        free(t);
    }
    *out = c;
    return BYRON_OK;
err:
    byron_kubeconfig_free(c);
    return byron_err_prefix(err, "in-cluster config");
}
