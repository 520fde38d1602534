/* cli_output.h — how kubectl-byron prints: kubectl's tables (upper-case
 * headers, columns three spaces apart, "<none>" for an empty cell), JSON
 * (indented as kubectl's -o json) and YAML (libyaml's emitter, strings quoted
 * only where YAML would read them as something else). Pure over a FILE. */
#ifndef BYRON_CLI_OUTPUT_H
#define BYRON_CLI_OUTPUT_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct byron_cli_table byron_cli_table_t;

/* headers: NULL-terminated. */
byron_cli_table_t *byron_cli_table_new(const char *const *headers);
/* One row: as many cells as headers (NULL or "": "<none>"); copied. */
void byron_cli_table_row(byron_cli_table_t *t, const char *const *cells);
/* Print and free. Cells are cut to max_cell characters ("..." at the end; 0: no limit). */
void byron_cli_table_print(byron_cli_table_t *t, FILE *f, size_t max_cell);

void byron_cli_print_json(FILE *f, json_object *o);
/* A YAML document ("---" first when separate). 0, or -1 if the emitter failed. */
int byron_cli_print_yaml(FILE *f, json_object *o, int separate);

/* Human units: "4.1 KiB", "12 MiB" (1024-based, one decimal below 10). */
void byron_cli_bytes(uint64_t n, char *buf, size_t cap);
/* kubectl's age of an RFC 3339 time against now (UNIX seconds): "45s", "12m", "3h", "5d"; "<unknown>". */
void byron_cli_age(const char *rfc3339, int64_t now, char *buf, size_t cap);

#endif
