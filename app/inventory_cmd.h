/*
 * `apisensor inventory --db FILE [--json | --openapi]` (CONTRACT.md): prints
 * the stored inventory as an aligned table, as the "endpoint" events of the
 * live output (one JSON line each), or as an OpenAPI 3.1 document of what
 * was observed. Reads the database only; never writes it.
 */
#ifndef APISENSOR_APP_INVENTORY_CMD_H
#define APISENSOR_APP_INVENTORY_CMD_H

/* argv[0] is "inventory". Returns the exit status: 0 success, 1 the database
 * cannot be read or the output written, 2 bad usage or an unknown schema. */
int inventory_cmd_main(int argc, char **argv);

#endif
