/* json_bson.h — JSON (json-c) to BSON, typed exactly as libbson's
 * bson_new_from_json types the same JSON text, and BSON back to json-c as
 * the relaxed Extended JSON text of libbson reads, both without going
 * through text.
 *
 * Why: the cache's filters and the sink's writes are built as json-c objects;
 * bson_new_from_json on their text costs about 40,000 instructions a call
 * (its reader zeroes a large buffer), more than the rest of a by-id read's
 * own work (docs/benchmarks.md, "Cache reads"). The types must stay the same
 * as the text path's — a filter value must have the BSON type the stored
 * value got — so: an integer is int32 when it fits, else int64; a number
 * with a fraction or exponent is a double; strings, booleans, null, arrays
 * and documents as themselves. A document with an Extended JSON key
 * ($date, $numberLong, $oid, ...) is converted through the text, by libbson
 * itself, so every rule of Extended JSON stays libbson's. */
#ifndef BYRON_SIDECAR_JSON_BSON_H
#define BYRON_SIDECAR_JSON_BSON_H

#include <bson/bson.h>
#include <json-c/json.h>

/* A new BSON document from a JSON object (NULL with *err set if o is not an
 * object or cannot be converted). Caller destroys with bson_destroy. */
bson_t *byron_json_bson_new(json_object *o, bson_error_t *err);

/* The same from JSON text (NUL-terminated). */
bson_t *byron_json_bson_from_text(const char *text, bson_error_t *err);

/* The json-c object that byron_json_parse(max_depth) reads from
 * bson_as_relaxed_extended_json(doc) — the same values, types, member order
 * and serialisation (a double keeps libbson's "%.20g" text) — or NULL where
 * that reading fails: invalid UTF-8, a corrupt document, nesting deeper than
 * max_depth (0: byron_json_parse's default). Caller puts.
 *
 * Why: the cache's readers turned every document into that text and parsed
 * it back, the largest part of a by-id read's own CPU (docs/benchmarks.md,
 * "Cache reads"). Strings, numbers, booleans, null, documents and arrays are
 * converted directly; any other BSON type (ObjectId, dates, decimals,
 * binary, regular expressions, timestamps, NaN and infinities, ...) goes
 * through libbson's text for that value alone, so its Extended JSON form
 * stays libbson's. Cost: O(size of the document), one allocation per value. */
json_object *byron_json_bson_to_json(const bson_t *doc, int max_depth);

#endif
