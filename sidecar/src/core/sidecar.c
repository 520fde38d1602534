/* sidecar.c — what the running sidecar reports about itself. */
#include "sidecar.h"

#include "byron/json.h"

json_object *byron_sidecar_readiness(byron_sidecar_t *sc, int *ready) {
    byron_health_t *h = &sc->health;
    json_object *o = json_object_new_object();
    pthread_mutex_lock(&h->lock);
    int nats = h->nats_ok, mongo = h->mongo_ok, app = sc->app ? h->app_ok : 1;
    json_object *deps = json_object_new_object();
    static const char *const NAMES[] = {"nats", "mongodb", "app"};
    int oks[] = {h->nats_ok, h->mongo_ok, h->app_ok};
    const char *errs[] = {h->nats_err, h->mongo_err, h->app_err};
    for (int i = 0; i < 3; i++) {
        json_object *d = json_object_new_object();
        if (i == 2 && !sc->app) {
            json_object_object_add(d, "ok", json_object_new_boolean(1));
            json_object_object_add(d, "configured", json_object_new_boolean(0));
        } else {
            json_object_object_add(d, "ok", json_object_new_boolean(oks[i]));
            if (!oks[i] && errs[i][0]) json_object_object_add(d, "error", json_object_new_string(errs[i]));
        }
        json_object_object_add(deps, NAMES[i], d);
    }
    pthread_mutex_unlock(&h->lock);
    int draining = atomic_load(&sc->draining);
    *ready = nats && mongo && app && !draining;
    if (sc->mode_readiness) sc->mode_readiness(sc->mode_readiness_arg, deps, ready);
    json_object_object_add(o, "ready", json_object_new_boolean(*ready));
    if (draining) json_object_object_add(o, "draining", json_object_new_boolean(1));
    json_object_object_add(o, "mode", json_object_new_string(sc->mode));
    json_object_object_add(o, "checks", deps);
    return o;
}
