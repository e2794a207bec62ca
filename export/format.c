/*
 * Format names and the shared small writers (see format.h).
 */
#include "format.h"

#include <string.h>

static const char *const format_names[] = {"native", "ecs", "ocsf", "splunk"};

int format_parse(const char *name, export_format *out) {
    for (unsigned i = 0; i < sizeof format_names / sizeof format_names[0]; i++) {
        if (name && !strcmp(name, format_names[i])) {
            *out = (export_format)i;
            return 1;
        }
    }
    return 0;
}

const char *format_name(export_format format) {
    return (unsigned)format < sizeof format_names / sizeof format_names[0] ? format_names[format]
                                                                           : "native";
}

void format_view(json_writer *w, const char *key, str_view v) {
    json_key(w, key);
    if (str_view_present(v))
        json_string(w, v.ptr, v.len);
    else
        json_null(w);
}

void format_view_optional(json_writer *w, const char *key, str_view v) {
    if (str_view_present(v))
        format_view(w, key, v);
}

void format_str_list(json_writer *w, const record_str_list *list) {
    json_array_begin(w);
    for (uint32_t i = 0; list->items && i < list->count; i++) {
        if (list->items[i].ptr)
            json_string(w, list->items[i].ptr, list->items[i].len);
        else
            json_null(w);
    }
    json_array_end(w);
}

void format_endpoint(json_writer *w, const record_endpoint *e) {
    json_object_begin(w);
    format_view(w, "method", e->method);
    format_view(w, "host", e->host);
    format_view(w, "path", e->path);
    json_object_end(w);
}

void format_ip(json_writer *w, const ip_address *ip) {
    char text[64];
    if (ip->family == 0)
        json_null(w);
    else
        json_cstring(w, ip_address_format(ip, text, sizeof text));
}

uint32_t format_key_append(char *buf, uint32_t len, uint32_t buflen, str_view v) {
    if (buflen == 0)
        return 0;
    if (v.ptr && len + 1 < buflen) {
        uint32_t n = v.len < buflen - 1 - len ? v.len : buflen - 1 - len;
        memcpy(buf + len, v.ptr, n);
        len += n;
    }
    buf[len] = '\0';
    return len;
}

void format_split_uri(str_view uri, str_view *path, str_view *query) {
    *path = uri;
    *query = (str_view){NULL, 0};
    if (!uri.ptr)
        return;
    const char *mark = memchr(uri.ptr, '?', uri.len);
    if (!mark)
        return;
    path->len = (uint32_t)(mark - uri.ptr);
    query->ptr = mark + 1;
    query->len = uri.len - path->len - 1;
}

str_view format_host_name(str_view host) {
    if (!host.ptr || host.len == 0)
        return host;
    if (host.ptr[0] == '[') {
        const char *close = memchr(host.ptr, ']', host.len);
        if (close)
            return (str_view){host.ptr + 1, (uint32_t)(close - host.ptr - 1)};
        return host;
    }
    uint32_t i = host.len;
    while (i > 0 && host.ptr[i - 1] >= '0' && host.ptr[i - 1] <= '9')
        i--;
    if (i > 0 && i < host.len && host.ptr[i - 1] == ':' && !memchr(host.ptr, ':', i - 1))
        return (str_view){host.ptr, i - 1};
    return host;
}

void format_address(json_writer *w, const char *key, const ip_address *ip, uint16_t port) {
    json_key(w, key);
    json_object_begin(w);
    json_key(w, "ip");
    format_ip(w, ip);
    if (port) {
        json_key(w, "port");
        json_uint(w, port);
    }
    json_object_end(w);
}
