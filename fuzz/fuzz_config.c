/*
 * Fuzz target for the configuration file reader (app/options.c): the input
 * is written to a file and read with `-c FILE`, as the sensor reads its
 * configuration at start and on SIGHUP. Every outcome is a parse (0) or a
 * refusal (2) with a message; nothing else.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/options.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char path[64];
    if (!path[0])
        snprintf(path, sizeof path, "/tmp/apisensor-fuzz-config.%ld", (long)getpid());
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    if (size && fwrite(data, 1, size, f) != size) {
        fclose(f);
        return 0;
    }
    fclose(f);
    char arg0[] = "apisensor", arg1[] = "-c", arg2[] = "-r", arg3[] = "x.pcap";
    char *argv[] = {arg0, arg1, path, arg2, arg3, NULL};
    app_options opts;
    char err[1024] = "";
    int rc = app_options_parse(&opts, 5, argv, err, sizeof err);
    if (rc != 0 && rc != 2)
        __builtin_trap();
    if (memchr(err, '\0', sizeof err) == NULL || (rc == 2 && err[0] == '\0'))
        __builtin_trap(); /* a refusal always says why */
    app_options_free(&opts);
    unlink(path);
    return 0;
}
