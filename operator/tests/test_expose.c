/* test_expose.c — the Exposed condition from an HTTPRoute's or Ingress's status. */
#include "byron/json.h"
#include "expose.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static json_object *json(const char *s) {
    json_object *o = NULL;
    byron_err_t err = {0};
    cr_assert_eq(byron_json_parse(s, strlen(s), 0, &o, &err), BYRON_OK, "%s: %s", err.msg, s);
    return o;
}

static const char *BC_GW = "{\"metadata\":{\"name\":\"orders\",\"namespace\":\"shop\"},"
                           "\"spec\":{\"api\":{\"expose\":{\"gateway\":{\"name\":\"byron\"}}}}}";

/* The condition for an HTTPRoute whose status.parents is parents_json. */
static byron_expose_condition_t route_cond(const char *parents_json) {
    char text[2048];
    snprintf(text, sizeof text, "{\"metadata\":{\"name\":\"orders-api\"},\"status\":{\"parents\":%s}}",
             parents_json);
    json_object *bc = json(BC_GW), *route = json(text);
    byron_expose_condition_t c;
    byron_expose_condition(&BYRON_KIND_HTTPROUTE, bc, route, &c);
    json_object_put(bc);
    json_object_put(route);
    return c;
}

#define PARENT(ns, cond)                                                                                     \
    "{\"parentRef\":{\"name\":\"byron\",\"namespace\":\"" ns                                                 \
    "\"},\"controllerName\":\"traefik.io/gateway-controller\","                                              \
    "\"conditions\":[" cond "]}"

Test(expose, an_httproute_is_exposed_once_its_gateway_accepts_it) {
    byron_expose_condition_t c;
    json_object *bc = json(BC_GW);
    byron_expose_condition(&BYRON_KIND_HTTPROUTE, bc, NULL, &c);
    json_object_put(bc);
    cr_assert_eq(c.status, -1);
    cr_assert_str_eq(c.reason, "Pending");
    c = route_cond("[]");
    cr_assert_eq(c.status, -1);
    cr_assert_str_eq(c.reason, "Pending");
    cr_assert(strstr(c.message, "shop/byron"), "%s", c.message);
    /* Another gateway's parent entry says nothing about ours. */
    c = route_cond(
        "[" PARENT("other", "{\"type\":\"Accepted\",\"status\":\"True\",\"reason\":\"Accepted\"}") "]");
    cr_assert_eq(c.status, -1);
    c = route_cond("[" PARENT("shop", "{\"type\":\"Accepted\",\"status\":\"True\",\"reason\":\"Accepted\"},"
                                      "{\"type\":\"ResolvedRefs\",\"status\":\"True\"}") "]");
    cr_assert_eq(c.status, 1);
    cr_assert_str_eq(c.reason, "Accepted");
    cr_assert(strstr(c.message, "shop/orders-api"), "%s", c.message);
    c = route_cond("[" PARENT("shop",
                              "{\"type\":\"Accepted\",\"status\":\"False\",\"reason\":"
                              "\"NotAllowedByListeners\",\"message\":\"namespace not allowed\"}") "]");
    cr_assert_eq(c.status, 0);
    cr_assert_str_eq(c.reason, "NotAllowedByListeners");
    cr_assert(strstr(c.message, "namespace not allowed"), "%s", c.message);
    c = route_cond("[" PARENT(
        "shop", "{\"type\":\"Accepted\",\"status\":\"True\"},{\"type\":\"ResolvedRefs\","
                "\"status\":\"False\",\"reason\":\"BackendNotFound\",\"message\":\"no svc\"}") "]");
    cr_assert_eq(c.status, 0);
    cr_assert_str_eq(c.reason, "BackendNotFound");
}

Test(expose, an_ingress_is_exposed_once_a_controller_publishes_its_address) {
    json_object *bc = json("{\"metadata\":{\"name\":\"orders\",\"namespace\":\"shop\"},"
                           "\"spec\":{\"api\":{\"expose\":{\"ingressClassName\":\"traefik\"}}}}");
    json_object *none = json("{\"status\":{\"loadBalancer\":{}}}"),
                *ip = json("{\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"10.0.0.7\"}]}}}");
    byron_expose_condition_t c;
    byron_expose_condition(&BYRON_KIND_INGRESS, bc, none, &c);
    cr_assert_eq(c.status, -1);
    cr_assert_str_eq(c.reason, "Pending");
    byron_expose_condition(&BYRON_KIND_INGRESS, bc, ip, &c);
    cr_assert_eq(c.status, 1);
    cr_assert_str_eq(c.reason, "AddressAssigned");
    cr_assert(strstr(c.message, "10.0.0.7"), "%s", c.message);
    json_object_put(bc);
    json_object_put(none);
    json_object_put(ip);
}
