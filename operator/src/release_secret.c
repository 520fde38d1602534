/* release_secret.c — read-or-create of the release's own Secrets. */
#include "release_secret.h"

#include "byron/base64.h"
#include "byron/log.h"
#include "resource.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_object *decode(json_object *sec) {
    json_object *out = json_object_new_object(), *enc = json_object_object_get(sec, "data");
    if (!enc || !json_object_is_type(enc, json_type_object)) return out;
    json_object_object_foreach(enc, k, v) {
        char *dec = NULL;
        size_t len = 0;
        const char *t = json_object_get_string(v);
        if (byron_base64_decode(t, strlen(t), &dec, &len) == 0) {
            json_object_object_add(out, k, json_object_new_string_len(dec, (int)len));
            free(dec);
        }
    }
    return out;
}

static json_object *secret_body(const char *name, json_object *plain) {
    json_object *body = json_object_new_object(), *md = json_object_new_object(),
                *labels = json_object_new_object(), *d = json_object_new_object();
    json_object_object_add(body, "apiVersion", json_object_new_string("v1"));
    json_object_object_add(body, "kind", json_object_new_string("Secret"));
    json_object_object_add(md, "name", json_object_new_string(name));
    json_object_object_add(labels, "app.kubernetes.io/part-of", json_object_new_string("byron"));
    json_object_object_add(labels, "app.kubernetes.io/name", json_object_new_string("byron-operator"));
    json_object_object_add(md, "labels", labels);
    json_object_object_add(body, "metadata", md);
    json_object_object_add(body, "type", json_object_new_string("Opaque"));
    json_object_object_foreach(plain, k, v) {
        const char *t = json_object_get_string(v);
        char *b = byron_base64_encode((const unsigned char *)t, strlen(t), 0);
        json_object_object_add(d, k, json_object_new_string(b ? b : ""));
        free(b);
    }
    json_object_object_add(body, "data", d);
    return body;
}

byron_status_t byron_release_secret_load(byron_kube_client_t *client, const char *ref,
                                         byron_release_secret_make_fn make, void *ud, json_object **data,
                                         byron_err_t *err) {
    *data = NULL;
    const char *slash = strchr(ref, '/');
    if (!slash || slash == ref || !slash[1])
        return byron_err_set(err, BYRON_EINVAL, "%s: expected NAMESPACE/NAME", ref);
    char ns[256], path[600];
    const char *name = slash + 1;
    snprintf(ns, sizeof(ns), "%.*s", (int)(slash - ref), ref);
    byron_kind_path(&BYRON_KIND_SECRET, ns, name, path, sizeof(path));
    json_object *sec = NULL;
    byron_status_t st = byron_kube_do(client, "GET", path, NULL, NULL, &sec, err);
    if (st == BYRON_ENOTFOUND && !make)
        return byron_err_set(err, BYRON_EINVAL, "Secret %s: not found (and this operator may not create it)",
                             ref);
    if (st == BYRON_ENOTFOUND) {
        byron_err_clear(err);
        json_object *fresh = make(ud, err);
        if (!fresh) return err->code;
        json_object *body = secret_body(name, fresh);
        byron_kind_path(&BYRON_KIND_SECRET, ns, NULL, path, sizeof(path));
        st = byron_kube_do(client, "POST", path, "application/json", body, NULL, err);
        json_object_put(body);
        if (st == BYRON_OK) {
            byron_log(BYRON_LOG_INFO, "release Secret created", "secret", ref, (char *)NULL);
            *data = fresh;
            return BYRON_OK;
        }
        json_object_put(fresh);
        if (st != BYRON_ECONFLICT) return byron_err_prefix(err, "creating Secret %s", ref);
        byron_err_clear(err); /* another replica made it first: read theirs */
        byron_kind_path(&BYRON_KIND_SECRET, ns, name, path, sizeof(path));
        st = byron_kube_do(client, "GET", path, NULL, NULL, &sec, err);
    }
    if (st) return byron_err_prefix(err, "reading Secret %s", ref);
    *data = decode(sec);
    json_object_put(sec);
    return BYRON_OK;
}
