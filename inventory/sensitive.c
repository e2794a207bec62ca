/*
 * Sensitive data scanner (see sensitive.h and docs/sensitive-data.md).
 *
 * Every Hyperscan pattern is a literal (or nearly) whose match end fixes
 * where the candidate starts, so no pattern needs start-of-match tracking
 * and the database stays on Hyperscan's fast literal path; digits, which a
 * class-led pattern would find at a fraction of that speed, are found by
 * one plain pass over the runs of digits. Each candidate goes to its
 * validator, which reads the candidate in place with bounds checks against
 * the scanned span and records the type with a masked sample. Once a type
 * is found in a part, its further candidates return at once.
 */
#include "sensitive.h"

#include <endian.h>
#include <hs.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "parse/urlencoded.h"

/* ------------------------------------------------------------------- names */

const char *sensitive_type_name(sensitive_type type) {
    static const char *const names[] = {
#define SENSITIVE_TYPE_NAME(id, name) name,
        SENSITIVE_TYPE_LIST(SENSITIVE_TYPE_NAME)
#undef SENSITIVE_TYPE_NAME
    };
    return (unsigned)type < SENSITIVE_TYPE_COUNT ? names[type] : "?";
}

const char *sensitive_location_name(sensitive_location location) {
    static const char *const names[] = {
#define SENSITIVE_LOCATION_NAME(id, name) name,
        SENSITIVE_LOCATION_LIST(SENSITIVE_LOCATION_NAME)
#undef SENSITIVE_LOCATION_NAME
    };
    return (unsigned)location < SENSITIVE_LOCATION_COUNT ? names[location] : "?";
}

/* ------------------------------------------------------------ char classes */

static int is_digit(uint8_t c) {
    return c >= '0' && c <= '9';
}

static int is_upper(uint8_t c) {
    return c >= 'A' && c <= 'Z';
}

static int is_alpha(uint8_t c) {
    return is_upper(c) || (c >= 'a' && c <= 'z');
}

static int is_alnum(uint8_t c) {
    return is_alpha(c) || is_digit(c);
}

/* Characters of base64url tokens (JWT segments, most API keys). */
static int is_b64url(uint8_t c) {
    return is_alnum(c) || c == '-' || c == '_';
}

/* Characters of crypt(3)-style hashes: "./0-9A-Za-z". */
static int is_crypt64(uint8_t c) {
    return is_alnum(c) || c == '.' || c == '/';
}

static uint8_t lower(uint8_t c) {
    return is_upper(c) ? (uint8_t)(c | 0x20) : c;
}

/* ------------------------------------------------------------------ cards */

int sensitive_luhn_valid(const char *digits, size_t len) {
    if (len == 0)
        return 0;
    unsigned sum = 0;
    int twice = 0;
    for (size_t i = len; i-- > 0;) {
        if (!is_digit((uint8_t)digits[i]))
            return 0;
        unsigned d = (unsigned)(digits[i] - '0');
        if (twice) {
            d *= 2;
            if (d > 9)
                d -= 9;
        }
        sum += d;
        twice = !twice;
    }
    return sum % 10 == 0;
}

/* Issuer ranges: the first `prefix_digits` digits lie in [low, high] and the
 * number has one of the lengths in `lengths` (bit n = n digits). */
typedef struct card_range {
    uint32_t low, high;
    uint8_t prefix_digits;
    uint32_t lengths;
} card_range;

#define LEN(n) (1u << (n))
/* The longest issuer prefix of card_ranges. */
#define CARD_PREFIX_DIGITS 6
#define LEN_16_19 (LEN(16) | LEN(17) | LEN(18) | LEN(19))

static const card_range card_ranges[] = {
    {4, 4, 1, LEN(13) | LEN(16) | LEN(19)},         /* Visa */
    {51, 55, 2, LEN(16)},                           /* Mastercard */
    {2221, 2720, 4, LEN(16)},                       /* Mastercard 2-series */
    {34, 34, 2, LEN(15)},                           /* American Express */
    {37, 37, 2, LEN(15)},                           /* American Express */
    {6011, 6011, 4, LEN_16_19},                     /* Discover */
    {644, 649, 3, LEN_16_19},                       /* Discover */
    {65, 65, 2, LEN_16_19},                         /* Discover */
    {622126, 622925, 6, LEN_16_19},                 /* Discover / UnionPay co-brand */
    {62, 62, 2, LEN_16_19},                         /* UnionPay */
    {300, 305, 3, LEN(14) | LEN_16_19},             /* Diners Club */
    {3095, 3095, 4, LEN(14) | LEN_16_19},           /* Diners Club */
    {36, 36, 2, LEN(14) | LEN_16_19},               /* Diners Club */
    {38, 39, 2, LEN(14) | LEN_16_19},               /* Diners Club */
    {3528, 3589, 4, LEN_16_19},                     /* JCB */
    {2200, 2204, 4, LEN_16_19},                     /* Mir */
    {5018, 5018, 4, LEN(13) | LEN(15) | LEN_16_19}, /* Maestro */
    {5020, 5020, 4, LEN(13) | LEN(15) | LEN_16_19}, /* Maestro */
    {5038, 5038, 4, LEN(13) | LEN(15) | LEN_16_19}, /* Maestro */
    {5893, 5893, 4, LEN(13) | LEN(15) | LEN_16_19}, /* Maestro */
    {6304, 6304, 4, LEN(13) | LEN(15) | LEN_16_19}, /* Maestro */
    {6759, 6759, 4, LEN(13) | LEN(15) | LEN_16_19}, /* Maestro */
    {6761, 6763, 4, LEN(13) | LEN(15) | LEN_16_19}, /* Maestro */
};

/* Copies the digits of a number, plain or grouped by single spaces or by
 * single dashes (one kind: "4111 1111-1111 1111" is no number), into out.
 * Returns the digit count, 0 for any other text or more than cap digits. */
static size_t collect_digits(const char *text, size_t len, char *out, size_t cap) {
    size_t n = 0;
    char sep = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = (uint8_t)text[i];
        if (is_digit(c)) {
            if (n == cap)
                return 0;
            out[n++] = (char)c;
            continue;
        }
        if ((c != ' ' && c != '-') || i == 0 || i + 1 == len || !is_digit((uint8_t)text[i - 1]) ||
            !is_digit((uint8_t)text[i + 1]) || (sep && sep != (char)c))
            return 0;
        sep = (char)c;
    }
    return n;
}

int sensitive_card_valid(const char *text, size_t len) {
    char digits[20];
    size_t n = collect_digits(text, len, digits, sizeof digits);
    if (n < 13 || n > 19)
        return 0;
    /* The issuer range first: it turns away most long numbers (epoch
     * milliseconds start with 1) before the checksum is computed. */
    uint32_t prefix[CARD_PREFIX_DIGITS + 1] = {0};
    for (size_t k = 0; k < CARD_PREFIX_DIGITS; k++)
        prefix[k + 1] = prefix[k] * 10 + (uint32_t)(digits[k] - '0');
    for (size_t i = 0; i < sizeof card_ranges / sizeof card_ranges[0]; i++) {
        const card_range *r = &card_ranges[i];
        if (r->prefix_digits <= CARD_PREFIX_DIGITS && prefix[r->prefix_digits] >= r->low &&
            prefix[r->prefix_digits] <= r->high && (r->lengths & LEN(n)))
            return sensitive_luhn_valid(digits, n);
    }
    return 0;
}

/* -------------------------------------------------------------------- SSN */

static int three_digits(const char *s) {
    return (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
}

int sensitive_ssn_valid(const char *text, size_t len) {
    char d[9];
    if (len == 11) {
        if (text[3] != '-' || text[6] != '-')
            return 0;
        memcpy(d, text, 3);
        memcpy(d + 3, text + 4, 2);
        memcpy(d + 5, text + 7, 4);
    } else if (len == 9) {
        memcpy(d, text, 9);
    } else {
        return 0;
    }
    for (int i = 0; i < 9; i++)
        if (!is_digit((uint8_t)d[i]))
            return 0;
    int area = three_digits(d);
    int group = (d[3] - '0') * 10 + (d[4] - '0');
    int serial = three_digits(d + 5) * 10 + (d[8] - '0');
    return area != 0 && area != 666 && area < 900 && group != 0 && serial != 0;
}

/* ------------------------------------------------------------------- IBAN */

/* Country code and IBAN length (ISO 13616 registry). */
static const struct {
    char cc[3];
    uint8_t len;
} iban_countries[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16}, {"BG", 22},
    {"BH", 22}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24}, {"DE", 22},
    {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18}, {"FO", 18}, {"FR", 27},
    {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28},
    {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20},
    {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21}, {"MC", 27}, {"MD", 24},
    {"ME", 22}, {"MK", 19}, {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NL", 18}, {"NO", 15}, {"PK", 24},
    {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"SA", 24}, {"SC", 31},
    {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"ST", 25}, {"SV", 28}, {"TL", 23}, {"TN", 24},
    {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20},
};

static int iban_length(const char *cc) {
    for (size_t i = 0; i < sizeof iban_countries / sizeof iban_countries[0]; i++)
        if (iban_countries[i].cc[0] == cc[0] && iban_countries[i].cc[1] == cc[1])
            return iban_countries[i].len;
    return 0;
}

/* Removes the single spaces of the printed form: groups of four, the last
 * one shorter. Returns 0 for any other grouping. */
static size_t iban_compact(const char *text, size_t len, char *out, size_t cap) {
    size_t n = 0;
    size_t group = 0;
    int spaced = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = (uint8_t)text[i];
        if (c == ' ') {
            if (group != 4 || i + 1 == len)
                return 0;
            spaced = 1;
            group = 0;
            continue;
        }
        if (++group > 4 && spaced)
            return 0;
        if (!is_upper(c) && !is_digit(c))
            return 0;
        if (n == cap)
            return 0;
        out[n++] = (char)c;
    }
    return n;
}

int sensitive_iban_valid(const char *text, size_t len) {
    char s[34];
    size_t n = iban_compact(text, len, s, sizeof s);
    if (n < 15 || !is_upper((uint8_t)s[0]) || !is_upper((uint8_t)s[1]) ||
        !is_digit((uint8_t)s[2]) || !is_digit((uint8_t)s[3]) || (size_t)iban_length(s) != n)
        return 0;
    /* Move the first four characters to the end, letters count 10..35. */
    unsigned rem = 0;
    for (size_t k = 0; k < n; k++) {
        uint8_t c = (uint8_t)s[(k + 4) % n];
        if (is_digit(c))
            rem = (rem * 10 + (unsigned)(c - '0')) % 97;
        else
            rem = (rem * 100 + (unsigned)(c - 'A' + 10)) % 97;
    }
    return rem == 1;
}

/* ------------------------------------------------------------------ phone */

/* Country calling codes with the national number lengths they use. Only
 * these count: an unknown code is more often an id than a phone. */
static const struct {
    uint16_t code;
    uint8_t min, max;
} phone_countries[] = {
    {1, 10, 10},  {7, 10, 10},  {20, 10, 10}, {27, 9, 9},   {30, 10, 10}, {31, 9, 9},   {32, 8, 9},
    {33, 9, 9},   {34, 9, 9},   {36, 8, 9},   {39, 9, 11},  {40, 9, 9},   {41, 9, 9},   {43, 7, 13},
    {44, 9, 10},  {45, 8, 8},   {46, 7, 10},  {47, 8, 8},   {48, 9, 9},   {49, 7, 12},  {51, 8, 9},
    {52, 10, 10}, {54, 10, 11}, {55, 10, 11}, {56, 9, 9},   {57, 10, 10}, {60, 9, 10},  {61, 9, 9},
    {62, 9, 12},  {63, 10, 10}, {64, 8, 10},  {65, 8, 8},   {66, 8, 9},   {81, 9, 10},  {82, 8, 10},
    {84, 9, 10},  {86, 10, 11}, {90, 10, 10}, {91, 10, 10}, {92, 10, 10}, {234, 8, 10}, {254, 9, 9},
    {351, 9, 9},  {353, 7, 9},  {358, 6, 10}, {380, 9, 9},  {420, 9, 9},  {852, 8, 8},  {886, 9, 9},
    {966, 9, 9},  {971, 8, 9},  {972, 8, 9},
};

/* North American numbering: NPA and NXX are [2-9]XX and not N11. */
static int nanp_valid(const char *d) {
    for (int part = 0; part < 2; part++) {
        const char *p = d + part * 3;
        if (p[0] < '2' || (p[1] == '1' && p[2] == '1'))
            return 0;
    }
    return 1;
}

int sensitive_phone_valid(const char *text, size_t len) {
    char d[16];
    size_t n = 0;
    int separators_in_row = 0;
    int international = len > 0 && text[0] == '+';
    for (size_t i = international ? 1 : 0; i < len; i++) {
        uint8_t c = (uint8_t)text[i];
        if (is_digit(c)) {
            if (n == 15)
                return 0;
            d[n++] = (char)c;
            separators_in_row = 0;
        } else if (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')') {
            if (++separators_in_row > 2)
                return 0;
        } else {
            return 0;
        }
    }
    if (n == 0 || !is_digit((uint8_t)text[len - 1]))
        return 0;
    if (!international)
        return n == 10 && nanp_valid(d);
    for (size_t i = 0; i < sizeof phone_countries / sizeof phone_countries[0]; i++) {
        unsigned code = phone_countries[i].code;
        size_t code_digits = code >= 100 ? 3 : code >= 10 ? 2 : 1;
        if (n <= code_digits)
            continue;
        unsigned got = 0;
        for (size_t k = 0; k < code_digits; k++)
            got = got * 10 + (unsigned)(d[k] - '0');
        if (got != code)
            continue;
        size_t national = n - code_digits;
        if (national < phone_countries[i].min || national > phone_countries[i].max)
            return 0;
        return code != 1 || nanp_valid(d + 1);
    }
    return 0;
}

/* ------------------------------------------------------------------ email */

/* File names that look like addresses ("icon@2x.png") are not. */
static int is_file_extension(const char *tld, size_t len) {
    static const char *const exts[] = {"png", "jpg", "jpeg", "gif", "svg", "webp", "css", "js"};
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++)
        if (strlen(exts[i]) == len && memcmp(exts[i], tld, len) == 0)
            return 1;
    return 0;
}

static int is_local_char(uint8_t c) {
    return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}

static int is_domain_char(uint8_t c) {
    return is_alnum(c) || c == '.' || c == '-';
}

int sensitive_email_valid(const char *text, size_t len) {
    const char *at = memchr(text, '@', len);
    if (!at)
        return 0;
    size_t local = (size_t)(at - text);
    size_t domain = len - local - 1;
    if (local == 0 || local > 64 || domain < 4 || domain > 253 || text[0] == '.' ||
        text[local - 1] == '.')
        return 0;
    for (size_t i = 0; i < local; i++)
        if (!is_local_char((uint8_t)text[i]) || (text[i] == '.' && text[i + 1] == '.'))
            return 0;
    const char *d = at + 1;
    size_t label = 0;
    size_t labels = 0;
    size_t tld_start = 0;
    for (size_t i = 0; i <= domain; i++) {
        if (i == domain || d[i] == '.') {
            if (label == 0 || label > 63 || d[i - 1] == '-' || d[i - label] == '-')
                return 0;
            labels++;
            tld_start = i - label;
            label = 0;
            continue;
        }
        if (!is_alnum((uint8_t)d[i]) && d[i] != '-')
            return 0;
        label++;
    }
    size_t tld_len = domain - tld_start;
    if (labels < 2 || tld_len < 2 || tld_len > 24)
        return 0;
    for (size_t i = tld_start; i < domain; i++)
        if (!is_alpha((uint8_t)d[i]))
            return 0;
    char tld[24];
    for (size_t i = 0; i < tld_len; i++)
        tld[i] = (char)lower((uint8_t)d[tld_start + i]);
    return !is_file_extension(tld, tld_len);
}

/* ---------------------------------------------------------- password hash */

static size_t span_of(const char *s, size_t len, int (*in_class)(uint8_t)) {
    size_t i = 0;
    while (i < len && in_class((uint8_t)s[i]))
        i++;
    return i;
}

#ifdef __SSE2__
/* Bit k set when byte k of v is within lo..hi (unsigned: shifted down by
 * lo, a byte is in range when the shift leaves it at most hi - lo). */
static uint32_t range_mask16(__m128i v, char lo, char hi) {
    __m128i d = _mm_sub_epi8(v, _mm_set1_epi8(lo));
    __m128i in = _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8((char)(hi - lo))), d);
    return (uint32_t)_mm_movemask_epi8(in);
}

/* Bit k set when byte k of the sixteen at p is a base64url character
 * (setting 0x20 turns upper case to lower and nothing else into a..z). */
static uint32_t b64url_mask16(const char *p) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i marks =
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('-')), _mm_cmpeq_epi8(v, _mm_set1_epi8('_')));
    return range_mask16(_mm_or_si128(v, _mm_set1_epi8(0x20)), 'a', 'z') |
           range_mask16(v, '0', '9') | (uint32_t)_mm_movemask_epi8(marks);
}
#endif

/* span_of(s, len, is_b64url), sixteen bytes at a time where it can: JWTs
 * are hundreds of characters, in every request that carries one. */
static size_t b64url_span(const char *s, size_t len) {
    size_t i = 0;
#ifdef __SSE2__
    for (; i + 16 <= len; i += 16) {
        uint32_t other = ~b64url_mask16(s + i) & 0xffffu;
        if (other)
            return i + (size_t)__builtin_ctz(other);
    }
#endif
    return i + span_of(s + i, len - i, is_b64url);
}

static int is_b64std(uint8_t c) {
    return is_alnum(c) || c == '+' || c == '/' || c == '=';
}

static int is_param_char(uint8_t c) {
    return is_alnum(c) || c == '=' || c == ',';
}

static int starts_with(const char *s, size_t len, const char *prefix) {
    size_t n = strlen(prefix);
    return len >= n && memcmp(s, prefix, n) == 0;
}

/* Splits s on '$' into at most max fields; returns the field count. */
static size_t split_dollar(const char *s, size_t len, str_view *fields, size_t max) {
    size_t n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == '$') {
            if (n == max)
                return max + 1;
            fields[n].ptr = s + start;
            fields[n].len = (uint32_t)(i - start);
            n++;
            start = i + 1;
        }
    }
    return n;
}

static int all_of(str_view v, int (*in_class)(uint8_t)) {
    return span_of(v.ptr, v.len, in_class) == v.len;
}

static int all_digits(str_view v) {
    return v.len > 0 && span_of(v.ptr, v.len, is_digit) == v.len;
}

int sensitive_password_hash_valid(const char *s, size_t len) {
    str_view f[8];
    if (len >= 60 && s[0] == '$' && s[1] == '2') {
        /* bcrypt: $2[abxy]$NN$ + 22 salt + 31 hash characters */
        size_t head = s[2] == '$' ? 3 : 4;
        if (head == 4 && !strchr("abxy", s[2]))
            return 0;
        if (s[head - 1] != '$' || !is_digit((uint8_t)s[head]) || !is_digit((uint8_t)s[head + 1]) ||
            s[head + 2] != '$')
            return 0;
        return len == head + 3 + 53 && span_of(s + head + 3, 53, is_crypt64) == 53;
    }
    if (starts_with(s, len, "$argon2")) {
        /* $argon2id$v=19$m=65536,t=3,p=4$salt$hash (v= optional) */
        size_t n = split_dollar(s, len, f, 6);
        if (n != 5 && n != 6)
            return 0;
        if (!(f[1].len == 8 || f[1].len == 7) || !starts_with(f[1].ptr, f[1].len, "argon2"))
            return 0;
        size_t params = n == 6 ? 3 : 2;
        if (n == 6 && !starts_with(f[2].ptr, f[2].len, "v="))
            return 0;
        return starts_with(f[params].ptr, f[params].len, "m=") &&
               all_of(f[params], is_param_char) && f[params + 1].len >= 8 &&
               all_of(f[params + 1], is_b64std) && f[params + 2].len >= 16 &&
               all_of(f[params + 2], is_b64std);
    }
    if (len > 3 && s[0] == '$' && (s[1] == '5' || s[1] == '6') && s[2] == '$') {
        /* sha-crypt: $5$[rounds=N$]salt$hash (hash 43 or 86 characters) */
        size_t n = split_dollar(s, len, f, 5);
        if (n != 4 && n != 5)
            return 0;
        if (n == 5 && (!starts_with(f[2].ptr, f[2].len, "rounds=") || f[2].len < 8))
            return 0;
        str_view salt = f[n - 2];
        str_view hash = f[n - 1];
        size_t want = s[1] == '5' ? 43 : 86;
        return salt.len >= 1 && salt.len <= 16 && all_of(salt, is_crypt64) && hash.len == want &&
               all_of(hash, is_crypt64);
    }
    if (starts_with(s, len, "pbkdf2_") || starts_with(s, len, "$pbkdf2")) {
        /* Django pbkdf2_sha256$iterations$salt$hash, passlib $pbkdf2-sha256$i$salt$hash */
        int dollar = s[0] == '$';
        size_t n = split_dollar(s, len, f, 5);
        if (n != (size_t)(4 + dollar))
            return 0;
        str_view algo = f[dollar];
        str_view iterations = f[dollar + 1];
        str_view salt = f[dollar + 2];
        str_view hash = f[dollar + 3];
        return algo.len >= 6 && all_digits(iterations) && salt.len >= 1 &&
               (all_of(salt, is_b64std) || all_of(salt, is_crypt64)) && hash.len >= 20 &&
               (all_of(hash, is_b64std) || all_of(hash, is_crypt64));
    }
    return 0;
}

/* -------------------------------------------------------------------- JWT */

static int b64url_value(uint8_t c) {
    if (is_upper(c))
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (is_digit(c))
        return c - '0' + 52;
    if (c == '-' || c == '+')
        return 62;
    if (c == '_' || c == '/')
        return 63;
    return -1;
}

/* Decodes unpadded base64url; returns the byte count or -1. */
static long b64url_decode(const char *s, size_t len, uint8_t *out, size_t cap) {
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64url_value((uint8_t)s[i]);
        if (v < 0)
            return s[i] == '=' ? (long)n : -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n == cap)
                return -1;
            out[n++] = (uint8_t)(acc >> bits);
        }
    }
    return (long)n;
}

/* A decoded JOSE header: a JSON object with an "alg" member. */
static int jose_header_ok(const uint8_t *h, size_t n) {
    size_t i = 0;
    while (i < n && (h[i] == ' ' || h[i] == '\n' || h[i] == '\r' || h[i] == '\t'))
        i++;
    while (n > i && (h[n - 1] == ' ' || h[n - 1] == '\n' || h[n - 1] == '\r' || h[n - 1] == '\t'))
        n--;
    if (n - i < 9 || h[i] != '{' || h[n - 1] != '}')
        return 0;
    for (size_t k = i; k + 5 <= n; k++) {
        if (memcmp(h + k, "\"alg\"", 5) != 0)
            continue;
        size_t j = k + 5;
        while (j < n && (h[j] == ' ' || h[j] == '\t'))
            j++;
        if (j < n && h[j] == ':')
            return 1;
    }
    return 0;
}

/* header.payload.signature split at its first two dots; 0 when it has
 * fewer. */
static int jwt_split_dots(const char *text, size_t len, const char **dot1, const char **dot2) {
    *dot1 = memchr(text, '.', len);
    if (!*dot1)
        return 0;
    *dot2 = memchr(*dot1 + 1, '.', len - (size_t)(*dot1 + 1 - text));
    return *dot2 != NULL;
}

/* The checks of sensitive_jwt_valid past the characters: segment lengths,
 * a payload that starts as a JSON object, a JOSE header. */
static int jwt_segments_ok(const char *text, const char *dot1, const char *dot2) {
    size_t header_len = (size_t)(dot1 - text);
    if (header_len < 12 || header_len > 1024 || dot2 - dot1 - 1 < 2)
        return 0;
    /* The payload is a JSON object too: base64 of '{' and a quote or space. */
    if (dot1[1] != 'e' || (dot1[2] != 'y' && dot1[2] != 'w'))
        return 0;
    uint8_t header[768];
    long n = b64url_decode(text, header_len, header, sizeof header);
    return n > 0 && jose_header_ok(header, (size_t)n);
}

int sensitive_jwt_valid(const char *text, size_t len) {
    const char *dot1, *dot2;
    if (!jwt_split_dots(text, len, &dot1, &dot2))
        return 0;
    size_t header_len = (size_t)(dot1 - text);
    size_t payload_len = (size_t)(dot2 - dot1 - 1);
    size_t signature_len = len - (size_t)(dot2 + 1 - text);
    return b64url_span(text, header_len) == header_len &&
           b64url_span(dot1 + 1, payload_len) == payload_len &&
           b64url_span(dot2 + 1, signature_len) == signature_len &&
           jwt_segments_ok(text, dot1, dot2);
}

/* sensitive_jwt_valid for what jwt_end took: three base64url segments and
 * two dots already, so only the segments are checked. */
static int jwt_taken_valid(const char *text, size_t len) {
    const char *dot1, *dot2;
    return jwt_split_dots(text, len, &dot1, &dot2) && jwt_segments_ok(text, dot1, dot2);
}

/* ---------------------------------------------------------------- masking */

typedef struct sample_writer {
    char *out;
    size_t len;
} sample_writer;

static void put(sample_writer *s, char c) {
    if (s->len + 1 < SENSITIVE_SAMPLE_MAX)
        s->out[s->len++] = c;
}

static void put_bytes(sample_writer *s, const char *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)p[i];
        put(s, c >= 0x20 && c < 0x7f && c != '"' && c != '\\' ? (char)c : '?');
    }
}

static void put_stars(sample_writer *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        put(s, '*');
}

/* First and last four characters of a compact value, stars between. */
static void mask_ends(sample_writer *s, const char *v, size_t n) {
    if (n < 12) {
        put_stars(s, n);
        return;
    }
    size_t stars = n - 8;
    if (stars > SENSITIVE_SAMPLE_MAX - 10)
        stars = SENSITIVE_SAMPLE_MAX - 10;
    put_bytes(s, v, 4);
    put_stars(s, stars);
    put_bytes(s, v + n - 4, 4);
}

/* Secrets: a recognisable prefix ("sk_live_", "AKIA", "ghp_") and, for long
 * values only, the last four characters, as key dashboards show them. */
static void mask_secret(sample_writer *s, const char *v, size_t n) {
    size_t prefix = 0;
    if (starts_with(v, n, "AKIA") || starts_with(v, n, "ASIA") || starts_with(v, n, "AIza"))
        prefix = 4;
    for (size_t i = 0; i < n && i < 12; i++)
        if (v[i] == '_' || v[i] == '-')
            prefix = i + 1;
    if (prefix > 12 || prefix * 3 > n)
        prefix = 0;
    put_bytes(s, v, prefix);
    put_stars(s, 4);
    if (n - prefix >= 20)
        put_bytes(s, v + n - 4, 4);
}

void sensitive_mask(sensitive_type type, const char *v, size_t n, char out[SENSITIVE_SAMPLE_MAX]) {
    sample_writer s = {out, 0};
    switch (type) {
    case SENSITIVE_EMAIL: {
        const char *at = memchr(v, '@', n);
        if (!at) {
            put_stars(&s, 3);
            break;
        }
        put_bytes(&s, v, 1);
        put_stars(&s, 3);
        put_bytes(&s, at, n - (size_t)(at - v));
        break;
    }
    case SENSITIVE_CREDIT_CARD:
    case SENSITIVE_IBAN: {
        char compact[40];
        size_t k = 0;
        for (size_t i = 0; i < n && k < sizeof compact; i++)
            if (v[i] != ' ' && v[i] != '-')
                compact[k++] = v[i];
        mask_ends(&s, compact, k);
        break;
    }
    case SENSITIVE_SSN:
        put_bytes(&s, "***-**-", 7);
        put_bytes(&s, n >= 4 ? v + n - 4 : v, n >= 4 ? 4 : 0);
        break;
    case SENSITIVE_PHONE: {
        size_t digits = 0;
        for (size_t i = 0; i < n; i++)
            digits += is_digit((uint8_t)v[i]);
        size_t seen = 0;
        for (size_t i = 0; i < n; i++) {
            int d = is_digit((uint8_t)v[i]);
            seen += (size_t)d;
            put(&s, d && seen + 2 <= digits ? '*' : v[i]);
        }
        break;
    }
    case SENSITIVE_PASSWORD:
        put_stars(&s, 8);
        break;
    case SENSITIVE_PASSWORD_HASH: {
        /* Keep the scheme and parameters: up to the '$' before the salt
         * (bcrypt: before salt+hash, one field). */
        size_t dollars[8];
        size_t count = 0;
        for (size_t i = 0; i < n && count < 8; i++)
            if (v[i] == '$')
                dollars[count++] = i;
        size_t keep = 0;
        if (n > 2 && v[0] == '$' && v[1] == '2' && count >= 3)
            keep = dollars[count - 1] + 1;
        else if (count >= 2)
            keep = dollars[count - 2] + 1;
        put_bytes(&s, v, keep);
        put_stars(&s, 3);
        break;
    }
    case SENSITIVE_JWT: {
        const char *dot = memchr(v, '.', n);
        size_t header = dot ? (size_t)(dot - v) : 0;
        if (header > SENSITIVE_SAMPLE_MAX - 10)
            header = SENSITIVE_SAMPLE_MAX - 10;
        put_bytes(&s, v, header);
        put_bytes(&s, ".***.***", 8);
        break;
    }
    case SENSITIVE_API_KEY:
    case SENSITIVE_ACCESS_TOKEN:
        mask_secret(&s, v, n);
        break;
    case SENSITIVE_PRIVATE_KEY:
        put_bytes(&s, v, n);
        break;
    case SENSITIVE_TYPE_COUNT:
        break;
    }
    out[s.len] = '\0';
}

/* --------------------------------------------------------------- triggers */

typedef enum {
    RULE_EMAIL,
    RULE_PHONE_INTERNATIONAL,
    RULE_PASSWORD_HASH,
    RULE_JWT,
    RULE_PRIVATE_KEY,
    RULE_KEY,       /* literal prefix, then a run of key characters */
    RULE_FIELD_NAME /* part of a field name that check_named_value knows */
} rule_kind;

static int is_upper_or_digit(uint8_t c) {
    return is_upper(c) || is_digit(c);
}

/* Every pattern is a literal or nearly so: Hyperscan runs such sets at
 * several GB/s, while each pattern led by a character class ("\d{4}\b",
 * "[A-Z]{2}\d\d") costs a pass of its own at about 1 GB/s. Digit runs
 * (cards, SSNs, national phones, IBANs) are found by scan_digit_runs. */
typedef struct trigger {
    const char *pattern;
    rule_kind rule;
    uint8_t type;             /* sensitive_type */
    uint8_t back;             /* match end - back = candidate start */
    uint8_t min_len, max_len; /* RULE_KEY: key characters after the prefix (max 0: any) */
    int (*key_char)(uint8_t); /* RULE_KEY */
} trigger;

static const trigger triggers[] = {
    {"@", RULE_EMAIL, SENSITIVE_EMAIL, 1, 0, 0, NULL},
    {"\\+[1-9]", RULE_PHONE_INTERNATIONAL, SENSITIVE_PHONE, 2, 0, 0, NULL},
    {"\\$2[abxy]\\$\\d\\d\\$", RULE_PASSWORD_HASH, SENSITIVE_PASSWORD_HASH, 7, 0, 0, NULL},
    {"\\$2\\$\\d\\d\\$", RULE_PASSWORD_HASH, SENSITIVE_PASSWORD_HASH, 6, 0, 0, NULL},
    {"\\$argon2id\\$", RULE_PASSWORD_HASH, SENSITIVE_PASSWORD_HASH, 10, 0, 0, NULL},
    {"\\$argon2[id]\\$", RULE_PASSWORD_HASH, SENSITIVE_PASSWORD_HASH, 9, 0, 0, NULL},
    {"\\$[56]\\$", RULE_PASSWORD_HASH, SENSITIVE_PASSWORD_HASH, 3, 0, 0, NULL},
    {"pbkdf2_sha256\\$", RULE_PASSWORD_HASH, SENSITIVE_PASSWORD_HASH, 14, 0, 0, NULL},
    {"pbkdf2_sha1\\$", RULE_PASSWORD_HASH, SENSITIVE_PASSWORD_HASH, 12, 0, 0, NULL},
    {"\\$pbkdf2-sha(?:256|512)\\$", RULE_PASSWORD_HASH, SENSITIVE_PASSWORD_HASH, 15, 0, 0, NULL},
    {"\\$pbkdf2\\$", RULE_PASSWORD_HASH, SENSITIVE_PASSWORD_HASH, 8, 0, 0, NULL},
    {"eyJ", RULE_JWT, SENSITIVE_JWT, 3, 0, 0, NULL},
    {"-----BEGIN ", RULE_PRIVATE_KEY, SENSITIVE_PRIVATE_KEY, 11, 0, 0, NULL},
    {"(?:sk|rk)_(?:live|test)_", RULE_KEY, SENSITIVE_API_KEY, 8, 16, 0, is_b64url},
    {"pk_live_", RULE_KEY, SENSITIVE_API_KEY, 8, 16, 0, is_b64url},
    {"github_pat_", RULE_KEY, SENSITIVE_API_KEY, 11, 22, 0, is_b64url},
    {"xox[abprs]-", RULE_KEY, SENSITIVE_API_KEY, 5, 10, 0, is_b64url},
    {"AKIA", RULE_KEY, SENSITIVE_API_KEY, 4, 16, 16, is_upper_or_digit},
    {"ASIA", RULE_KEY, SENSITIVE_API_KEY, 4, 16, 16, is_upper_or_digit},
    {"gh[pousr]_", RULE_KEY, SENSITIVE_API_KEY, 4, 36, 36, is_alnum},
    {"AIza", RULE_KEY, SENSITIVE_API_KEY, 4, 35, 35, is_b64url},
    /* Field names: a JSON body is walked for its named values only when
     * one of these matched (caseless). Every name of field_names contains
     * one of them as written with its usual separators ("Pass-Phrase",
     * "x-api-key", "social_security_number"); a name whose separators split
     * the word itself ("p_w_d") is not looked for. Literals keep the
     * database on Hyperscan's fast path: the same words with optional
     * separators between letters scan about four times slower. (Member
     * names are compared as written, escapes undecoded.) */
    {"pass", RULE_FIELD_NAME, 0, 0, 0, 0, NULL},
    {"pwd", RULE_FIELD_NAME, 0, 0, 0, 0, NULL},
    {"secret", RULE_FIELD_NAME, 0, 0, 0, 0, NULL},
    {"token", RULE_FIELD_NAME, 0, 0, 0, 0, NULL},
    {"jwt", RULE_FIELD_NAME, 0, 0, 0, 0, NULL},
    {"api[-_ ]*[kt]", RULE_FIELD_NAME, 0, 0, 0, 0, NULL},
    {"ssn", RULE_FIELD_NAME, 0, 0, 0, 0, NULL},
    {"social[-_ ]*s", RULE_FIELD_NAME, 0, 0, 0, 0, NULL},
};

#define TRIGGER_COUNT (sizeof triggers / sizeof triggers[0])

struct sensitive_db {
    hs_database_t *database;
};

as_status sensitive_db_create(sensitive_db **out) {
    *out = NULL;
    if (hs_valid_platform() != HS_SUCCESS)
        return AS_ERR_UNSUPPORTED;
    sensitive_db *db = calloc(1, sizeof *db);
    if (!db)
        return AS_ERR_NOMEM;
    const char *patterns[TRIGGER_COUNT];
    unsigned flags[TRIGGER_COUNT];
    unsigned ids[TRIGGER_COUNT];
    for (unsigned i = 0; i < TRIGGER_COUNT; i++) {
        patterns[i] = triggers[i].pattern;
        flags[i] = triggers[i].rule == RULE_FIELD_NAME ? HS_FLAG_CASELESS | HS_FLAG_SINGLEMATCH : 0;
        ids[i] = i;
    }
    hs_compile_error_t *error = NULL;
    if (hs_compile_multi(patterns, flags, ids, (unsigned)TRIGGER_COUNT, HS_MODE_BLOCK, NULL,
                         &db->database, &error) != HS_SUCCESS) {
        hs_free_compile_error(error);
        free(db);
        return AS_ERR_INTERNAL;
    }
    *out = db;
    return AS_OK;
}

void sensitive_db_destroy(sensitive_db *db) {
    if (!db)
        return;
    hs_free_database(db->database);
    free(db);
}

/* ----------------------------------------------------------------- worker */

struct sensitive_worker {
    const sensitive_db *db;
    hs_scratch_t *scratch;
    json_fields_walker *walker; /* used when the caller brings none */
    size_t scan_bytes;          /* sensitive_scan_bytes */
    char *decoded;              /* scan_bytes: decoded query, form and header text */
    char *pair;                 /* scan_bytes: one decoded pair */
    sensitive_stats stats;
};

as_status sensitive_worker_create(const sensitive_db *db, const limits *lim,
                                  sensitive_worker **out) {
    *out = NULL;
    sensitive_worker *w = calloc(1, sizeof *w);
    if (!w)
        return AS_ERR_NOMEM;
    w->db = db;
    w->scan_bytes = (size_t)lim->sensitive_scan_bytes;
    w->decoded = malloc(w->scan_bytes + 1);
    w->pair = malloc(w->scan_bytes + 1);
    as_status st = w->decoded && w->pair ? AS_OK : AS_ERR_NOMEM;
    if (st == AS_OK && hs_alloc_scratch(db->database, &w->scratch) != HS_SUCCESS)
        st = AS_ERR_NOMEM;
    if (st == AS_OK)
        st = json_fields_walker_create(lim, &w->walker);
    if (st != AS_OK) {
        sensitive_worker_destroy(w);
        return st;
    }
    *out = w;
    return AS_OK;
}

void sensitive_worker_destroy(sensitive_worker *w) {
    if (!w)
        return;
    hs_free_scratch(w->scratch);
    json_fields_walker_destroy(w->walker);
    free(w->decoded);
    free(w->pair);
    free(w);
}

void sensitive_stats_add(sensitive_stats *into, const sensitive_stats *from) {
    into->parts += from->parts;
    into->bytes += from->bytes;
    into->truncated += from->truncated;
    into->candidates += from->candidates;
    into->json_walks += from->json_walks;
    for (int i = 0; i < SENSITIVE_TYPE_COUNT; i++)
        into->found[i] += from->found[i];
}

sensitive_stats sensitive_worker_get_stats(const sensitive_worker *w) {
    return w->stats;
}

static void found_add(sensitive_worker *w, sensitive_found *found, sensitive_type type,
                      const char *value, size_t len) {
    if (found->types & SENSITIVE_BIT(type))
        return;
    found->types |= SENSITIVE_BIT(type);
    w->stats.found[type]++;
    sensitive_mask(type, value, len, found->sample[type]);
}

/* ------------------------------------------------------------- validation */

typedef struct scan_ctx {
    sensitive_worker *w;
    const uint8_t *data;
    size_t len;
    sensitive_found *found;
    int field_name; /* a RULE_FIELD_NAME trigger matched */
    int jwt_value;  /* a RULE_JWT trigger matched */
} scan_ctx;

static void confirm(scan_ctx *s, sensitive_type type, size_t start, size_t end,
                    int (*valid)(const char *, size_t)) {
    const char *p = (const char *)s->data + start;
    if (end > start && valid(p, end - start))
        found_add(s->w, s->found, type, p, end - start);
}

static void confirm_iban(scan_ctx *s, size_t start) {
    const uint8_t *d = s->data;
    int want = iban_length((const char *)d + start);
    if (!want || (start > 0 && is_alnum(d[start - 1])))
        return;
    int spaced = d[start + 4] == ' ';
    size_t i = start;
    int chars = 0;
    while (i < s->len && chars < want) {
        if (is_upper(d[i]) || is_digit(d[i])) {
            chars++;
            i++;
        } else if (spaced && d[i] == ' ' && chars % 4 == 0 && i + 1 < s->len &&
                   (is_upper(d[i + 1]) || is_digit(d[i + 1]))) {
            i++;
        } else {
            break;
        }
    }
    if (chars == want && (i == s->len || !is_alnum(d[i])))
        confirm(s, SENSITIVE_IBAN, start, i, sensitive_iban_valid);
}

static void confirm_phone_international(scan_ctx *s, size_t start) {
    const uint8_t *d = s->data;
    if (start > 0 && (is_alnum(d[start - 1]) || d[start - 1] == '+' || d[start - 1] == '/' ||
                      d[start - 1] == '=' || d[start - 1] == '.'))
        return;
    size_t i = start + 1;
    size_t end = i;
    while (i < s->len && i - start < 24) {
        uint8_t c = d[i];
        if (is_digit(c))
            end = i + 1;
        else if (c != ' ' && c != '-' && c != '.' && c != '(' && c != ')')
            break;
        i++;
    }
    if (end < s->len && (is_alnum(d[end]) || d[end] == '+' || d[end] == '/' || d[end] == '_'))
        return;
    /* Within limit but the run went on: an id or a longer number. */
    if (i - start == 24 && is_digit(d[i - 1]))
        return;
    confirm(s, SENSITIVE_PHONE, start, end, sensitive_phone_valid);
}

/* A value made of token characters starting at start; returns its end. */
static size_t token_end(const scan_ctx *s, size_t start, int (*in_class)(uint8_t)) {
    size_t i = start;
    while (i < s->len && in_class(s->data[i]))
        i++;
    return i;
}

/* End of header.payload.signature starting at start (start when not one). */
static size_t jwt_end(const scan_ctx *s, size_t start) {
    size_t e = start;
    for (int segment = 0; segment < 3; segment++) {
        e += b64url_span((const char *)s->data + e, s->len - e);
        if (segment < 2) {
            if (e >= s->len || s->data[e] != '.')
                return start;
            e++;
        }
    }
    return e;
}

static int is_hash_char(uint8_t c) {
    return is_crypt64(c) || c == '$' || c == '+' || c == '=' || c == ',' || c == '-' || c == '_';
}

static void confirm_private_key(scan_ctx *s, size_t start, size_t to) {
    static const char tail[] = "PRIVATE KEY-----";
    size_t i = to;
    while (i < s->len && i - to < 32 &&
           (is_upper(s->data[i]) || is_digit(s->data[i]) || s->data[i] == ' '))
        i++;
    /* The scan stopped at the 'P' of "PRIVATE" only if that word started
     * right after the previous space; back up to it. */
    size_t p = to;
    for (size_t k = to; k < i; k++)
        if (k == to || s->data[k - 1] == ' ')
            if (i - k >= 7 && memcmp(s->data + k, "PRIVATE", 7) == 0)
                p = k;
    if (p + sizeof tail - 1 <= s->len && memcmp(s->data + p, tail, sizeof tail - 1) == 0)
        found_add(s->w, s->found, SENSITIVE_PRIVATE_KEY, (const char *)s->data + start,
                  p + sizeof tail - 1 - start);
}

static void confirm_email(scan_ctx *s, size_t at) {
    const uint8_t *d = s->data;
    size_t b = at;
    while (b > 0 && at - b < 64 && is_local_char(d[b - 1]))
        b--;
    while (b < at && (d[b] == '.' || d[b] == '-' || d[b] == '+'))
        b++;
    size_t e = at + 1;
    while (e < s->len && e - at < 254 && is_domain_char(d[e]))
        e++;
    while (e > at + 1 && (d[e - 1] == '.' || d[e - 1] == '-'))
        e--;
    confirm(s, SENSITIVE_EMAIL, b, e, sensitive_email_valid);
}

static int on_match(unsigned int id, unsigned long long from, unsigned long long to,
                    unsigned int flags, void *arg) {
    (void)from;
    (void)flags;
    scan_ctx *s = arg;
    const trigger *t = &triggers[id];
    if (t->rule == RULE_FIELD_NAME) {
        s->field_name = 1;
        return 0;
    }
    if (t->rule == RULE_JWT)
        s->jwt_value = 1;
    if (s->found->types & SENSITIVE_BIT(t->type))
        return 0;
    s->w->stats.candidates++;
    size_t end = (size_t)to;
    size_t start = end - t->back;
    const uint8_t *d = s->data;
    switch (t->rule) {
    case RULE_EMAIL:
        confirm_email(s, start);
        break;
    case RULE_PHONE_INTERNATIONAL:
        confirm_phone_international(s, start);
        break;
    case RULE_PASSWORD_HASH:
        /* "$..." formats delimit themselves; "pbkdf2_..." must start a word */
        if (start == 0 || !is_b64url(d[start - 1]) || d[start] == '$')
            confirm(s, SENSITIVE_PASSWORD_HASH, start, token_end(s, start, is_hash_char),
                    sensitive_password_hash_valid);
        break;
    case RULE_JWT:
        if (start == 0 || (!is_b64url(d[start - 1]) && d[start - 1] != '.'))
            confirm(s, SENSITIVE_JWT, start, jwt_end(s, start), jwt_taken_valid);
        break;
    case RULE_PRIVATE_KEY:
        confirm_private_key(s, start, end);
        break;
    case RULE_FIELD_NAME:
        break;
    case RULE_KEY: {
        size_t e = token_end(s, end, t->key_char);
        size_t n = e - end;
        if ((start == 0 || !is_b64url(d[start - 1])) && n >= t->min_len &&
            (t->max_len == 0 || (n == t->max_len && (e == s->len || !is_b64url(d[e])))))
            found_add(s->w, s->found, SENSITIVE_API_KEY, (const char *)d + start, e - start);
        break;
    }
    }
    return 0;
}

/* ------------------------------------------------------------- digit runs */

/* A character that makes a digit run part of a word or a longer token. */
static int joins_number(uint8_t c) {
    return is_alpha(c) || c == '_' || c == '.' || c == '-' || c == '+' || c == '/';
}

/* "(NPA) NXX-XXXX" or "(NPA)NXX-XXXX" around the 3-digit run [start, end). */
static void confirm_parenthesised_phone(scan_ctx *s, size_t start, size_t end) {
    const uint8_t *d = s->data;
    size_t p = end + 1;
    if (p < s->len && d[p] == ' ')
        p++;
    if (p + 8 > s->len || d[p + 3] != '-' || (p + 8 < s->len && is_alnum(d[p + 8])))
        return;
    confirm(s, SENSITIVE_PHONE, start - 1, p + 8, sensitive_phone_valid);
}

/* One run of digits joined by single spaces, dashes or dots: [start, end)
 * holds `digits` digits, the last separator-free group starts at last_group. */
static void on_digit_run(scan_ctx *s, size_t start, size_t end, size_t digits, size_t last_group) {
    const uint8_t *d = s->data;
    /* "(NPA) NXX-XXXX": the NPA's three digits are a run of their own */
    size_t close = start > 0 && d[start - 1] == ' ' ? start - 1 : start;
    if (close >= 5 && d[close - 1] == ')' && d[close - 5] == '(' && is_digit(d[close - 4]) &&
        is_digit(d[close - 3]) && is_digit(d[close - 2]) &&
        !(s->found->types & SENSITIVE_BIT(SENSITIVE_PHONE)))
        confirm_parenthesised_phone(s, close - 4, close - 1);
    uint32_t have = s->found->types;
    uint8_t before = start > 0 ? d[start - 1] : ' ';
    uint8_t after = end < s->len ? d[end] : ' ';
    /* An IBAN starts with two capitals and the check digits. */
    if (!(have & SENSITIVE_BIT(SENSITIVE_IBAN)) && start >= 2 && is_upper(d[start - 2]) &&
        is_upper(d[start - 1]))
        confirm_iban(s, start - 2);
    if (joins_number(before) || is_alpha(after) || after == '_')
        return;
    size_t len = end - start;
    if (!(have & SENSITIVE_BIT(SENSITIVE_CREDIT_CARD)) && digits >= 13) {
        s->w->stats.candidates++;
        if (digits <= 19)
            confirm(s, SENSITIVE_CREDIT_CARD, start, end, sensitive_card_valid);
        if (!(s->found->types & SENSITIVE_BIT(SENSITIVE_CREDIT_CARD)) && last_group > start &&
            end - last_group >= 13)
            confirm(s, SENSITIVE_CREDIT_CARD, last_group, end, sensitive_card_valid);
    }
    if (!(have & SENSITIVE_BIT(SENSITIVE_SSN)) && len == 11 && digits == 9 && d[start + 3] == '-' &&
        d[start + 6] == '-')
        confirm(s, SENSITIVE_SSN, start, end, sensitive_ssn_valid);
    if (have & SENSITIVE_BIT(SENSITIVE_PHONE))
        return;
    if (len == 12 && digits == 10 && (d[start + 3] == '-' || d[start + 3] == '.') &&
        d[start + 7] == d[start + 3])
        confirm(s, SENSITIVE_PHONE, start, end, sensitive_phone_valid);
}

static int is_run_separator(uint8_t c) {
    return c == ' ' || c == '-' || c == '.';
}

#ifdef __SSE2__
/* Bit k set when byte k of the sixteen at p is a digit. */
static uint32_t digit_mask16(const uint8_t *p) {
    return range_mask16(_mm_loadu_si128((const __m128i *)(const void *)p), '0', '9');
}
#else
/* The bytes '0'..'9' of eight bytes: their top bits set, the others clear
 * (no carry crosses a byte; bytes >= 0x80 are excluded by ~x). */
static uint64_t digit_bytes(uint64_t x) {
    const uint64_t ones = 0x0101010101010101u;
    uint64_t low = x & ones * 0x7f;
    return (ones * (0x7f + '9' + 1) - low) & ~x & (low + ones * (0x7f - ('0' - 1))) & ones * 0x80;
}
#endif

/* Index of the first of four digits in a row at or after i, or n: every
 * type of the digit pass holds one (a card's group, the SSN's serial, a
 * phone's line number, an IBAN's digits), and most numbers in bodies
 * (prices, counts, small ids) do not. Sixteen bytes per step with SSE2
 * (the last three digit bits of a step carry into the next), else eight
 * bytes per load and five window starts per step. */
static size_t next_digit_group(const uint8_t *d, size_t i, size_t n) {
    size_t run = 0; /* digits in a row just before i */
#ifdef __SSE2__
    uint32_t carry = 0; /* digit bits of bytes i-3..i-1 */
    for (; i + 16 <= n; i += 16) {
        uint32_t m = digit_mask16(d + i);
        uint32_t bits = m << 3 | carry; /* bit b: byte i + b - 3 */
        uint32_t group = bits & bits >> 1 & bits >> 2 & bits >> 3;
        if (group)
            return i + (size_t)__builtin_ctz(group) - 3;
        carry = m >> 13;
    }
    run = carry == 7 ? 3 : carry >= 6 ? 2 : carry >= 4 ? 1 : 0;
#else
    for (; i + 8 <= n; i += 5) {
        uint64_t x;
        memcpy(&x, d + i, sizeof x);
        uint64_t m = digit_bytes(le64toh(x));
        m &= m >> 8;
        m &= m >> 16;
        if (m)
            return i + (size_t)__builtin_ctzll(m) / 8;
    }
#endif
    for (; i < n; i++) {
        run = is_digit(d[i]) ? run + 1 : 0;
        if (run == 4)
            return i - 3;
    }
    return n;
}

/* Cards, SSNs, national phones and IBANs all hold a run of digits with
 * four in a row; one pass finds those runs (digits joined by single
 * separators, taken whole from their first digit) and hands each to
 * on_digit_run. */
static void scan_digit_runs(scan_ctx *s) {
    const uint8_t *d = s->data;
    size_t n = s->len;
    size_t i = 0;
    while (i < n) {
        size_t group = next_digit_group(d, i, n);
        if (group == n)
            break;
        size_t start = group; /* back to the run's first digit, not before i */
        while (start > i &&
               (is_digit(d[start - 1]) ||
                (start - 1 > i && is_run_separator(d[start - 1]) && is_digit(d[start - 2]))))
            start -= is_digit(d[start - 1]) ? 1 : 2;
        i = start;
        size_t last_group = i;
        size_t digits = 0;
        while (i < n) {
            if (is_digit(d[i])) {
                digits++;
                i++;
            } else if (is_run_separator(d[i]) && i + 1 < n && is_digit(d[i + 1])) {
                i++;
                last_group = i;
            } else {
                break;
            }
        }
        on_digit_run(s, start, i, digits, last_group);
    }
}

/* ------------------------------------------------------------ pattern scan */

enum { SAW_FIELD_NAME = 1, SAW_JWT = 2 };

/* Scans data for the triggers and digit runs; SAW_* of the field-name and
 * JWT triggers that matched (see triggers[]). */
static int scan_patterns(sensitive_worker *w, const uint8_t *data, size_t len,
                         sensitive_found *found) {
    if (len == 0)
        return 0;
    scan_ctx s = {w, data, len, found, 0, 0};
    hs_scan(w->db->database, (const char *)data, (unsigned)len, 0, w->scratch, on_match, &s);
    scan_digit_runs(&s);
    return (s.field_name ? SAW_FIELD_NAME : 0) | (s.jwt_value ? SAW_JWT : 0);
}

static uint32_t hints_of(int saw) {
    return saw ? SENSITIVE_HINT_CREDENTIAL : 0;
}

/* Cuts a part at sensitive_scan_bytes and counts it; 0 = scanning is off. */
static size_t bound_part(sensitive_worker *w, size_t len, sensitive_found *found,
                         anomaly_counters *anomalies) {
    if (w->scan_bytes == 0)
        return 0;
    w->stats.parts++;
    if (len > w->scan_bytes) {
        len = w->scan_bytes;
        found->truncated = 1;
        w->stats.truncated++;
        anomaly_count(anomalies, ANOMALY_SENSITIVE_TRUNCATED);
    }
    w->stats.bytes += len;
    return len;
}

void sensitive_scan_text(sensitive_worker *w, const uint8_t *data, size_t len,
                         sensitive_found *found) {
    len = bound_part(w, len, found, NULL);
    scan_patterns(w, data, len, found);
}

/* ------------------------------------------------------------- name rules */

typedef enum { NAME_OTHER, NAME_PASSWORD, NAME_TOKEN, NAME_API_KEY, NAME_SSN } name_class;

/* Field names compared lower case without '_', '-' and spaces, so
 * "access_token", "accessToken" and "Access-Token" are one name. */
#define FIELD_NAME(name, cls)                                                                      \
    { name, sizeof name - 1, cls }

static const struct {
    const char *name;
    uint8_t len;
    name_class cls;
} field_names[] = {
    FIELD_NAME("password", NAME_PASSWORD),
    FIELD_NAME("passwd", NAME_PASSWORD),
    FIELD_NAME("pwd", NAME_PASSWORD),
    FIELD_NAME("pass", NAME_PASSWORD),
    FIELD_NAME("secret", NAME_PASSWORD),
    FIELD_NAME("passphrase", NAME_PASSWORD),
    FIELD_NAME("newpassword", NAME_PASSWORD),
    FIELD_NAME("oldpassword", NAME_PASSWORD),
    FIELD_NAME("currentpassword", NAME_PASSWORD),
    FIELD_NAME("confirmpassword", NAME_PASSWORD),
    FIELD_NAME("passwordconfirmation", NAME_PASSWORD),
    FIELD_NAME("clientsecret", NAME_PASSWORD),
    FIELD_NAME("accesstoken", NAME_TOKEN),
    FIELD_NAME("refreshtoken", NAME_TOKEN),
    FIELD_NAME("idtoken", NAME_TOKEN),
    FIELD_NAME("token", NAME_TOKEN),
    FIELD_NAME("authtoken", NAME_TOKEN),
    FIELD_NAME("sessiontoken", NAME_TOKEN),
    FIELD_NAME("xauthtoken", NAME_TOKEN),
    FIELD_NAME("xaccesstoken", NAME_TOKEN),
    FIELD_NAME("jwt", NAME_TOKEN),
    FIELD_NAME("apikey", NAME_API_KEY),
    FIELD_NAME("xapikey", NAME_API_KEY),
    FIELD_NAME("apitoken", NAME_API_KEY),
    FIELD_NAME("ssn", NAME_SSN),
    FIELD_NAME("socialsecuritynumber", NAME_SSN),
};

static name_class classify_name(const char *name, size_t len) {
    /* Most member names are none of these: reject on length first. */
    if (len < 3 || len > 32)
        return NAME_OTHER;
    char folded[24];
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = (uint8_t)name[i];
        if (c == '_' || c == '-' || c == ' ')
            continue;
        if (n == sizeof folded || !is_alnum(c))
            return NAME_OTHER;
        folded[n++] = (char)lower(c);
    }
    for (size_t i = 0; i < sizeof field_names / sizeof field_names[0]; i++)
        if (field_names[i].len == n && memcmp(field_names[i].name, folded, n) == 0)
            return field_names[i].cls;
    return NAME_OTHER;
}

/* An opaque credential: 16+ token characters with letters and digits. */
static int token_like(const char *v, size_t len) {
    if (len < 16 || len > 4096)
        return 0;
    int letters = 0;
    int digits = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = (uint8_t)v[i];
        if (is_alpha(c))
            letters = 1;
        else if (is_digit(c))
            digits = 1;
        else if (!strchr("-._~+/=", c))
            return 0;
    }
    return letters && digits;
}

/* A placeholder rather than a password: "********", "xxxx", "•••". */
static int masked_value(const char *v, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (v[i] != '*' && v[i] != 'x' && v[i] != 'X' && v[i] != '.' && (uint8_t)v[i] < 0x80)
            return 0;
    return 1;
}

/* A named value: adds what its name says it is, when the value agrees. */
static void check_named_value(sensitive_worker *w, const char *name, size_t name_len, const char *v,
                              size_t len, sensitive_found *found) {
    switch (classify_name(name, name_len)) {
    case NAME_PASSWORD:
        if (len == 0 || masked_value(v, len))
            break;
        if (sensitive_password_hash_valid(v, len))
            found_add(w, found, SENSITIVE_PASSWORD_HASH, v, len);
        else if (!sensitive_jwt_valid(v, len))
            found_add(w, found, SENSITIVE_PASSWORD, v, len);
        break;
    case NAME_TOKEN:
    case NAME_API_KEY:
        if (sensitive_jwt_valid(v, len))
            found_add(w, found, SENSITIVE_JWT, v, len);
        else if (token_like(v, len))
            found_add(w, found,
                      classify_name(name, name_len) == NAME_TOKEN ? SENSITIVE_ACCESS_TOKEN
                                                                  : SENSITIVE_API_KEY,
                      v, len);
        break;
    case NAME_SSN:
        if (sensitive_ssn_valid(v, len))
            found_add(w, found, SENSITIVE_SSN, v, len);
        break;
    case NAME_OTHER:
        break;
    }
}

/* ------------------------------------------------------------------ bodies */

typedef struct json_ctx {
    sensitive_worker *w;
    sensitive_found *found;
} json_ctx;

static void on_json_value(void *arg, const json_value_event *ev) {
    json_ctx *c = arg;
    if (ev->kind == JSON_KIND_STRING && str_view_present(ev->key))
        check_named_value(c->w, ev->key.ptr, ev->key.len, ev->value.ptr, ev->value.len, c->found);
}

/* Case-insensitive prefix test on a media type. */
static int media_is(str_view type, const char *prefix) {
    size_t n = strlen(prefix);
    if (type.len < n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower((uint8_t)type.ptr[i]) != (uint8_t)prefix[i])
            return 0;
    return 1;
}

static int media_is_json(str_view type) {
    if (media_is(type, "application/json") || media_is(type, "text/json"))
        return 1;
    /* application/problem+json, application/vnd.api+json; parameters may follow */
    for (uint32_t i = 0; i + 5 <= type.len; i++) {
        if (type.ptr[i] == ';')
            break;
        if (type.ptr[i] == '+' && media_is((str_view){type.ptr + i, type.len - i}, "+json"))
            return 1;
    }
    return 0;
}

/* Appends to w->decoded what fits of n bytes. */
static void append_decoded(sensitive_worker *w, size_t *out, const char *p, size_t n) {
    size_t room = w->scan_bytes - *out;
    if (n > room)
        n = room;
    if (n)
        memcpy(w->decoded + *out, p, n);
    *out += n;
}

/* Decoded pairs, written "name=value\n" into w->decoded for the pattern
 * scan; returns the decoded length. */
static size_t scan_pairs(sensitive_worker *w, const char *text, size_t len,
                         sensitive_found *found) {
    urlencoded_iter it = urlencoded_begin(text, len);
    urlencoded_pair pair;
    size_t out = 0;
    while (out < w->scan_bytes && urlencoded_next(&it, w->pair, w->scan_bytes, &pair)) {
        if (str_view_present(pair.value))
            check_named_value(w, pair.name.ptr, pair.name.len, pair.value.ptr, pair.value.len,
                              found);
        append_decoded(w, &out, pair.name.ptr, pair.name.len);
        append_decoded(w, &out, "=", 1);
        append_decoded(w, &out, pair.value.ptr, pair.value.len);
        append_decoded(w, &out, "\n", 1);
    }
    return out;
}

static int first_byte_is(const uint8_t *data, size_t len, const char *set) {
    for (size_t i = 0; i < len; i++) {
        if (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n')
            continue;
        return strchr(set, data[i]) != NULL;
    }
    return 0;
}

void sensitive_scan_body(sensitive_worker *w, str_view content_type, const uint8_t *data,
                         size_t len, json_fields_walker *walker, sensitive_found *found,
                         anomaly_counters *anomalies) {
    if (len == 0 || media_is(content_type, "image/") || media_is(content_type, "audio/") ||
        media_is(content_type, "video/") || media_is(content_type, "font/"))
        return;
    size_t whole = len;
    len = bound_part(w, len, found, anomalies);
    if (len == 0)
        return;
    if (media_is(content_type, "application/x-www-form-urlencoded")) {
        size_t n = scan_pairs(w, (const char *)data, len, found);
        found->hints |= hints_of(scan_patterns(w, (const uint8_t *)w->decoded, n, found));
        return;
    }
    int saw = scan_patterns(w, data, len, found);
    found->hints |= hints_of(saw) | (len == whole ? SENSITIVE_HINT_SCANNED : 0);
    /* Clients often send JSON as text/plain or without a type: sniff those. */
    int untyped = !str_view_present(content_type) || media_is(content_type, "text/plain") ||
                  media_is(content_type, "application/octet-stream");
    int json = media_is_json(content_type) || (untyped && first_byte_is(data, len, "{["));
    if (json && (saw & SAW_FIELD_NAME)) {
        w->stats.json_walks++;
        json_ctx ctx = {w, found};
        json_fields_walker_run(walker ? walker : w->walker, data, len, on_json_value, &ctx,
                               anomalies);
    }
}

void sensitive_scan_query(sensitive_worker *w, const char *query, size_t len,
                          sensitive_found *found) {
    if (len == 0)
        return;
    len = bound_part(w, len, found, NULL);
    size_t n = scan_pairs(w, query, len, found);
    scan_patterns(w, (const uint8_t *)w->decoded, n, found);
}

static int ascii_case_equal(str_view v, const char *s) {
    size_t n = strlen(s);
    if (v.len != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower((uint8_t)v.ptr[i]) != (uint8_t)s[i])
            return 0;
    return 1;
}

/* Header-name rules: bearer credentials and key headers. */
static void check_header(sensitive_worker *w, const http_header_view *h, sensitive_found *found) {
    if (!str_view_present(h->name) || !str_view_present(h->value))
        return;
    if (ascii_case_equal(h->name, "authorization") ||
        ascii_case_equal(h->name, "proxy-authorization")) {
        str_view v = h->value;
        if (v.len > 7 && media_is(v, "bearer ")) {
            const char *t = v.ptr + 7;
            size_t n = v.len - 7;
            while (n > 0 && *t == ' ')
                t++, n--;
            if (sensitive_jwt_valid(t, n))
                found_add(w, found, SENSITIVE_JWT, t, n);
            else if (token_like(t, n))
                found_add(w, found, SENSITIVE_ACCESS_TOKEN, t, n);
        }
        return;
    }
    check_named_value(w, h->name.ptr, h->name.len, h->value.ptr, h->value.len, found);
}

void sensitive_scan_headers(sensitive_worker *w, const http_header_view *headers, uint32_t count,
                            sensitive_found *found) {
    if (w->scan_bytes == 0)
        return;
    size_t out = 0;
    int cut = 0;
    for (uint32_t i = 0; i < count; i++) {
        const http_header_view *h = &headers[i];
        check_header(w, h, found);
        if ((size_t)h->name.len + 2 + h->value.len + 1 > w->scan_bytes - out)
            cut = 1;
        append_decoded(w, &out, h->name.ptr, h->name.len);
        append_decoded(w, &out, ": ", 2);
        append_decoded(w, &out, h->value.ptr, h->value.len);
        append_decoded(w, &out, "\n", 1);
    }
    w->stats.parts++;
    w->stats.bytes += out;
    if (cut) {
        found->truncated = 1;
        w->stats.truncated++;
    }
    scan_patterns(w, (const uint8_t *)w->decoded, out, found);
}

void sensitive_scan_transaction(sensitive_worker *w, const http_transaction *tx,
                                sensitive_found found[SENSITIVE_LOCATION_COUNT],
                                anomaly_counters *anomalies) {
    for (int i = 0; i < SENSITIVE_LOCATION_COUNT; i++)
        sensitive_found_clear(&found[i]);
    const http_message *req = &tx->request;
    if (req->present) {
        sensitive_scan_headers(w, req->headers, req->header_count,
                               &found[SENSITIVE_IN_REQUEST_HEADERS]);
        if (req->body)
            sensitive_scan_body(w, req->content_type, req->body, req->body_len, NULL,
                                &found[SENSITIVE_IN_REQUEST_BODY], anomalies);
    }
    if (str_view_present(tx->uri)) {
        const char *q = memchr(tx->uri.ptr, '?', tx->uri.len);
        if (q) {
            size_t n = tx->uri.len - (size_t)(q + 1 - tx->uri.ptr);
            const char *hash = memchr(q + 1, '#', n);
            if (hash)
                n = (size_t)(hash - q - 1);
            sensitive_scan_query(w, q + 1, n, &found[SENSITIVE_IN_QUERY]);
        }
    }
    const http_message *resp = &tx->response;
    if (resp->present && resp->body)
        sensitive_scan_body(w, resp->content_type, resp->body, resp->body_len, NULL,
                            &found[SENSITIVE_IN_RESPONSE_BODY], anomalies);
}
