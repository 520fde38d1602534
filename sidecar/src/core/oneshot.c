/* oneshot.c — connections of the one-shot modes (oneshot.h). */
#include "oneshot.h"

#include "nats_options.h"

#include <stdio.h>

byron_status_t byron_oneshot_nats(const byron_component_t *c, const char *url,
                                  const byron_nats_settings_t *nats, const char *who, natsConnection **nc,
                                  jsCtx **js, byron_err_t *err) {
    *nc = NULL;
    *js = NULL;
    natsOptions *no = NULL;
    char name[200];
    snprintf(name, sizeof name, "byron-%s/%s/%s", who, c->namespace_, c->component);
    natsStatus ns;
    if ((ns = natsOptions_Create(&no)) != NATS_OK || (ns = natsOptions_SetURL(no, url)) != NATS_OK ||
        (ns = natsOptions_SetName(no, name)) != NATS_OK ||
        (ns = natsOptions_SetTimeout(no, 5000)) != NATS_OK) {
        natsOptions_Destroy(no);
        return byron_err_set(err, BYRON_EINVAL, "NATS options: %s", natsStatus_GetText(ns));
    }
    if (byron_nats_options_apply(no, nats, err) != BYRON_OK) { /* the pod's NATS identity, TLS and inbox */
        natsOptions_Destroy(no);
        return err->code;
    }
    ns = natsConnection_Connect(nc, no);
    natsOptions_Destroy(no);
    if (ns != NATS_OK) {
        *nc = NULL;
        return byron_err_set(err, BYRON_EUNAVAILABLE, "NATS %s: %s", url, natsStatus_GetText(ns));
    }
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = 5000;
    if ((ns = natsConnection_JetStream(js, *nc, &jo)) != NATS_OK)
        return byron_err_set(err, BYRON_EUNAVAILABLE, "JetStream: %s", natsStatus_GetText(ns));
    return BYRON_OK;
}

byron_status_t byron_oneshot_mongo(const byron_component_t *c, const char *uri_text, const char *who,
                                   mongoc_client_t **client, char *db, size_t dbcap, byron_err_t *err) {
    *client = NULL;
    bson_error_t be;
    mongoc_uri_t *uri = mongoc_uri_new_with_error(uri_text, &be);
    if (!uri) return byron_err_set(err, BYRON_EINVAL, "--mongo-uri: %s", be.message);
    if (!mongoc_uri_has_option(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS))
        mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 5000);
    const char *d = mongoc_uri_get_database(uri);
    if (d && *d) {
        snprintf(db, dbcap, "%s", d);
    } else {
        snprintf(db, dbcap, "byron_%s", c->component);
        for (char *p = db; *p; p++)
            if (*p == '-') *p = '_';
    }
    *client = mongoc_client_new_from_uri_with_error(uri, &be);
    mongoc_uri_destroy(uri);
    if (!*client) return byron_err_set(err, BYRON_EINVAL, "--mongo-uri: %s", be.message);
    mongoc_client_set_error_api(*client, MONGOC_ERROR_API_VERSION_2);
    char app[64];
    snprintf(app, sizeof app, "byron-%s", who);
    mongoc_client_set_appname(*client, app);
    bson_t *ping = BCON_NEW("ping", BCON_INT32(1));
    int ok = mongoc_client_command_simple(*client, "admin", ping, NULL, NULL, &be);
    bson_destroy(ping);
    if (!ok) return byron_err_set(err, BYRON_EUNAVAILABLE, "MongoDB: %s", be.message);
    return BYRON_OK;
}
