/*
 * Login facts: the JSON walker or a form splitter over the request body, a
 * look at Set-Cookie and token-carrying response headers, and the JSON
 * walker over the response body. Names are compared in a normal form
 * (lower case, '_' and '-' dropped).
 */
#include "login.h"

#include <string.h>

#include "common/ascii.h"
#include "json_walk.h"

/* Normal forms (see normal_is): widely used conventions, not any one API's. */
static const char *const user_names[] = {"username",  "user",    "login",        "loginid",
                                         "loginname", "email",   "emailaddress", "mail",
                                         "userid",    "account", "accountname",  "identifier"};
static const char *const password_names[] = {"passwd", "pass", "pwd", "passphrase"};
static const char *const token_names[] = {"accesstoken", "token",     "idtoken",
                                          "jwt",         "authtoken", "sessiontoken",
                                          "bearertoken", "apikey",    "apitoken"};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Writes the normal form of name into out (cap bytes); its length, or -1
 * when it does not fit (no listed name is that long). */
static int normal_form(str_view name, char *out, size_t cap) {
    size_t n = 0;
    for (uint32_t i = 0; i < name.len; i++) {
        char c = name.ptr[i];
        if (c == '_' || c == '-')
            continue;
        if (n == cap)
            return -1;
        out[n++] = ascii_lower(c);
    }
    return (int)n;
}

static int normal_in(str_view name, const char *const *list, size_t count) {
    char form[32];
    int n = normal_form(name, form, sizeof form);
    if (n <= 0)
        return 0;
    for (size_t i = 0; i < count; i++)
        if (strlen(list[i]) == (size_t)n && !memcmp(list[i], form, (size_t)n))
            return 1;
    return 0;
}

static int is_password_name(str_view name) {
    char form[64];
    int n = normal_form(name, form, sizeof form);
    if (n <= 0)
        return 0;
    for (int i = 0; i + 8 <= n; i++)
        if (!memcmp(form + i, "password", 8))
            return 1;
    return normal_in(name, password_names, COUNT_OF(password_names));
}

static int contains_ci(str_view v, const char *word) {
    return v.ptr && ascii_contains_nocase(v.ptr, v.len, word);
}

static int view_is(str_view v, const char *word) {
    size_t n = strlen(word);
    return v.ptr && v.len == n && ascii_equal_nocase(v.ptr, word, n);
}

/* A JSON string's contents as a usable view: raw, or unescaped into
 * out->decoded; absent when it does not fit. */
static str_view json_text(login_facts *out, const json_walk_item *item) {
    if (!item->escaped)
        return item->value;
    str_view none = {NULL, 0};
    char *dst = out->decoded + out->decoded_used;
    int n = json_walk_unescape(item->value, dst, LOGIN_DECODE_BYTES - out->decoded_used);
    if (n < 0)
        return none;
    out->decoded_used += (uint32_t)n;
    str_view v = {dst, (uint32_t)n};
    return v;
}

/* Percent-decodes a form value into out->decoded; absent when it does not fit. */
static str_view form_text(login_facts *out, str_view raw) {
    str_view v = {NULL, 0};
    if (raw.len > LOGIN_DECODE_BYTES - out->decoded_used)
        return v;
    v.ptr = out->decoded + out->decoded_used;
    v.len = credential_form_decode(raw, out->decoded + out->decoded_used);
    out->decoded_used += v.len;
    return v;
}

static int body_is_json(const http_message *m) {
    if (contains_ci(m->content_type, "json"))
        return 1;
    for (uint32_t i = 0; i < m->body_len; i++) {
        uint8_t c = m->body[i];
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
            return c == '{' || c == '[';
    }
    return 0;
}

/* ---- request ------------------------------------------------------------ */

/* What a request member is: 1 password-like, 2 a username-like member still
 * wanted (the first one wins), 0 neither. */
static int request_member(const login_facts *out, str_view name) {
    if (is_password_name(name))
        return 1;
    if (!out->user_field.ptr && normal_in(name, user_names, COUNT_OF(user_names)))
        return 2;
    return 0;
}

static void read_request_json(login_facts *out, const http_message *m) {
    json_walker w;
    json_walk_item item;
    json_walk_init(&w, m->body, m->body_len);
    while (json_walk_next(&w, &item) == AS_OK) {
        if (!item.key.ptr || (item.type != JSON_WALK_STRING && item.type != JSON_WALK_NUMBER))
            continue;
        int member = request_member(out, item.key);
        int non_empty = item.type == JSON_WALK_NUMBER || item.value.len > 0;
        if (member == 1 && non_empty) {
            out->has_password = 1;
        } else if (member == 2 && item.type == JSON_WALK_STRING && non_empty) {
            str_view user = json_text(out, &item); /* decoded only when kept */
            if (user.ptr && user.len > 0) {
                out->user_field = item.key;
                out->user = user;
            }
        }
    }
}

static void read_request_form(login_facts *out, const http_message *m) {
    const char *p = (const char *)m->body, *end = p + m->body_len;
    out->request_form = 1;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *pair_end = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(pair_end - p));
        if (eq && eq + 1 < pair_end) {
            str_view name = {p, (uint32_t)(eq - p)};
            str_view raw = {eq + 1, (uint32_t)(pair_end - eq - 1)};
            int member = request_member(out, name);
            if (member == 1) {
                out->has_password = 1;
            } else if (member == 2) {
                str_view user = form_text(out, raw);
                if (user.ptr) {
                    out->user_field = name;
                    out->user = user;
                }
            }
        }
        p = pair_end + 1;
    }
}

/* ---- response ----------------------------------------------------------- */

/* "name=value; attributes" of one Set-Cookie; 1 when it sets a session
 * cookie (not one that expires at once). */
static int read_set_cookie(login_facts *out, const credential_config *cfg, str_view header) {
    const char *p = header.ptr, *end = p + header.len;
    const char *semi = memchr(p, ';', header.len);
    const char *pair_end = semi ? semi : end;
    const char *eq = memchr(p, '=', (size_t)(pair_end - p));
    if (!eq)
        return 0;
    const char *name = p, *name_end = eq, *value = eq + 1, *value_end = pair_end;
    while (name < name_end && (*name == ' ' || *name == '\t'))
        name++;
    while (name_end > name && (name_end[-1] == ' ' || name_end[-1] == '\t'))
        name_end--;
    while (value < value_end && (*value == ' ' || *value == '\t' || *value == '"'))
        value++;
    while (value_end > value &&
           (value_end[-1] == ' ' || value_end[-1] == '\t' || value_end[-1] == '"'))
        value_end--;
    str_view nv = {name, (uint32_t)(name_end - name)};
    str_view vv = {value, (uint32_t)(value_end - value)};
    str_view attributes = {pair_end, (uint32_t)(end - pair_end)};
    if (nv.len == 0 || vv.len == 0 || view_is(vv, "deleted") ||
        contains_ci(attributes, "max-age=0") || contains_ci(attributes, "max-age=-") ||
        contains_ci(attributes, "1970") || !credential_is_session_cookie(cfg, nv.ptr, nv.len))
        return 0;
    out->sets_session_cookie = 1;
    out->cookie_name = nv;
    out->cookie_value = vv;
    out->cookie_fingerprint = credential_fingerprint(vv.ptr, vv.len);
    return 1;
}

static void set_token(login_facts *out, str_view field, str_view token, int in_header) {
    out->returns_token = 1;
    out->token_in_header = (uint8_t)in_header;
    out->token_field = field;
    out->token = token;
}

static void read_response_headers(login_facts *out, const credential_config *cfg,
                                  const http_message *m) {
    const credential_name_list *keys = &cfg->lists[CREDENTIAL_LIST_API_KEY_HEADERS];
    for (uint32_t i = 0; i < m->header_count; i++) {
        const http_header_view *h = &m->headers[i];
        if (!h->name.ptr || !h->value.ptr)
            continue;
        if (view_is(h->name, "Set-Cookie")) {
            if (!out->sets_session_cookie)
                read_set_cookie(out, cfg, h->value);
            continue;
        }
        if (out->returns_token)
            continue;
        str_view v = h->value;
        while (v.len > 0 && (v.ptr[0] == ' ' || v.ptr[0] == '\t')) {
            v.ptr++;
            v.len--;
        }
        if (view_is(h->name, "Authorization")) {
            if (v.len > 7 && !memcmp(v.ptr, "Bearer ", 7)) {
                v.ptr += 7;
                v.len -= 7;
            }
            if (v.len > 0)
                set_token(out, h->name, v, 1);
        } else if (credential_name_matches(keys, h->name.ptr, h->name.len) && v.len > 0) {
            set_token(out, h->name, v, 1);
        }
    }
}

static void read_response_json(login_facts *out, const credential_config *cfg,
                               const http_message *m) {
    json_walker w;
    json_walk_item item;
    json_walk_init(&w, m->body, m->body_len);
    str_view jwt_field = {NULL, 0}, jwt_value = {NULL, 0};
    while (json_walk_next(&w, &item) == AS_OK) {
        if (item.type != JSON_WALK_STRING || item.value.len == 0)
            continue;
        if (item.key.ptr && normal_in(item.key, token_names, COUNT_OF(token_names))) {
            str_view token = json_text(out, &item);
            if (token.ptr) {
                set_token(out, item.key, token, 0);
                return;
            }
        }
        if (!jwt_value.ptr && !item.escaped && jwt_looks_like(item.value.ptr, item.value.len) &&
            jwt_decode(item.value.ptr, item.value.len, cfg->jwt_max_bytes, &out->token_claims,
                       NULL) == AS_OK) {
            jwt_field = item.key;
            jwt_value = item.value;
        }
    }
    if (jwt_value.ptr && !out->returns_token)
        set_token(out, jwt_field, jwt_value, 0);
}

/* ---- entry points ------------------------------------------------------- */

void login_extract(const http_transaction *tx, const credential_config *cfg,
                   const login_hints *hints, login_facts *out, anomaly_counters *counters) {
    static const str_view none = {NULL, 0};
    out->user_field = none;
    out->user = none;
    out->has_password = 0;
    out->request_form = 0;
    out->sets_session_cookie = 0;
    out->cookie_name = none;
    out->cookie_value = none;
    out->cookie_fingerprint = 0;
    out->returns_token = 0;
    out->token_in_header = 0;
    out->token_field = none;
    out->token = none;
    out->token_fingerprint = 0;
    out->token_is_jwt = 0;
    out->decoded_used = 0;

    const http_message *req = &tx->request;
    int request_json = 0;
    if (req->present && req->body && req->body_len > 0) {
        if (body_is_json(req))
            request_json = 1;
        else if (contains_ci(req->content_type, "x-www-form-urlencoded") ||
                 (!req->content_type.ptr && memchr(req->body, '=', req->body_len)))
            read_request_form(out, req);
    }
    int defer_request = request_json && hints && hints->request_plain;
    if (request_json && !defer_request)
        read_request_json(out, req);
    const http_message *resp = &tx->response;
    if (resp->present) {
        if (resp->body && resp->body_len > 0 && !(hints && hints->response_plain) &&
            body_is_json(resp))
            read_response_json(out, cfg, resp);
        read_response_headers(out, cfg, resp);
    }
    if (defer_request && (out->returns_token || out->sets_session_cookie))
        read_request_json(out, req);
    if (!out->returns_token)
        return;
    out->token_fingerprint = credential_fingerprint(out->token.ptr, out->token.len);
    out->token_is_jwt = (int8_t)(jwt_decode(out->token.ptr, out->token.len, cfg->jwt_max_bytes,
                                            &out->token_claims, counters) == AS_OK);
}

int login_facts_any(const login_facts *facts) {
    return facts->user_field.ptr || facts->has_password || facts->sets_session_cookie ||
           facts->returns_token;
}
