/* projector.c — see projector.h. */
#include "projector.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

byron_projector_guard_t byron_projector_guard(int64_t stored, int64_t version) {
    if (version <= stored) return BYRON_PROJECTOR_SKIP;
    return version == stored + 1 ? BYRON_PROJECTOR_APPLY : BYRON_PROJECTOR_GAP;
}

const char *byron_projector_guard_name(byron_projector_guard_t g) {
    switch (g) {
    case BYRON_PROJECTOR_APPLY: return "apply";
    case BYRON_PROJECTOR_SKIP: return "skip";
    default: return "gap";
    }
}

byron_event_kind_t byron_projector_event_kind(const char *type, const char *model) {
    size_t ml = strlen(model);
    if (strncmp(type, model, ml) != 0) return BYRON_EVENT_CUSTOM;
    const char *rest = type + ml;
    if (strcmp(rest, "Created") == 0) return BYRON_EVENT_CREATED;
    if (strcmp(rest, "Updated") == 0) return BYRON_EVENT_UPDATED;
    if (strcmp(rest, "Deleted") == 0) return BYRON_EVENT_DELETED;
    return BYRON_EVENT_CUSTOM;
}

static void change_cleanup(byron_change_t *ch) {
    json_object_put(ch->set);
    json_object_put(ch->unset);
    memset(ch, 0, sizeof *ch);
}

void byron_projector_answer_cleanup(byron_projector_answer_t *a) {
    if (!a) return;
    change_cleanup(&a->own);
    for (size_t i = 0; i < a->nchanges; i++) change_cleanup(&a->changes[i]);
    free(a->changes);
    memset(a, 0, sizeof *a);
}

/* Unique values are claimed in the event log by the api's commands
 * (unique.h): a handler that changed one would hold a value nobody claimed. */
static byron_status_t unique_refused(byron_err_t *err, const char *path, const char *field) {
    return byron_err_set(err, BYRON_EINVAL,
                         "%s.%s: unique: it changes only through create and update commands", path, field);
}

/* set / unset / delete of one change, checked against its model. keys: the
 * keys allowed besides those three (NULL-terminated). */
static byron_status_t parse_change(json_object *o, const byron_model_t *m, const char *path,
                                   const char *const *extra, byron_change_t *ch, byron_err_t *err) {
    char p[320];
    json_object_object_foreach(o, k, v) {
        int known = strcmp(k, "set") == 0 || strcmp(k, "unset") == 0 || strcmp(k, "delete") == 0;
        for (const char *const *e = extra; e && *e && !known; e++) known = strcmp(*e, k) == 0;
        if (!known) return byron_err_set(err, BYRON_EINVAL, "%s%.64s: unknown field", path, k);
        if (strcmp(k, "set") == 0 && v) {
            snprintf(p, sizeof p, "%sset", path);
            byron_status_t st = byron_input_validate(m->fields, m->nfields, v, 1, 0, p, err);
            if (st != BYRON_OK) return st;
            json_object_object_foreach(v, f, fv) {
                (void)fv;
                if (byron_model_field(m, f)->unique) return unique_refused(err, p, f);
            }
            ch->set = json_object_get(v);
        } else if (strcmp(k, "unset") == 0 && v) {
            if (!json_object_is_type(v, json_type_array))
                return byron_err_set(err, BYRON_EINVAL, "%sunset: must be a list of field names", path);
            for (size_t i = 0; i < json_object_array_length(v); i++) {
                json_object *e = json_object_array_get_idx(v, i);
                const byron_field_t *f = json_object_is_type(e, json_type_string)
                                             ? byron_model_field(m, json_object_get_string(e))
                                             : NULL;
                if (!f)
                    return byron_err_set(err, BYRON_EINVAL, "%sunset[%zu]: not a field of %s", path, i,
                                         m->name);
                if (f->unique)
                    return byron_err_set(
                        err, BYRON_EINVAL,
                        "%sunset[%zu]: %s is unique: it changes only through create and update "
                        "commands",
                        path, i, f->name);
                if (f->required)
                    return byron_err_set(err, BYRON_EINVAL,
                                         "%sunset[%zu]: %s is required, it cannot be unset", path, i,
                                         f->name);
                json_object *sv = NULL;
                if (ch->set && json_object_object_get_ex(ch->set, f->name, &sv))
                    return byron_err_set(err, BYRON_EINVAL, "%sunset[%zu]: %s is also in set", path, i,
                                         f->name);
            }
            ch->unset = json_object_get(v);
        } else if (strcmp(k, "delete") == 0 && v) {
            if (!json_object_is_type(v, json_type_boolean))
                return byron_err_set(err, BYRON_EINVAL, "%sdelete: must be a boolean", path);
            ch->del = json_object_get_boolean(v);
        }
    }
    /* "set" may come after "unset" in the object: check the overlap once both are known. */
    for (size_t i = 0; ch->set && ch->unset && i < json_object_array_length(ch->unset); i++) {
        json_object *sv = NULL;
        const char *f = json_object_get_string(json_object_array_get_idx(ch->unset, i));
        if (json_object_object_get_ex(ch->set, f, &sv))
            return byron_err_set(err, BYRON_EINVAL, "%sunset[%zu]: %s is also in set", path, i, f);
    }
    if (ch->del && (ch->set || ch->unset))
        return byron_err_set(err, BYRON_EINVAL, "%sdelete: cannot be combined with set or unset", path);
    return BYRON_OK;
}

byron_status_t byron_projector_answer_parse(const byron_component_t *c, json_object *answer,
                                            const byron_model_t *own_model, const char *own_id,
                                            byron_projector_answer_t *out, byron_err_t *err) {
    memset(out, 0, sizeof *out);
    if (!json_object_is_type(answer, json_type_object))
        return byron_err_set(err, BYRON_EPROTO, "answer: must be a JSON object");
    byron_status_t st = BYRON_OK;
    json_object *skip = NULL, *changes = NULL;
    if (json_object_object_get_ex(answer, "skip", &skip) && skip) {
        json_object *msg = NULL;
        if (!json_object_is_type(skip, json_type_object) ||
            (json_object_object_get_ex(skip, "message", &msg) && msg &&
             !json_object_is_type(msg, json_type_string))) {
            st = byron_err_set(err, BYRON_EPROTO, "answer.skip: must be {\"message\": \"...\"}");
            goto out;
        }
        out->skip = 1;
        snprintf(out->skip_message, sizeof out->skip_message, "%s", msg ? json_object_get_string(msg) : "");
    }
    int own_keys = 0;
    json_object_object_foreach(answer, k, v) {
        (void)v;
        if (strcmp(k, "set") == 0 || strcmp(k, "unset") == 0 || strcmp(k, "delete") == 0)
            own_keys = 1;
        else if (strcmp(k, "skip") != 0 && strcmp(k, "changes") != 0) {
            st = byron_err_set(err, BYRON_EPROTO, "answer.%.64s: unknown field", k);
            goto out;
        }
    }
    if (own_keys) {
        if (!own_model) {
            st = byron_err_set(
                err, BYRON_EPROTO,
                "answer: set/unset/delete apply to the event's own aggregate, which an event of "
                "another component does not have here: answer with \"changes\"");
            goto out;
        }
        static const char *const OTHER[] = {"skip", "changes", NULL};
        out->own.model = own_model;
        snprintf(out->own.id, sizeof out->own.id, "%s", own_id ? own_id : "");
        out->has_own = 1;
        if ((st = parse_change(answer, own_model, "answer.", OTHER, &out->own, err)) != BYRON_OK) goto out;
    }
    if (json_object_object_get_ex(answer, "changes", &changes) && changes) {
        if (!json_object_is_type(changes, json_type_array)) {
            st = byron_err_set(err, BYRON_EPROTO, "answer.changes: must be a list");
            goto out;
        }
        size_t n = json_object_array_length(changes);
        if (n > BYRON_HANDLER_MAX_CHANGES) {
            st = byron_err_set(err, BYRON_EPROTO, "answer.changes: at most %d changes, got %zu",
                               BYRON_HANDLER_MAX_CHANGES, n);
            goto out;
        }
        if (n && !(out->changes = calloc(n, sizeof *out->changes))) {
            st = byron_err_set(err, BYRON_ENOMEM, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            char path[64];
            snprintf(path, sizeof path, "answer.changes[%zu].", i);
            json_object *e = json_object_array_get_idx(changes, i), *mv = NULL, *iv = NULL;
            byron_change_t *ch = &out->changes[out->nchanges++];
            if (!json_object_is_type(e, json_type_object)) {
                st = byron_err_set(err, BYRON_EPROTO, "answer.changes[%zu]: must be an object", i);
                goto out;
            }
            if (!json_object_object_get_ex(e, "model", &mv) || !json_object_is_type(mv, json_type_string) ||
                !(ch->model = byron_component_model(c, json_object_get_string(mv)))) {
                st = byron_err_set(err, BYRON_EPROTO, "%smodel: must name a model of %s", path, c->component);
                goto out;
            }
            if (!json_object_object_get_ex(e, "id", &iv) || !json_object_is_type(iv, json_type_string) ||
                !byron_id_is_valid(json_object_get_string(iv))) {
                st = byron_err_set(err, BYRON_EPROTO, "%sid: must be an id ([A-Za-z0-9_-]{1,128})", path);
                goto out;
            }
            snprintf(ch->id, sizeof ch->id, "%s", json_object_get_string(iv));
            static const char *const KEYS[] = {"model", "id", NULL};
            if ((st = parse_change(e, ch->model, path, KEYS, ch, err)) != BYRON_OK) goto out;
        }
    }
out:
    if (st != BYRON_OK) {
        if (err->code != BYRON_ENOMEM) err->code = st = BYRON_EPROTO;
        byron_projector_answer_cleanup(out);
    }
    return st;
}
