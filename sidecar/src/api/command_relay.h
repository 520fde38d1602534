/* command_relay.h — commands a sink's app sends (docs/app-protocol.md,
 * "Commands from a sink").
 *
 * A process manager reacts to an event by commanding another aggregate. The
 * sink may not append to its component's stream — its NATS identity only
 * reads it (docs/security.md) — and the api sidecars may. So a sink app's
 * POST /v1/commands/<name> on the sink's socket is relayed: the sink sidecar
 * sends it as a NATS request to byroncmd.<ns>.<component>; one api sidecar
 * (queue group "byron-api") runs it on a worker through exactly the checks any
 * command passes, as the component's own app, and answers
 * {"status": <HTTP status>, "body": <the REST answer>}. A command from a sink
 * must carry an idempotency key — the causing event's id: a redelivered event
 * then gets the first result back instead of running the command twice. */
#ifndef BYRON_SIDECAR_COMMAND_RELAY_H
#define BYRON_SIDECAR_COMMAND_RELAY_H

#include "byron/status.h"
#include "sidecar.h"

#include <json-c/json.h>

/* api mode: serve relayed commands on the pool (start after the pool exists;
 * served until the stream is freed). */
byron_status_t byron_command_relay_serve(byron_sidecar_t *sc, byron_err_t *err);

/* sink mode: relay one command (request: the REST body, already parsed and
 * checked: {"id"?, "input"?, "idempotencyKey"}). Sets the HTTP status and a
 * JSON body (malloc'd, caller frees). Blocks up to the command deadline. */
void byron_command_relay_send(byron_sidecar_t *sc, const char *command, json_object *request,
                              const char *traceparent, int *status, char **body);

#endif
