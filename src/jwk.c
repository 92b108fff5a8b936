/* SPDX-License-Identifier: MIT */
/*
 * RSA JSON Web Keys (RFC 7517, RFC 7518 section 6.3) and JWK Sets: the
 * public and private JWK of a key, one JWK parsed into a key, and a JWK
 * Set parsed into (kid, public key) entries. The RSA numbers are checked
 * by rsakey.c, and this file checks the JSON around them. It does not use
 * the store or key states.
 */
#include "config.h"

#include "jwk.h"

#include <gnutls/gnutls.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"

/* The RSA members of RFC 7518 section 6.3, in kr_rsa_params order. The
 * first two are public. The other six are private and wiped after use. */
enum { JWK_N_PUBLIC = 2, JWK_N_MEMBERS = 8 };

static const char *const member_names[JWK_N_MEMBERS] = {
    "n", "e", "d", "p", "q", "dp", "dq", "qi",
};

/* Room for one escaped untrusted string inside an error message. */
#define JWK_ESCAPED_SIZE 80

/* Points the eight kr_rsa_params fields at bytes[i] / lens[i]. */
static void
params_fill(kr_rsa_params *params, uint8_t *const bytes[JWK_N_MEMBERS],
            const size_t lens[JWK_N_MEMBERS])
{
    kr_bytes *fields[JWK_N_MEMBERS] = {
        &params->n, &params->e,  &params->d,  &params->p,
        &params->q, &params->dp, &params->dq, &params->qi,
    };
    int i;

    for (i = 0; i < JWK_N_MEMBERS; i++) {
        fields[i]->data = bytes[i];
        fields[i]->len = lens[i];
    }
}

/* Adds the member name with value base64url(value) to jwk, and wipes the
 * encoded text when secret is set. Returns false when out of memory. */
static bool
jwk_member_set(json_t *jwk, const char *name, kr_bytes value, bool secret)
{
    char *text = kr_b64url_encode(value.data, value.len);
    size_t text_len;
    int rc;

    if (text == NULL)
        return false;

    text_len = strlen(text);
    rc = json_object_set_new(jwk, name, json_stringn(text, text_len));
    if (secret)
        gnutls_memset(text, 0, text_len);
    free(text);
    return rc == 0;
}

json_t *
kr_jwk_public(const kr_rsakey *key, const char *kid)
{
    json_t *jwk;

    /* The "s*" value format leaves kid out when it is NULL. */
    jwk = json_pack("{s:s, s:s*, s:s, s:s}", "kty", "RSA", "kid",
                    kid != NULL && kid[0] != '\0' ? kid : NULL, "use", "sig",
                    "alg", "RS256");
    if (jwk == NULL)
        return NULL;

    if (!jwk_member_set(jwk, "n", kr_rsakey_n(key), false)
        || !jwk_member_set(jwk, "e", kr_rsakey_e(key), false)) {
        json_decref(jwk);
        return NULL;
    }
    return jwk;
}

kr_code
kr_jwk_private(const kr_rsakey *key, const char *kid, json_t **out,
               kr_error *err)
{
    json_t *jwk = NULL;
    kr_rsa_params params;
    const kr_bytes *values[JWK_N_MEMBERS] = {
        &params.n, &params.e,  &params.d,  &params.p,
        &params.q, &params.dp, &params.dq, &params.qi,
    };
    uint8_t *storage = NULL;
    size_t storage_len = 0;
    kr_code rc;
    int i;

    *out = NULL;

    rc = kr_rsakey_params(key, &params, &storage, &storage_len, err);
    if (rc != KR_OK)
        goto out;

    jwk = kr_jwk_public(key, kid);
    if (jwk == NULL) {
        rc = kr_error_set(err, KR_E_SYSTEM, "out of memory");
        goto out;
    }

    for (i = JWK_N_PUBLIC; i < JWK_N_MEMBERS; i++) {
        if (!jwk_member_set(jwk, member_names[i], *values[i], true)) {
            rc = kr_error_set(err, KR_E_SYSTEM, "out of memory");
            goto out;
        }
    }

    *out = jwk;
    jwk = NULL;

out:
    kr_json_wipe(jwk);
    json_decref(jwk);
    if (storage != NULL)
        gnutls_memset(storage, 0, storage_len);
    free(storage);
    return rc;
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

/* Returns whether the key_ops array (RFC 7517 section 4.3) allows signing
 * or verifying. */
static bool
key_ops_allow_rs256(const json_t *ops)
{
    size_t i;

    for (i = 0; i < json_array_size(ops); i++) {
        if (json_string_equals(json_array_get(ops, i), "verify")
            || json_string_equals(json_array_get(ops, i), "sign"))
            return true;
    }
    return false;
}

/* Describes in why (why_size bytes) what keeps a JWK that has a kty from
 * serving as an RS256 key: its kty, use, alg or key_ops (RFC 7517 sections
 * 4.1 to 4.4). Returns why, or NULL when the key is usable. */
static const char *
jwk_unusable(const json_t *jwk, char *why, size_t why_size)
{
    const json_t *kty = json_object_get(jwk, "kty");
    const json_t *use = json_object_get(jwk, "use");
    const json_t *alg = json_object_get(jwk, "alg");
    const json_t *ops = json_object_get(jwk, "key_ops");
    char shown[JWK_ESCAPED_SIZE];

    if (!json_is_string(kty)) {
        snprintf(why, why_size, "its kty is not a string");
        return why;
    }
    if (!json_string_equals(kty, "RSA")) {
        kr_kid_escape(json_string_value(kty), json_string_length(kty), shown,
                      sizeof(shown));
        snprintf(why, why_size, "key type %s is not RSA", shown);
        return why;
    }
    if (use != NULL && !json_string_equals(use, "sig")) {
        snprintf(why, why_size, "its use is not \"sig\"");
        return why;
    }
    if (alg != NULL && !json_string_equals(alg, "RS256")) {
        snprintf(why, why_size, "its alg is not \"RS256\"");
        return why;
    }
    if (ops != NULL && !key_ops_allow_rs256(ops)) {
        snprintf(why, why_size, "its key_ops allow neither sign nor verify");
        return why;
    }
    return NULL;
}

/* Copies the JWK's kid into kid, or "" when it has none. An invalid kid
 * is an error. */
static kr_code
jwk_kid_get(const json_t *jwk, char kid[KR_KID_SIZE], kr_error *err)
{
    const json_t *value = json_object_get(jwk, "kid");
    char shown[JWK_ESCAPED_SIZE];
    size_t len;

    kid[0] = '\0';
    if (value == NULL)
        return KR_OK;

    if (!json_is_string(value))
        return kr_error_set(err, KR_E_INPUT, "JWK kid is not a string");

    len = json_string_length(value);
    if (!kr_kid_valid(json_string_value(value), len)) {
        kr_kid_escape(json_string_value(value), len, shown, sizeof(shown));
        return kr_error_set(err, KR_E_INPUT,
                            "JWK kid %s is not a valid key ID (1 to %d of "
                            "A-Z a-z 0-9 . _ -)",
                            shown, KR_KID_MAX);
    }

    memcpy(kid, json_string_value(value), len);
    kid[len] = '\0';
    return KR_OK;
}

/* Decodes the base64url member name into a malloc'd buffer. */
static kr_code
jwk_member_decode(const json_t *jwk, const char *name, uint8_t **out,
                  size_t *out_len, kr_error *err)
{
    const json_t *value = json_object_get(jwk, name);
    kr_error decode_err = {KR_OK, ""};
    kr_code rc;

    *out = NULL;
    *out_len = 0;

    if (value == NULL)
        return kr_error_set(err, KR_E_INPUT, "JWK has no \"%s\"", name);
    if (!json_is_string(value))
        return kr_error_set(err, KR_E_INPUT,
                            "JWK member \"%s\" is not a string", name);
    if (json_string_length(value) == 0)
        return kr_error_set(err, KR_E_INPUT, "JWK member \"%s\" is empty",
                            name);

    rc = kr_b64url_decode(json_string_value(value), json_string_length(value),
                          out, out_len, &decode_err);
    if (rc != KR_OK)
        return kr_error_set(err, rc, "JWK member \"%s\": %s", name,
                            decode_err.msg);
    return KR_OK;
}

/* Checks which private members are present: none (a public JWK) or all
 * six that rsakey.c needs. Sets *n_members to 2 or 8. */
static kr_code
jwk_members_count(const json_t *jwk, int *n_members, kr_error *err)
{
    int present = 0;
    int i;

    for (i = JWK_N_PUBLIC; i < JWK_N_MEMBERS; i++) {
        if (json_object_get(jwk, member_names[i]) != NULL)
            present++;
    }

    /* RFC 7518 section 6.3.2.7: "oth" lists the extra primes of a
     * multi-prime key, which Nettle cannot use. */
    if (json_object_get(jwk, "oth") != NULL)
        return kr_error_set(err, KR_E_INPUT,
                            "multi-prime RSA JWKs (\"oth\") are not "
                            "supported");

    if (present == 0) {
        *n_members = JWK_N_PUBLIC;
        return KR_OK;
    }
    if (present != JWK_N_MEMBERS - JWK_N_PUBLIC)
        return kr_error_set(err, KR_E_INPUT,
                            "private JWK must have all of d, p, q, dp, dq "
                            "and qi");
    *n_members = JWK_N_MEMBERS;
    return KR_OK;
}

/* Rejects n or e with a leading zero octet. RFC 7518 section 6.3.1
 * requires the minimal encoding, and the RFC 7638 thumbprint of a padded
 * n would differ from that of the same key elsewhere. */
static kr_code
jwk_public_minimal(uint8_t *const bytes[JWK_N_MEMBERS],
                   const size_t lens[JWK_N_MEMBERS], kr_error *err)
{
    int i;

    for (i = 0; i < JWK_N_PUBLIC; i++) {
        if (lens[i] > 1 && bytes[i][0] == 0)
            return kr_error_set(err, KR_E_INPUT,
                                "JWK member \"%s\" has a leading zero "
                                "octet; RFC 7518 requires the minimal "
                                "encoding",
                                member_names[i]);
    }
    return KR_OK;
}

kr_code
kr_jwk_parse(const json_t *jwk, unsigned min_bits, kr_rsakey **out,
             char kid[KR_KID_SIZE], kr_warnings *warnings, kr_error *err)
{
    uint8_t *bytes[JWK_N_MEMBERS] = {NULL};
    size_t lens[JWK_N_MEMBERS] = {0};
    kr_rsa_params params;
    kr_rsakey *key = NULL;
    char why[KR_ERROR_MSG_SIZE / 2];
    int n_members = 0;
    kr_code rc;
    int i;

    (void)warnings; /* a single JWK has no non-fatal findings yet */
    *out = NULL;
    kid[0] = '\0';

    if (!json_is_object(jwk)) {
        rc = kr_error_set(err, KR_E_INPUT, "JWK is not a JSON object");
        goto out;
    }
    if (json_object_get(jwk, "kty") == NULL) {
        rc = kr_error_set(err, KR_E_INPUT, "JWK has no kty");
        goto out;
    }
    if (jwk_unusable(jwk, why, sizeof(why)) != NULL) {
        rc = kr_error_set(err, KR_E_INPUT, "JWK cannot be used for RS256: %s",
                          why);
        goto out;
    }

    rc = jwk_kid_get(jwk, kid, err);
    if (rc != KR_OK)
        goto out;

    rc = jwk_members_count(jwk, &n_members, err);
    if (rc != KR_OK)
        goto out;

    for (i = 0; i < n_members; i++) {
        rc = jwk_member_decode(jwk, member_names[i], &bytes[i], &lens[i], err);
        if (rc != KR_OK)
            goto out;
    }

    rc = jwk_public_minimal(bytes, lens, err);
    if (rc != KR_OK)
        goto out;

    params_fill(&params, bytes, lens);
    rc = kr_rsakey_from_params(&params, &key, err);
    if (rc != KR_OK)
        goto out;

    if (kr_rsakey_bits(key) < min_bits) {
        rc = kr_error_set(err, KR_E_INPUT,
                          "RSA key is %u bits; at least %u are required",
                          kr_rsakey_bits(key), min_bits);
        goto out;
    }

    *out = key;
    key = NULL;

out:
    kr_rsakey_free(key);
    for (i = 0; i < JWK_N_MEMBERS; i++) {
        if (i >= JWK_N_PUBLIC && bytes[i] != NULL)
            gnutls_memset(bytes[i], 0, lens[i]);
        free(bytes[i]);
    }
    if (rc != KR_OK)
        kid[0] = '\0';
    return rc;
}

/* Returns whether e is 65537, the exponent nearly every key uses. */
static bool
exponent_is_f4(kr_bytes e)
{
    static const uint8_t f4[] = {0x01, 0x00, 0x01};

    return e.len == sizeof(f4) && memcmp(e.data, f4, sizeof(f4)) == 0;
}

/* Renders the kid member of a JWK for a message: the escaped string, or
 * "(no kid)". */
static void
jwks_kid_show(const json_t *jwk, char out[JWK_ESCAPED_SIZE])
{
    const json_t *kid = json_object_get(jwk, "kid");

    if (json_is_string(kid))
        kr_kid_escape(json_string_value(kid), json_string_length(kid), out,
                      JWK_ESCAPED_SIZE);
    else
        snprintf(out, JWK_ESCAPED_SIZE, "(no kid)");
}

/* Parses keys[index] of a JWK Set and appends it to entries, or skips it
 * with a warning when it is not an RS256 key. */
static kr_code
jwks_entry_add(const json_t *jwk, size_t index, unsigned min_bits,
               kr_jwks_entry *entries, size_t *n_entries,
               kr_warnings *warnings, kr_error *err)
{
    kr_jwks_entry *entry = &entries[*n_entries];
    kr_error parse_err = {KR_OK, ""};
    char shown[JWK_ESCAPED_SIZE];
    char why[KR_ERROR_MSG_SIZE / 2];
    kr_code rc;
    size_t i;

    if (!json_is_object(jwk))
        return kr_error_set(err, KR_E_INPUT,
                            "JWK Set keys[%zu] is not a JSON object", index);

    jwks_kid_show(jwk, shown);
    if (json_object_get(jwk, "kty") == NULL)
        return kr_error_set(err, KR_E_INPUT,
                            "JWK Set keys[%zu] (kid %s) has no kty", index,
                            shown);

    /* RFC 7517 section 5 lets a consumer ignore the keys of a set that it
     * cannot use and keep the rest. */
    if (jwk_unusable(jwk, why, sizeof(why)) != NULL) {
        kr_warnings_add(warnings, "JWK Set keys[%zu] (kid %s) skipped: %s",
                        index, shown, why);
        return KR_OK;
    }

    if (json_object_get(jwk, "kid") == NULL)
        return kr_error_set(err, KR_E_INPUT,
                            "JWK Set keys[%zu] is an RSA key without a kid",
                            index);

    rc = kr_jwk_parse(jwk, min_bits, &entry->key, entry->kid, warnings,
                      &parse_err);
    if (rc != KR_OK)
        return kr_error_set(err, rc, "JWK Set keys[%zu] (kid %s): %s", index,
                            shown, parse_err.msg);
    (*n_entries)++;

    for (i = 0; i + 1 < *n_entries; i++) {
        if (strcmp(entries[i].kid, entry->kid) == 0)
            return kr_error_set(err, KR_E_INPUT,
                                "JWK Set has two keys with kid \"%s\"",
                                entry->kid);
    }

    if (kr_rsakey_has_private(entry->key)) {
        kr_rsakey_drop_private(entry->key);
        kr_warnings_add(warnings,
                        "JWK Set key \"%s\" contains private members; only "
                        "its public key is used",
                        entry->kid);
    }
    if (!exponent_is_f4(kr_rsakey_e(entry->key)))
        kr_warnings_add(warnings,
                        "JWK Set key \"%s\" has a public exponent other "
                        "than 65537",
                        entry->kid);
    return KR_OK;
}

void
kr_json_wipe(json_t *json)
{
    const char *name;
    json_t *value;
    size_t i;

    /* jansson owns the strings and they are writable; the const in its
     * getter only guards against edits that would break its invariants,
     * and zero bytes keep the recorded length valid for freeing. */
    if (json_is_string(json)) {
        gnutls_memset((char *)json_string_value(json), 0,
                      json_string_length(json));
    } else if (json_is_object(json)) {
        json_object_foreach(json, name, value) kr_json_wipe(value);
    } else if (json_is_array(json)) {
        json_array_foreach(json, i, value) kr_json_wipe(value);
    }
}

kr_code
kr_jwks_parse(const char *text, size_t text_len, unsigned min_bits,
              kr_jwks_entry **entries, size_t *n_entries,
              kr_warnings *warnings, kr_error *err)
{
    json_t *root = NULL;
    json_t *keys = NULL;
    kr_jwks_entry *list = NULL;
    size_t n_list = 0;
    json_error_t jerr;
    kr_code rc = KR_OK;
    size_t i;

    *entries = NULL;
    *n_entries = 0;

    root = json_loadb(text, text_len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        rc = kr_error_set(err, KR_E_INPUT,
                          "JWK Set is not valid JSON: line %d, column %d: %s",
                          jerr.line, jerr.column, jerr.text);
        goto out;
    }

    keys = json_object_get(root, "keys");
    if (!json_is_array(keys)) {
        rc = kr_error_set(err, KR_E_INPUT, "JWK Set has no \"keys\" array");
        goto out;
    }

    /* One spare slot so that an empty set still gets a buffer. */
    list = calloc(json_array_size(keys) + 1, sizeof(*list));
    if (list == NULL) {
        rc = kr_error_set(err, KR_E_SYSTEM, "out of memory");
        goto out;
    }

    for (i = 0; i < json_array_size(keys); i++) {
        rc = jwks_entry_add(json_array_get(keys, i), i, min_bits, list,
                            &n_list, warnings, err);
        if (rc != KR_OK)
            goto out;
    }

    *entries = list;
    *n_entries = n_list;
    list = NULL;

out:
    kr_jwks_entries_free(list, n_list);
    if (json_is_array(keys))
        kr_json_wipe(keys);
    json_decref(root);
    return rc;
}

void
kr_jwks_entries_free(kr_jwks_entry *entries, size_t n_entries)
{
    size_t i;

    if (entries == NULL)
        return;
    for (i = 0; i < n_entries; i++)
        kr_rsakey_free(entries[i].key);
    free(entries);
}
