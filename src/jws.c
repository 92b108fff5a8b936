/* SPDX-License-Identifier: MIT */
/*
 * Compact JWS with RS256 (RFC 7515 section 7.1, RFC 7518 section 3.3):
 * minting header.claims.signature, and verifying a token in one fixed
 * order that stops at the first failed check. This file owns the token
 * format and the claim rules. Key lookup belongs to the caller's resolver,
 * and the RSA arithmetic to rsakey.c.
 *
 * Verification order (params->now and params->leeway in Unix seconds):
 *
 *  1. token longer than KR_JWS_TOKEN_MAX ............ too_large
 *  2. not exactly three '.'-separated segments ...... malformed
 *  3. decoded header over KR_JWS_HEADER_MAX or claims
 *     over KR_JWS_CLAIMS_MAX (from the segment lengths,
 *     before anything is decoded) ................... too_large
 *  4. a segment that is not strict base64url (padding,
 *     white space, '+' or '/', other bytes, non-zero
 *     trailing bits) ................................ malformed
 *  5. header not a JSON object, a duplicate member,
 *     typ present and not "JWT" ..................... bad_header
 *     alg not exactly "RS256" (checked before typ) .. alg_not_allowed
 *     crit present .................................. crit_unsupported
 *     kid absent .................................... kid_missing
 *     kid not a string or not a valid key ID ........ kid_unknown
 *  6. resolver: unknown, retired or revoked key ..... kid_unknown,
 *                                                     key_retired,
 *                                                     key_revoked
 *  7. RS256 over ASCII(header "." claims) ........... bad_signature
 *  8. claims not a JSON object, or a duplicate
 *     member ........................................ malformed
 *     a number jansson cannot hold .................. bad_claim
 *  9. exp absent .................................... exp_missing
 *     exp, nbf or iat not a NumericDate (JSON integer
 *     or real in 0..KR_NUMERIC_DATE_MAX), or
 *     exp before iat ................................ bad_claim
 * 10. now >= exp + leeway ........................... expired
 *     nbf > now + leeway ............................ not_yet_valid
 *     iat > now + leeway ............................ iat_in_future
 * 11. with iat: exp - iat > max_lifetime; without
 *     iat: exp - now > max_lifetime + leeway ........ lifetime_too_long
 * 12. params->aud set: aud absent or no element
 *     equal to it ................................... aud_mismatch
 *     aud not a string or an array of strings ....... bad_claim
 *
 * The exp boundary follows RFC 7519 section 4.1.4 ("the current date/time
 * MUST be before the expiration date/time"): with leeway 0, a token whose
 * exp equals now is already expired. nbf (section 4.1.5) allows now == nbf.
 * Claims are parsed only after the signature holds, so nothing an attacker
 * writes into them is looked at before then.
 */
#include "config.h"

#include "jws.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"

/* Largest NumericDate accepted: 9999-12-31T23:59:59Z. */
#define KR_NUMERIC_DATE_MAX 253402300799.0

/* Room for one escaped untrusted value inside a verdict detail. */
#define KR_JWS_ESCAPED_SIZE 80

static const char *const reason_names[KR_REASON_COUNT] = {
    [KR_REASON_NONE] = "none",
    [KR_REASON_MALFORMED] = "malformed",
    [KR_REASON_TOO_LARGE] = "too_large",
    [KR_REASON_BAD_HEADER] = "bad_header",
    [KR_REASON_ALG_NOT_ALLOWED] = "alg_not_allowed",
    [KR_REASON_CRIT_UNSUPPORTED] = "crit_unsupported",
    [KR_REASON_KID_MISSING] = "kid_missing",
    [KR_REASON_KID_UNKNOWN] = "kid_unknown",
    [KR_REASON_KEY_RETIRED] = "key_retired",
    [KR_REASON_KEY_REVOKED] = "key_revoked",
    [KR_REASON_BAD_SIGNATURE] = "bad_signature",
    [KR_REASON_EXP_MISSING] = "exp_missing",
    [KR_REASON_BAD_CLAIM] = "bad_claim",
    [KR_REASON_EXPIRED] = "expired",
    [KR_REASON_NOT_YET_VALID] = "not_yet_valid",
    [KR_REASON_IAT_IN_FUTURE] = "iat_in_future",
    [KR_REASON_LIFETIME_TOO_LONG] = "lifetime_too_long",
    [KR_REASON_AUD_MISMATCH] = "aud_mismatch",
};

const char *
kr_reason_name(kr_reason reason)
{
    if ((unsigned)reason >= KR_REASON_COUNT)
        return "unknown";
    return reason_names[reason];
}

/* The three segments of a compact token and their decoded bytes. The
 * segment pointers borrow from the token, and the decoded buffers are
 * owned. */
typedef struct jws_parts {
    const char *segment[3];
    size_t segment_len[3];
    uint8_t *header;
    size_t header_len;
    uint8_t *claims;
    size_t claims_len;
    uint8_t *signature;
    size_t signature_len;
} jws_parts;

static const char *const segment_names[3] = {"header", "claims", "signature"};

/* Records a rejection in v and returns KR_E_INVALID, which the steps of
 * kr_jws_verify use to mean "verdict reached, stop checking". */
__attribute__((format(printf, 3, 4))) static kr_code
verdict_reject(kr_verdict *v, kr_reason reason, const char *fmt, ...)
{
    va_list ap;

    char *c;

    v->reason = reason;
    va_start(ap, fmt);
    vsnprintf(v->detail, sizeof(v->detail), fmt, ap);
    va_end(ap);

    /* jansson quotes the offending input in its messages, so a hostile
     * token could put a line break or an escape sequence into a log. */
    for (c = v->detail; *c != '\0'; c++) {
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
    }
    return KR_E_INVALID;
}

static const char *
json_type_name(const json_t *value)
{
    switch (json_typeof(value)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "an unknown JSON value";
}

/* Compares a JSON string with text by length and bytes, so that a string
 * with an embedded NUL never equals a shorter C string. */
static bool
json_string_equals(const json_t *value, const char *text)
{
    size_t len = strlen(text);

    return json_is_string(value) && json_string_length(value) == len
           && memcmp(json_string_value(value), text, len) == 0;
}

/* Renders an untrusted JSON string, quoted and escaped, for a detail. */
static void
json_string_escape(const json_t *value, char out[KR_JWS_ESCAPED_SIZE])
{
    kr_kid_escape(json_string_value(value), json_string_length(value), out,
                  KR_JWS_ESCAPED_SIZE);
}

/* Formats a NumericDate without trailing zeros: "1767229500" or
 * "1767229500.5". */
static void
numeric_date_format(double value, char out[32])
{
    snprintf(out, 32, "%.15g", value);
}

/* Names the first byte that makes a segment fail strict base64url, or
 * returns NULL when every byte is in the alphabet (then the length or the
 * trailing bits are wrong). */
static const char *
b64url_problem(const char *text, size_t len)
{
    size_t i;
    unsigned char c;

    for (i = 0; i < len; i++) {
        c = (unsigned char)text[i];
        if (c == '=')
            return "it has '=' padding";
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            return "it contains white space";
        if (c == '+' || c == '/')
            return "it uses the standard base64 alphabet ('+' or '/')";
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
              || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return "it contains a byte outside the base64url alphabet";
    }
    return NULL;
}

/* Largest number of bytes that len characters of base64url can hold. */
static size_t
b64url_decoded_max(size_t len)
{
    return len / 4 * 3 + (len % 4 == 0 ? 0 : len % 4 - 1);
}

/* Splits the token at its two dots and checks the decoded sizes. */
static kr_code
parts_split(const char *token, size_t token_len, jws_parts *parts,
            kr_verdict *v)
{
    size_t n_segments = 1;
    size_t start = 0;
    size_t i;

    /* The size is not shown: a caller reading a stream may stop reading a
     * line at the limit, so token_len can be less than the real size. */
    if (token_len > KR_JWS_TOKEN_MAX)
        return verdict_reject(v, KR_REASON_TOO_LARGE,
                              "token is over the limit of %d bytes",
                              KR_JWS_TOKEN_MAX);

    for (i = 0; i < token_len; i++) {
        if (token[i] != '.')
            continue;
        if (n_segments < 3) {
            parts->segment[n_segments - 1] = token + start;
            parts->segment_len[n_segments - 1] = i - start;
        }
        n_segments++;
        start = i + 1;
    }

    if (n_segments == 5)
        return verdict_reject(v, KR_REASON_MALFORMED,
                              "token has 5 segments, the shape of an "
                              "encrypted JWE; a signed JWS has 3");
    if (n_segments != 3)
        return verdict_reject(v, KR_REASON_MALFORMED,
                              "token has %zu segment%s; a compact JWS has 3",
                              n_segments, n_segments == 1 ? "" : "s");

    parts->segment[2] = token + start;
    parts->segment_len[2] = token_len - start;

    if (b64url_decoded_max(parts->segment_len[0]) > KR_JWS_HEADER_MAX)
        return verdict_reject(v, KR_REASON_TOO_LARGE,
                              "header is over %d bytes", KR_JWS_HEADER_MAX);
    if (b64url_decoded_max(parts->segment_len[1]) > KR_JWS_CLAIMS_MAX)
        return verdict_reject(v, KR_REASON_TOO_LARGE,
                              "claims are over %d bytes", KR_JWS_CLAIMS_MAX);

    return KR_OK;
}

/* Decodes the three segments. Any of them may be empty, as the signature
 * of an alg "none" token is, and the later checks then reject it. */
static kr_code
parts_decode(jws_parts *parts, kr_verdict *v, kr_error *err)
{
    uint8_t **outs[3] = {&parts->header, &parts->claims, &parts->signature};
    size_t *lens[3] = {&parts->header_len, &parts->claims_len,
                       &parts->signature_len};
    const char *problem;
    kr_error decode_err = {KR_OK, ""};
    kr_code rc;
    int i;

    for (i = 0; i < 3; i++) {
        kr_error_clear(&decode_err);
        rc = kr_b64url_decode(parts->segment[i], parts->segment_len[i],
                              outs[i], lens[i], &decode_err);
        if (rc == KR_E_INPUT) {
            problem = b64url_problem(parts->segment[i], parts->segment_len[i]);
            return verdict_reject(
                v, KR_REASON_MALFORMED, "%s segment is not base64url: %s",
                segment_names[i],
                problem != NULL ? problem
                                : "its length or trailing bits are invalid");
        }
        if (rc != KR_OK)
            return kr_error_set(err, rc, "%s", decode_err.msg);
    }
    return KR_OK;
}

/* Parses the protected header into *out. Members must be unique (RFC 7515
 * section 4: a duplicate kid would let two parsers pick different keys). */
static kr_code
header_parse(const jws_parts *parts, json_t **out, kr_verdict *v,
             kr_error *err)
{
    json_error_t jerr;
    json_t *header;

    *out = NULL;
    header = json_loadb((const char *)parts->header, parts->header_len,
                        JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (header == NULL && json_error_code(&jerr) == json_error_out_of_memory)
        return kr_error_set(err, KR_E_SYSTEM, "out of memory");
    if (header == NULL && json_error_code(&jerr) == json_error_duplicate_key)
        return verdict_reject(v, KR_REASON_BAD_HEADER,
                              "header has a duplicate member: %s", jerr.text);
    if (header == NULL)
        return verdict_reject(v, KR_REASON_BAD_HEADER,
                              "header is not valid JSON: %s", jerr.text);

    if (!json_is_object(header)) {
        json_decref(header);
        return verdict_reject(v, KR_REASON_BAD_HEADER,
                              "header is not a JSON object");
    }

    *out = header;
    return KR_OK;
}

/* Checks alg, typ and crit. alg is compared exactly because RFC 7518
 * names are case-sensitive. "none", HMAC and every other algorithm are
 * rejected whatever key is at hand. */
static kr_code
header_check_alg(const json_t *header, kr_verdict *v)
{
    const json_t *alg = json_object_get(header, "alg");
    const json_t *typ = json_object_get(header, "typ");
    char shown[KR_JWS_ESCAPED_SIZE];

    if (alg == NULL)
        return verdict_reject(v, KR_REASON_ALG_NOT_ALLOWED,
                              "header has no alg; only \"RS256\" is accepted");
    if (!json_is_string(alg))
        return verdict_reject(v, KR_REASON_ALG_NOT_ALLOWED,
                              "alg is %s; only \"RS256\" is accepted",
                              json_type_name(alg));
    if (!json_string_equals(alg, "RS256")) {
        json_string_escape(alg, shown);
        return verdict_reject(v, KR_REASON_ALG_NOT_ALLOWED,
                              "alg %s is not allowed; only \"RS256\" is "
                              "accepted",
                              shown);
    }

    if (typ != NULL && !json_string_equals(typ, "JWT")) {
        if (json_is_string(typ))
            json_string_escape(typ, shown);
        else
            snprintf(shown, sizeof(shown), "%s", json_type_name(typ));
        return verdict_reject(v, KR_REASON_BAD_HEADER,
                              "typ is %s; only \"JWT\" is accepted", shown);
    }

    /* RFC 7515 section 4.1.11: a recipient that does not understand an
     * extension listed in crit must reject the token. keyrot implements
     * none, so any crit is rejected. */
    if (json_object_get(header, "crit") != NULL)
        return verdict_reject(v, KR_REASON_CRIT_UNSUPPORTED,
                              "header lists crit extensions; keyrot "
                              "supports none");

    return KR_OK;
}

/* Checks the kid and copies it into v->kid once it is valid. */
static kr_code
header_check_kid(const json_t *header, kr_verdict *v)
{
    const json_t *kid = json_object_get(header, "kid");
    char shown[KR_JWS_ESCAPED_SIZE];
    size_t len;

    if (kid == NULL)
        return verdict_reject(v, KR_REASON_KID_MISSING, "header has no kid");
    if (!json_is_string(kid))
        return verdict_reject(v, KR_REASON_KID_UNKNOWN,
                              "kid is %s, not a string", json_type_name(kid));

    len = json_string_length(kid);
    if (!kr_kid_valid(json_string_value(kid), len)) {
        json_string_escape(kid, shown);
        return verdict_reject(v, KR_REASON_KID_UNKNOWN,
                              "kid %s is not a valid key ID (1 to %d of "
                              "A-Z a-z 0-9 . _ -)",
                              shown, KR_KID_MAX);
    }

    memcpy(v->kid, json_string_value(kid), len);
    v->kid[len] = '\0';
    return KR_OK;
}

/* Asks the resolver for the key and turns a refusal into a verdict. */
static kr_code
key_resolve(kr_key_resolver resolve, void *resolve_ctx, kr_verdict *v,
            const kr_rsakey **key, kr_error *err)
{
    kr_reason refusal = KR_REASON_KID_UNKNOWN;
    kr_code rc;

    *key = NULL;
    rc = resolve(resolve_ctx, v->kid, key, &refusal, err);
    if (rc != KR_OK)
        return kr_error_set(err, rc, "key lookup for kid \"%s\" failed",
                            v->kid);

    if (*key != NULL)
        return KR_OK;

    switch (refusal) {
    case KR_REASON_KEY_RETIRED:
        return verdict_reject(v, refusal, "key \"%s\" is retired", v->kid);
    case KR_REASON_KEY_REVOKED:
        return verdict_reject(v, refusal, "key \"%s\" is revoked", v->kid);
    default:
        return verdict_reject(v, KR_REASON_KID_UNKNOWN,
                              "no key with kid \"%s\"", v->kid);
    }
}

/* Parses the claims, which the signature already vouches for, into
 * v->claims. */
static kr_code
claims_parse(const jws_parts *parts, kr_verdict *v, kr_error *err)
{
    json_error_t jerr;
    json_t *claims;

    claims = json_loadb((const char *)parts->claims, parts->claims_len,
                        JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (claims == NULL && json_error_code(&jerr) == json_error_out_of_memory)
        return kr_error_set(err, KR_E_SYSTEM, "out of memory");

    /* jansson rejects integers beyond 64 bits and reals beyond double
     * while parsing, so such an exp never reaches the NumericDate check.
     * It is still an out-of-range claim, not a broken token. */
    if (claims == NULL
        && json_error_code(&jerr) == json_error_numeric_overflow)
        return verdict_reject(v, KR_REASON_BAD_CLAIM,
                              "claims hold a number out of range: %s",
                              jerr.text);
    if (claims == NULL && json_error_code(&jerr) == json_error_duplicate_key)
        return verdict_reject(v, KR_REASON_MALFORMED,
                              "claims have a duplicate member: %s", jerr.text);
    if (claims == NULL)
        return verdict_reject(v, KR_REASON_MALFORMED,
                              "claims are not valid JSON: %s", jerr.text);

    if (!json_is_object(claims)) {
        json_decref(claims);
        return verdict_reject(v, KR_REASON_MALFORMED,
                              "claims are not a JSON object");
    }

    v->claims = claims;
    return KR_OK;
}

/* Reads the NumericDate claim name (RFC 7519 section 2: seconds since the
 * epoch, integer or fractional). *present is false when it is absent. */
static kr_code
numeric_date_get(const json_t *claims, const char *name, bool *present,
                 double *value, kr_verdict *v)
{
    const json_t *claim = json_object_get(claims, name);
    double number;

    *present = false;
    *value = 0;
    if (claim == NULL)
        return KR_OK;

    if (!json_is_number(claim))
        return verdict_reject(v, KR_REASON_BAD_CLAIM,
                              "%s is %s, not a NumericDate", name,
                              json_type_name(claim));

    if (json_is_integer(claim)) {
        if (json_integer_value(claim) < 0
            || json_integer_value(claim) > (json_int_t)KR_NUMERIC_DATE_MAX)
            return verdict_reject(v, KR_REASON_BAD_CLAIM,
                                  "%s %" JSON_INTEGER_FORMAT
                                  " is out of range",
                                  name, json_integer_value(claim));
        number = (double)json_integer_value(claim);
    } else {
        number = json_real_value(claim);
        if (!isfinite(number) || number < 0 || number > KR_NUMERIC_DATE_MAX)
            return verdict_reject(v, KR_REASON_BAD_CLAIM,
                                  "%s %.15g is out of range", name, number);
    }

    *present = true;
    *value = number;
    return KR_OK;
}

/* The three time claims of one token. */
typedef struct jws_times {
    double exp, nbf, iat;
    bool has_nbf, has_iat;
} jws_times;

/* Reads exp, nbf and iat, and records exp and iat in v. */
static kr_code
times_get(const json_t *claims, jws_times *t, kr_verdict *v)
{
    bool has_exp;
    kr_code rc;

    if (json_object_get(claims, "exp") == NULL)
        return verdict_reject(v, KR_REASON_EXP_MISSING, "claims have no exp");

    rc = numeric_date_get(claims, "exp", &has_exp, &t->exp, v);
    if (rc != KR_OK)
        return rc;
    rc = numeric_date_get(claims, "nbf", &t->has_nbf, &t->nbf, v);
    if (rc != KR_OK)
        return rc;
    rc = numeric_date_get(claims, "iat", &t->has_iat, &t->iat, v);
    if (rc != KR_OK)
        return rc;

    /* Values are within 0..KR_NUMERIC_DATE_MAX, so the casts are exact
     * for integers and round fractional seconds down. */
    v->exp = (int64_t)t->exp;
    v->has_iat = t->has_iat;
    v->iat = t->has_iat ? (int64_t)t->iat : 0;

    if (t->has_iat && t->exp < t->iat)
        return verdict_reject(v, KR_REASON_BAD_CLAIM,
                              "exp %" PRId64 " is before iat %" PRId64, v->exp,
                              v->iat);
    return KR_OK;
}

/* Compares the time claims with now. Doubles hold every accepted
 * NumericDate and any realistic now and leeway exactly. */
static kr_code
times_check(const jws_times *t, const kr_verify_params *params, kr_verdict *v)
{
    double now = (double)params->now;
    double leeway = (double)params->leeway;
    char shown[32];

    if (now >= t->exp + leeway) {
        numeric_date_format(t->exp, shown);
        return verdict_reject(v, KR_REASON_EXPIRED,
                              "token expired at %s; now is %" PRId64
                              " (leeway %" PRId64 "s)",
                              shown, params->now, params->leeway);
    }

    if (t->has_nbf && t->nbf > now + leeway) {
        numeric_date_format(t->nbf, shown);
        return verdict_reject(v, KR_REASON_NOT_YET_VALID,
                              "token is not valid before %s; now is %" PRId64
                              " (leeway %" PRId64 "s)",
                              shown, params->now, params->leeway);
    }

    if (t->has_iat && t->iat > now + leeway) {
        numeric_date_format(t->iat, shown);
        return verdict_reject(v, KR_REASON_IAT_IN_FUTURE,
                              "token was issued at %s, in the future; now "
                              "is %" PRId64 " (leeway %" PRId64 "s)",
                              shown, params->now, params->leeway);
    }

    return KR_OK;
}

/* Checks the lifetime against the policy. Without iat the token's start is
 * unknown, so the time left until exp is bounded instead. */
static kr_code
lifetime_check(const jws_times *t, const kr_verify_params *params,
               kr_verdict *v)
{
    double max_lifetime = (double)params->max_lifetime;
    double lifetime;

    if (t->has_iat) {
        lifetime = t->exp - t->iat;
        if (lifetime > max_lifetime)
            return verdict_reject(v, KR_REASON_LIFETIME_TOO_LONG,
                                  "lifetime exp - iat is %.15gs; the "
                                  "policy allows %" PRId64 "s",
                                  lifetime, params->max_lifetime);
        return KR_OK;
    }

    lifetime = t->exp - (double)params->now;
    if (lifetime > max_lifetime + (double)params->leeway)
        return verdict_reject(v, KR_REASON_LIFETIME_TOO_LONG,
                              "token has no iat and expires in %.15gs; the "
                              "policy allows %" PRId64 "s plus %" PRId64
                              "s leeway",
                              lifetime, params->max_lifetime, params->leeway);
    return KR_OK;
}

bool
kr_jws_aud_matches(const json_t *aud, const char *expected)
{
    const json_t *item;
    size_t i;

    if (aud == NULL || expected == NULL)
        return false;
    if (json_is_string(aud))
        return json_string_equals(aud, expected);
    if (!json_is_array(aud))
        return false;

    for (i = 0; i < json_array_size(aud); i++) {
        item = json_array_get(aud, i);
        if (json_string_equals(item, expected))
            return true;
    }
    return false;
}

/* Returns whether aud has the shape RFC 7519 section 4.1.3 allows: a
 * string or an array of strings. */
static bool
aud_shape_valid(const json_t *aud)
{
    size_t i;

    if (json_is_string(aud))
        return true;
    if (!json_is_array(aud))
        return false;
    for (i = 0; i < json_array_size(aud); i++) {
        if (!json_is_string(json_array_get(aud, i)))
            return false;
    }
    return true;
}

/* Checks aud when the caller expects one. A missing aud is a mismatch,
 * because the token is not addressed to us. An aud of the wrong type is a
 * bad claim. */
static kr_code
aud_check(const json_t *claims, const char *expected, kr_verdict *v)
{
    const json_t *aud = json_object_get(claims, "aud");
    char want[KR_JWS_ESCAPED_SIZE];
    char got[KR_JWS_ESCAPED_SIZE];

    if (expected == NULL)
        return KR_OK;

    kr_kid_escape(expected, strlen(expected), want, sizeof(want));
    if (aud == NULL)
        return verdict_reject(v, KR_REASON_AUD_MISMATCH,
                              "claims have no aud; expected %s", want);
    if (!aud_shape_valid(aud) && json_is_array(aud))
        return verdict_reject(v, KR_REASON_BAD_CLAIM,
                              "aud must be a string or an array of strings, "
                              "but this array holds a non-string value");
    if (!aud_shape_valid(aud))
        return verdict_reject(v, KR_REASON_BAD_CLAIM,
                              "aud is %s, not a string or an array of "
                              "strings",
                              json_type_name(aud));
    if (kr_jws_aud_matches(aud, expected))
        return KR_OK;

    if (json_is_string(aud)) {
        json_string_escape(aud, got);
        return verdict_reject(v, KR_REASON_AUD_MISMATCH,
                              "aud %s does not match %s", got, want);
    }
    return verdict_reject(v, KR_REASON_AUD_MISMATCH,
                          "none of the %zu aud values matches %s",
                          json_array_size(aud), want);
}

/* Runs steps 9 to 12 of the order above on parsed, signed claims. */
static kr_code
claims_check(const json_t *claims, const kr_verify_params *params,
             kr_verdict *v)
{
    jws_times times = {0};
    kr_code rc;

    rc = times_get(claims, &times, v);
    if (rc != KR_OK)
        return rc;

    rc = times_check(&times, params, v);
    if (rc != KR_OK)
        return rc;

    rc = lifetime_check(&times, params, v);
    if (rc != KR_OK)
        return rc;

    return aud_check(claims, params->aud, v);
}

kr_code
kr_jws_verify(const char *token, size_t token_len,
              const kr_verify_params *params, kr_key_resolver resolve,
              void *resolve_ctx, kr_verdict *v, kr_error *err)
{
    jws_parts parts;
    json_t *header = NULL;
    const kr_rsakey *key = NULL;
    size_t signing_input_len;
    kr_code rc;

    memset(&parts, 0, sizeof(parts));
    memset(v, 0, sizeof(*v));

    rc = parts_split(token, token_len, &parts, v);
    if (rc != KR_OK)
        goto out;

    rc = parts_decode(&parts, v, err);
    if (rc != KR_OK)
        goto out;

    rc = header_parse(&parts, &header, v, err);
    if (rc != KR_OK)
        goto out;

    rc = header_check_alg(header, v);
    if (rc != KR_OK)
        goto out;

    rc = header_check_kid(header, v);
    if (rc != KR_OK)
        goto out;

    rc = key_resolve(resolve, resolve_ctx, v, &key, err);
    if (rc != KR_OK)
        goto out;

    /* The signing input is the ASCII text "header.claims" exactly as it
     * appears in the token (RFC 7515 section 5.2, step 8). */
    signing_input_len = parts.segment_len[0] + 1 + parts.segment_len[1];
    if (!kr_rsakey_verify_rs256(key, (const uint8_t *)token, signing_input_len,
                                parts.signature, parts.signature_len)) {
        rc = verdict_reject(v, KR_REASON_BAD_SIGNATURE,
                            "signature does not verify with key \"%s\"",
                            v->kid);
        goto out;
    }

    rc = claims_parse(&parts, v, err);
    if (rc != KR_OK)
        goto out;

    rc = claims_check(v->claims, params, v);

out:
    /* KR_E_INVALID only carries "a check failed" between the steps. The
     * caller reads that from v->reason. */
    if (rc == KR_E_INVALID)
        rc = KR_OK;
    if (rc != KR_OK) {
        json_decref(v->claims);
        v->claims = NULL;
    }
    json_decref(header);
    free(parts.header);
    free(parts.claims);
    free(parts.signature);
    return rc;
}

void
kr_verdict_clear(kr_verdict *v)
{
    if (v == NULL)
        return;
    json_decref(v->claims);
    memset(v, 0, sizeof(*v));
}

kr_code
kr_jws_sign(const kr_rsakey *key, const char *kid, const json_t *claims,
            char **token, kr_error *err)
{
    json_t *header = NULL;
    char *header_json = NULL;
    char *claims_json = NULL;
    char *out = NULL;
    uint8_t signature[KR_RSA_MAX_SIG_SIZE];
    size_t header_len, claims_len, modulus_len, out_size, pos;
    size_t signature_len = 0;
    kr_code rc = KR_OK;

    *token = NULL;

    if (kid == NULL || !kr_kid_valid(kid, strlen(kid))) {
        rc = kr_error_set(err, KR_E_INPUT, "invalid key ID for signing");
        goto out;
    }
    if (!json_is_object(claims)) {
        rc = kr_error_set(err, KR_E_INPUT, "claims must be a JSON object");
        goto out;
    }

    /* RS256 is deterministic, so with a fixed member order the same key
     * and claims always give the same token bytes. */
    header =
        json_pack("{s:s, s:s, s:s}", "alg", "RS256", "typ", "JWT", "kid", kid);
    if (header != NULL)
        header_json = json_dumps(header, JSON_COMPACT | JSON_PRESERVE_ORDER);
    claims_json = json_dumps(claims, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (header_json == NULL || claims_json == NULL) {
        rc = kr_error_set(err, KR_E_SYSTEM, "out of memory");
        goto out;
    }

    /* Never mint a token that kr_jws_verify would call too_large. */
    header_len = strlen(header_json);
    claims_len = strlen(claims_json);
    if (claims_len > KR_JWS_CLAIMS_MAX) {
        rc = kr_error_set(err, KR_E_INPUT,
                          "claims are %zu bytes as JSON; the limit is %d",
                          claims_len, KR_JWS_CLAIMS_MAX);
        goto out;
    }
    modulus_len = (kr_rsakey_bits(key) + 7) / 8;
    out_size = kr_b64url_encoded_len(header_len) + 1
               + kr_b64url_encoded_len(claims_len) + 1
               + kr_b64url_encoded_len(modulus_len);
    if (out_size > KR_JWS_TOKEN_MAX) {
        rc = kr_error_set(err, KR_E_INPUT,
                          "token would be %zu bytes; the limit is %d",
                          out_size, KR_JWS_TOKEN_MAX);
        goto out;
    }

    out = malloc(out_size + 1);
    if (out == NULL) {
        rc = kr_error_set(err, KR_E_SYSTEM, "out of memory");
        goto out;
    }
    pos = kr_b64url_encode_to((const uint8_t *)header_json, header_len, out);
    out[pos++] = '.';
    pos += kr_b64url_encode_to((const uint8_t *)claims_json, claims_len,
                               out + pos);

    rc = kr_rsakey_sign_rs256(key, (const uint8_t *)out, pos, signature,
                              &signature_len, err);
    if (rc != KR_OK)
        goto out;
    if (signature_len != modulus_len) {
        rc = kr_error_set(err, KR_E_SYSTEM,
                          "signature is %zu bytes; expected %zu",
                          signature_len, modulus_len);
        goto out;
    }

    out[pos++] = '.';
    kr_b64url_encode_to(signature, signature_len, out + pos);
    *token = out;
    out = NULL;

out:
    free(out);
    free(claims_json);
    free(header_json);
    json_decref(header);
    return rc;
}
