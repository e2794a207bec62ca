/*
 * Fuzz target for the OpenAPI reader and matcher (inventory/openapi.c).
 *
 * The input is a spec file (YAML or JSON), loaded from memory with the
 * default limits except a 1 MiB file bound. When it loads, every view of the
 * spec is read, and every operation's own template is matched back with
 * its `{x}` segments filled in, under the first base path, bare, with a
 * trailing slash and with a query; then a few odd targets are matched
 * under every method.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inventory/openapi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t fuzz_sink;

static void fuzz_touch_view(str_view v) {
    uint64_t sum = 0;
    for (uint32_t i = 0; v.ptr && i < v.len; i++)
        sum += (uint8_t)v.ptr[i];
    fuzz_sink += sum;
}

/* base + template with every {...} replaced by "7" (+ "/" + "?q=1"). */
static size_t fuzz_request(char *out, size_t cap, str_view base, str_view path, int variant) {
    size_t n = 0;
    for (uint32_t i = 0; i < base.len && n < cap; i++)
        out[n++] = base.ptr[i];
    for (uint32_t i = 0; i < path.len && n < cap; i++) {
        if (path.ptr[i] == '{') {
            while (i < path.len && path.ptr[i] != '}')
                i++;
            out[n++] = '7';
        } else {
            out[n++] = path.ptr[i];
        }
    }
    const char *suffix = variant == 1 ? "/" : variant == 2 ? "?q=1" : "";
    for (size_t i = 0; suffix[i] && n < cap; i++)
        out[n++] = suffix[i];
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    limits lim = limits_default();
    lim.spec_file_bytes = 1 << 20;
    char err[512];
    openapi_spec *spec = NULL;
    if (openapi_load_buffer("fuzz.yaml", (const char *)data, size, &lim, err, sizeof err, &spec) !=
        AS_OK) {
        fuzz_sink += strlen(err);
        return 0;
    }
    fuzz_sink += strlen(openapi_version(spec));
    for (uint32_t i = 0; i < openapi_security_scheme_count(spec); i++) {
        const openapi_security_scheme *sc = openapi_security_scheme_at(spec, i);
        fuzz_touch_view(sc->name);
        fuzz_touch_view(sc->http_scheme);
        fuzz_touch_view(sc->bearer_format);
        fuzz_touch_view(sc->api_key_name);
    }
    str_view base = openapi_base_path_at(spec, 0);
    static char request[8192];
    for (uint32_t i = 0; i < openapi_operation_count(spec); i++) {
        const openapi_operation *op = openapi_operation_at(spec, i);
        fuzz_touch_view(op->path);
        fuzz_touch_view(op->operation_id);
        for (uint32_t k = 0; k < op->param_count; k++)
            fuzz_touch_view(op->params[k].name);
        for (uint32_t k = 0; k < op->scheme_count; k++)
            fuzz_touch_view(openapi_security_scheme_at(spec, op->schemes[k])->name);
        str_view method = {openapi_method_name(op->method),
                           (uint32_t)strlen(openapi_method_name(op->method))};
        for (int variant = 0; variant < 3; variant++) {
            size_t n = fuzz_request(request, sizeof request, base, op->path, variant);
            str_view target = {request, (uint32_t)n};
            openapi_hit hit;
            /* a template whose literal holds '?', '#', '%' or "{}" made
             * of a mixed segment may not match its own filled-in form;
             * matching must still be safe */
            if (openapi_match(spec, method, target, &hit))
                fuzz_sink += hit.op->index + hit.base_path.len;
        }
    }
    /* truncated escapes, empty segments, absolute forms without a path */
    static const char *const odd[] = {"/%",      "/a/%2",    "//",        "/?", "http://",
                                      "HTTPS:/", "http://h", "/a/b/c/d/", "*",  ""};
    for (int m = 0; m < OPENAPI_METHOD_COUNT; m++)
        for (size_t k = 0; k < sizeof odd / sizeof odd[0]; k++) {
            str_view method = {openapi_method_name((openapi_method)m),
                               (uint32_t)strlen(openapi_method_name((openapi_method)m))};
            str_view target = {odd[k], (uint32_t)strlen(odd[k])};
            openapi_hit hit;
            if (openapi_match(spec, method, target, &hit))
                fuzz_sink += hit.op->index;
        }
    openapi_destroy(spec);
    return 0;
}
