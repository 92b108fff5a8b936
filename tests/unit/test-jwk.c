/* SPDX-License-Identifier: MIT */
/*
 * Tests of jwk.c. The RFC 7638 section 3.1 thumbprint example is the
 * outside vector. A generated key gives public and private JWK round trips
 * and one rejection per broken JWK member, and JWK Sets are built from it.
 * When KR_FIXTURES points at the interop set, the JWK Sets published by
 * jose, PyJWT and node and the broken ones are checked against the
 * verdicts and thumbprints of its manifest.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b64.h"
#include "jwk.h"
#include "rsakey.h"
#include "tap.h"

/* RFC 7638 section 3.1: the example RSA public key and its thumbprint. */
static const char rfc7638_jwk[] =
    "{\"kty\":\"RSA\","
    "\"n\":\"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAt"
    "VT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn6"
    "4tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_F"
    "DW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n9"
    "1CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINH"
    "aQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw\","
    "\"e\":\"AQAB\",\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}";
static const char rfc7638_thumbprint[] =
    "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

/* Parses JSON text as one JWK and returns the code. */
static kr_code
jwk_text_parse(const char *text, unsigned min_bits, kr_error *err)
{
    json_t *jwk = json_loads(text, 0, NULL);
    kr_rsakey *key = NULL;
    char kid[KR_KID_SIZE];
    kr_code rc;

    if (jwk == NULL)
        return kr_error_set(err, KR_E_SYSTEM, "test JSON does not parse");
    rc = kr_jwk_parse(jwk, min_bits, &key, kid, NULL, err);
    kr_rsakey_free(key);
    json_decref(jwk);
    return rc;
}

/* Copies a JWK object, sets or removes one member, and checks that parsing
 * the result fails with KR_E_INPUT and a message containing word. value
 * NULL removes the member. */
static void
check_jwk_refused(const char *name, const json_t *base, const char *member,
                  json_t *value, const char *word)
{
    json_t *jwk = json_deep_copy(base);
    kr_rsakey *key = NULL;
    char kid[KR_KID_SIZE];
    kr_error err = {KR_OK, ""};
    kr_code rc;

    if (value != NULL)
        json_object_set_new(jwk, member, value);
    else
        json_object_del(jwk, member);

    rc = kr_jwk_parse(jwk, 2048, &key, kid, NULL, &err);
    tap_ok(rc == KR_E_INPUT && key == NULL, "jwk refused: %s", name);
    if (!tap_ok(strstr(err.msg, word) != NULL, "jwk refused: %s: message",
                name))
        tap_diag("message: %s", err.msg);
    kr_rsakey_free(key);
    json_decref(jwk);
}

static void
test_rfc7638(void)
{
    json_t *jwk = json_loads(rfc7638_jwk, 0, NULL);
    kr_rsakey *key = NULL;
    char kid[KR_KID_SIZE];
    char thumbprint[KR_THUMBPRINT_SIZE];
    kr_error err = {KR_OK, ""};

    if (!tap_ok(kr_jwk_parse(jwk, 2048, &key, kid, NULL, &err) == KR_OK,
                "rfc7638: example JWK loads")) {
        tap_diag("%s", err.msg);
        goto out;
    }
    tap_str_eq(kid, "2011-04-29", "rfc7638: kid taken from the JWK");
    tap_ok(!kr_rsakey_has_private(key), "rfc7638: public key only");
    kr_rsakey_thumbprint(key, thumbprint);
    tap_str_eq(thumbprint, rfc7638_thumbprint, "rfc7638: thumbprint");

out:
    kr_rsakey_free(key);
    json_decref(jwk);
}

static void
test_public_roundtrip(const kr_rsakey *key)
{
    json_t *jwk = kr_jwk_public(key, "k-2024.01_a");
    json_t *bare = kr_jwk_public(key, NULL);
    kr_rsakey *back = NULL;
    char *text = NULL;
    char kid[KR_KID_SIZE];
    char want[KR_THUMBPRINT_SIZE], got[KR_THUMBPRINT_SIZE];
    kr_error err = {KR_OK, ""};

    if (!tap_ok(jwk != NULL && bare != NULL, "public jwk: built"))
        goto out;

    text = json_dumps(jwk, JSON_COMPACT | JSON_PRESERVE_ORDER);
    tap_ok(strncmp(text,
                   "{\"kty\":\"RSA\",\"kid\":\"k-2024.01_a\",\"use\":\"sig\","
                   "\"alg\":\"RS256\",\"n\":\"",
                   55)
               == 0,
           "public jwk: members kty, kid, use, alg, n in order");
    tap_ok(json_object_size(jwk) == 6, "public jwk: six members, no d");
    tap_str_eq(json_string_value(json_object_get(jwk, "e")), "AQAB",
               "public jwk: e is AQAB");
    tap_ok(json_object_get(bare, "kid") == NULL,
           "public jwk: no kid member without a kid");

    if (!tap_ok(kr_jwk_parse(jwk, 2048, &back, kid, NULL, &err) == KR_OK,
                "public jwk: parses back")) {
        tap_diag("%s", err.msg);
        goto out;
    }
    tap_str_eq(kid, "k-2024.01_a", "public jwk: kid survives");
    tap_ok(kr_rsakey_same_public(key, back), "public jwk: same n and e");
    tap_ok(!kr_rsakey_has_private(back), "public jwk: no private part");
    kr_rsakey_thumbprint(key, want);
    kr_rsakey_thumbprint(back, got);
    tap_str_eq(got, want, "public jwk: same thumbprint");

out:
    free(text);
    kr_rsakey_free(back);
    json_decref(bare);
    json_decref(jwk);
}

static void
test_private_roundtrip(const kr_rsakey *key, const kr_rsakey *public_only)
{
    static const uint8_t msg[] = "keyrot private JWK round trip";
    json_t *jwk = NULL;
    json_t *none = NULL;
    kr_rsakey *back = NULL;
    char kid[KR_KID_SIZE];
    uint8_t sig_a[KR_RSA_MAX_SIG_SIZE], sig_b[KR_RSA_MAX_SIG_SIZE];
    size_t len_a = 0, len_b = 0;
    kr_error err = {KR_OK, ""};
    static const char *const members[] = {"d", "p", "q", "dp", "dq", "qi"};
    size_t i;
    int all = 1;

    if (!tap_ok(kr_jwk_private(key, "k1", &jwk, &err) == KR_OK,
                "private jwk: built")) {
        tap_diag("%s", err.msg);
        goto out;
    }
    for (i = 0; i < sizeof(members) / sizeof(members[0]); i++)
        all &= json_is_string(json_object_get(jwk, members[i]));
    tap_ok(all, "private jwk: has d, p, q, dp, dq, qi");

    if (!tap_ok(kr_jwk_parse(jwk, 2048, &back, kid, NULL, &err) == KR_OK,
                "private jwk: parses back")) {
        tap_diag("%s", err.msg);
        goto out;
    }
    tap_ok(kr_rsakey_has_private(back), "private jwk: private part back");
    tap_ok(kr_rsakey_same_public(key, back), "private jwk: same public key");

    kr_rsakey_sign_rs256(key, msg, sizeof(msg), sig_a, &len_a, &err);
    kr_rsakey_sign_rs256(back, msg, sizeof(msg), sig_b, &len_b, &err);
    tap_ok(len_a == len_b && len_a > 0 && memcmp(sig_a, sig_b, len_a) == 0,
           "private jwk: both keys sign identically");

    kr_error_clear(&err);
    tap_ok(kr_jwk_private(public_only, "k1", &none, &err) == KR_E_REFUSED
               && none == NULL,
           "private jwk: refused for a public key");

out:
    kr_rsakey_free(back);
    json_decref(none);
    json_decref(jwk);
}

static void
test_refusals(const kr_rsakey *key)
{
    json_t *pub = kr_jwk_public(key, "k1");
    json_t *priv = NULL;
    json_t *swapped = NULL;
    json_t *n_padded;
    char *n_text;
    kr_error err = {KR_OK, ""};

    kr_jwk_private(key, "k1", &priv, &err);

    /* n with one 0x00 octet in front: base64url of 0x00 || n. Shifting the
     * text is not enough, so rebuild it from the bytes. */
    {
        kr_bytes n = kr_rsakey_n(key);
        uint8_t *padded = malloc(n.len + 1);

        padded[0] = 0;
        memcpy(padded + 1, n.data, n.len);
        n_text = kr_b64url_encode(padded, n.len + 1);
        n_padded = json_string(n_text);
        free(padded);
        free(n_text);
    }

    check_jwk_refused("kty EC", pub, "kty", json_string("EC"), "not RSA");
    check_jwk_refused("kty OKP", pub, "kty", json_string("OKP"), "not RSA");
    check_jwk_refused("no kty", pub, "kty", NULL, "no kty");
    check_jwk_refused("kty a number", pub, "kty", json_integer(1), "kty");
    check_jwk_refused("use enc", pub, "use", json_string("enc"), "use");
    check_jwk_refused("alg RS512", pub, "alg", json_string("RS512"), "alg");
    check_jwk_refused("key_ops encrypt", pub, "key_ops",
                      json_pack("[s]", "encrypt"), "key_ops");
    check_jwk_refused("no n", pub, "n", NULL, "\"n\"");
    check_jwk_refused("no e", pub, "e", NULL, "\"e\"");
    check_jwk_refused("n a number", pub, "n", json_integer(5), "\"n\"");
    check_jwk_refused("n empty", pub, "n", json_string(""), "empty");
    check_jwk_refused("n leading zero", pub, "n", n_padded, "leading zero");
    check_jwk_refused("e leading zero", pub, "e", json_string("AAEAAQ"),
                      "leading zero");
    check_jwk_refused("e padded with =", pub, "e", json_string("AQAB="),
                      "base64url");
    check_jwk_refused("e standard alphabet", pub, "e", json_string("A+AB"),
                      "base64url");
    check_jwk_refused("e even (65536)", pub, "e", json_string("AQAA"), "even");
    check_jwk_refused("e = 1", pub, "e", json_string("AQ"), "1");
    check_jwk_refused("kid with space", pub, "kid", json_string("k 1"),
                      "valid key ID");
    check_jwk_refused("kid too long", pub, "kid",
                      json_string("kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
                                  "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
                                  "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
                                  "kkk"),
                      "valid key ID");
    check_jwk_refused("kid a number", pub, "kid", json_integer(1),
                      "not a string");
    check_jwk_refused("private without qi", priv, "qi", NULL, "qi");
    check_jwk_refused("multi-prime oth", priv, "oth", json_array(), "oth");

    /* p and q swapped: dp, dq and qi no longer match them. */
    swapped = json_deep_copy(priv);
    json_object_set(swapped, "p", json_object_get(priv, "q"));
    json_object_set(swapped, "q", json_object_get(priv, "p"));
    kr_error_clear(&err);
    {
        kr_rsakey *k = NULL;
        char kid[KR_KID_SIZE];

        tap_ok(kr_jwk_parse(swapped, 2048, &k, kid, NULL, &err) == KR_E_INPUT,
               "jwk refused: private with p and q swapped");
        tap_diag("message: %s", err.msg);
        kr_rsakey_free(k);
    }

    kr_error_clear(&err);
    tap_ok(jwk_text_parse("[1]", 2048, &err) == KR_E_INPUT,
           "jwk refused: not an object");
    kr_error_clear(&err);
    {
        json_t *copy = json_deep_copy(pub);
        kr_rsakey *k = NULL;
        char kid[KR_KID_SIZE];

        tap_ok(kr_jwk_parse(copy, 4096, &k, kid, NULL, &err) == KR_E_INPUT
                   && strstr(err.msg, "2048 bits; at least 4096") != NULL,
               "jwk refused: under min_bits");
        tap_diag("message: %s", err.msg);
        kr_rsakey_free(k);
        json_decref(copy);
    }

    json_decref(swapped);
    json_decref(priv);
    json_decref(pub);
}

/* Builds {"keys":[...]} text from JWK objects (references are taken). */
static char *
jwks_text(json_t *keys)
{
    json_t *set = json_pack("{s:o}", "keys", keys);
    char *text = json_dumps(set, JSON_COMPACT);

    json_decref(set);
    return text;
}

/* Parses a JWK Set text, frees the entries and returns the code. */
static kr_code
jwks_try(const char *text, size_t *n_entries, kr_warnings *warnings,
         kr_error *err)
{
    kr_jwks_entry *entries = NULL;
    kr_code rc;

    *n_entries = 0;
    rc = kr_jwks_parse(text, strlen(text), 2048, &entries, n_entries, warnings,
                       err);
    kr_jwks_entries_free(entries, *n_entries);
    return rc;
}

static void
test_jwks_built(const kr_rsakey *a, const kr_rsakey *b)
{
    json_t *ec = json_pack("{s:s, s:s, s:s, s:s, s:s}", "kty", "EC", "kid",
                           "ec-1", "crv", "P-256", "x", "AA", "y", "AA");
    json_t *no_kid = kr_jwk_public(b, NULL);
    json_t *priv = NULL;
    kr_jwks_entry *entries = NULL;
    size_t n = 0;
    kr_warnings warnings = {0};
    kr_error err = {KR_OK, ""};
    char *text;

    text = jwks_text(
        json_pack("[o, o]", kr_jwk_public(a, "a"), kr_jwk_public(b, "b")));
    tap_ok(
        kr_jwks_parse(text, strlen(text), 2048, &entries, &n, &warnings, &err)
                == KR_OK
            && n == 2,
        "jwks: two keys load");
    tap_ok(n == 2 && strcmp(entries[0].kid, "a") == 0
               && strcmp(entries[1].kid, "b") == 0,
           "jwks: kids in document order");
    tap_ok(n == 2 && kr_rsakey_same_public(entries[0].key, a)
               && kr_rsakey_same_public(entries[1].key, b),
           "jwks: keys match their kids");
    tap_ok(warnings.n_warnings == 0, "jwks: no warnings");
    kr_jwks_entries_free(entries, n);
    free(text);

    memset(&warnings, 0, sizeof(warnings));
    text = jwks_text(json_pack("[o, O, o]", kr_jwk_public(a, "a"), ec,
                               kr_jwk_public(b, "b")));
    tap_ok(jwks_try(text, &n, &warnings, &err) == KR_OK && n == 2,
           "jwks: EC key skipped, RSA keys kept");
    tap_ok(warnings.n_warnings == 1
               && strstr(warnings.msg[0], "\"ec-1\"") != NULL,
           "jwks: warning names the skipped kid");
    tap_diag("warning: %s", warnings.msg[0]);
    free(text);

    /* RSA keys published for encryption or another algorithm are not
     * RS256 keys: skipped like the EC key, not fatal to the set. */
    memset(&warnings, 0, sizeof(warnings));
    {
        json_t *enc = kr_jwk_public(b, "b-enc");
        json_t *rs512 = kr_jwk_public(b, "b-512");

        json_object_set_new(enc, "use", json_string("enc"));
        json_object_set_new(rs512, "alg", json_string("RS512"));
        text = jwks_text(
            json_pack("[o, o, o]", kr_jwk_public(a, "a"), enc, rs512));
    }
    tap_ok(jwks_try(text, &n, &warnings, &err) == KR_OK && n == 1,
           "jwks: use enc and alg RS512 keys skipped");
    tap_ok(warnings.n_warnings == 2
               && strstr(warnings.msg[0], "\"b-enc\"") != NULL
               && strstr(warnings.msg[1], "\"b-512\"") != NULL,
           "jwks: one warning per skipped key");
    free(text);

    memset(&warnings, 0, sizeof(warnings));
    kr_jwk_private(a, "a", &priv, &err);
    text = jwks_text(json_pack("[o]", priv));
    tap_ok(
        kr_jwks_parse(text, strlen(text), 2048, &entries, &n, &warnings, &err)
                == KR_OK
            && n == 1,
        "jwks: private JWK in a set loads");
    tap_ok(n == 1 && !kr_rsakey_has_private(entries[0].key),
           "jwks: only the public part of a private JWK is kept");
    tap_ok(warnings.n_warnings == 1
               && strstr(warnings.msg[0], "private") != NULL,
           "jwks: private members are reported");
    kr_jwks_entries_free(entries, n);
    free(text);

    kr_error_clear(&err);
    text = jwks_text(json_pack("[o, o]", kr_jwk_public(a, "same"),
                               kr_jwk_public(b, "same")));
    tap_ok(jwks_try(text, &n, NULL, &err) == KR_E_INPUT
               && strstr(err.msg, "two keys with kid \"same\"") != NULL,
           "jwks: duplicate kid rejects the set");
    tap_diag("message: %s", err.msg);
    free(text);

    kr_error_clear(&err);
    text = jwks_text(json_pack("[o, O]", kr_jwk_public(a, "a"), no_kid));
    tap_ok(jwks_try(text, &n, NULL, &err) == KR_E_INPUT
               && strstr(err.msg, "keys[1]") != NULL
               && strstr(err.msg, "without a kid") != NULL,
           "jwks: RSA key without kid rejects the set");
    tap_diag("message: %s", err.msg);
    free(text);

    kr_error_clear(&err);
    tap_ok(jwks_try("{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"x\",\"n\":\"AQAB\","
                    "\"e\":\"AQAB\"}]}",
                    &n, NULL, &err)
                   == KR_E_INPUT
               && strstr(err.msg, "keys[0]") != NULL,
           "jwks: invalid RSA key rejects the set");
    tap_diag("message: %s", err.msg);

    kr_error_clear(&err);
    tap_ok(jwks_try("{\"keys\":[{\"kid\":\"x\"}]}", &n, NULL, &err)
                   == KR_E_INPUT
               && strstr(err.msg, "no kty") != NULL,
           "jwks: key without kty rejects the set");

    kr_error_clear(&err);
    tap_ok(jwks_try("{\"keys\":[\"x\"]}", &n, NULL, &err) == KR_E_INPUT,
           "jwks: key that is not an object rejects the set");

    kr_error_clear(&err);
    tap_ok(jwks_try("{\"keys\":[]}", &n, NULL, &err) == KR_OK && n == 0,
           "jwks: empty set loads with no entries");

    kr_error_clear(&err);
    tap_ok(jwks_try("{\"keys\":{}}", &n, NULL, &err) == KR_E_INPUT
               && strstr(err.msg, "\"keys\" array") != NULL,
           "jwks: keys not an array");

    kr_error_clear(&err);
    tap_ok(jwks_try("{\"kty\":\"RSA\"}", &n, NULL, &err) == KR_E_INPUT,
           "jwks: a single JWK is not a set");

    kr_error_clear(&err);
    tap_ok(jwks_try("{\"keys\":[],\"keys\":[]}", &n, NULL, &err) == KR_E_INPUT,
           "jwks: duplicate keys member rejects the set");

    kr_error_clear(&err);
    tap_ok(jwks_try("{\"keys\":[\n{\"kty\":", &n, NULL, &err) == KR_E_INPUT
               && strstr(err.msg, "line 2") != NULL,
           "jwks: broken JSON names the line");
    tap_diag("message: %s", err.msg);

    json_decref(no_kid);
    json_decref(ec);
}

/* ---- interop fixtures ------------------------------------------------ */

static char *
file_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long size;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0
        && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)size + 1);
        if (buf != NULL && fread(buf, 1, (size_t)size, f) != (size_t)size) {
            free(buf);
            buf = NULL;
        }
        if (buf != NULL) {
            buf[size] = '\0';
            *len = (size_t)size;
        }
    }
    fclose(f);
    return buf;
}

/* Checks that the entries carry the comma-separated kids and thumbprints
 * of a manifest row, in order. */
static void
check_entries(const char *name, const kr_jwks_entry *entries, size_t n,
              const char *kids, const char *thumbprints)
{
    char expected[4096];
    char thumbprint[KR_THUMBPRINT_SIZE];
    size_t i = 0;
    int kids_ok = 1, thumbs_ok = 1;
    char *item, *save = NULL;

    snprintf(expected, sizeof(expected), "%s", kids);
    for (item = strtok_r(expected, ",", &save); item != NULL;
         item = strtok_r(NULL, ",", &save), i++) {
        if (i >= n || strcmp(entries[i].kid, item) != 0)
            kids_ok = 0;
    }
    tap_ok(kids_ok && i == n, "interop %s: kids as in the manifest", name);

    i = 0;
    snprintf(expected, sizeof(expected), "%s", thumbprints);
    for (item = strtok_r(expected, ",", &save); item != NULL;
         item = strtok_r(NULL, ",", &save), i++) {
        if (i >= n)
            break;
        kr_rsakey_thumbprint(entries[i].key, thumbprint);
        if (strcmp(thumbprint, item) != 0) {
            tap_diag("%s: got %s, want %s", entries[i].kid, thumbprint, item);
            thumbs_ok = 0;
        }
    }
    tap_ok(thumbs_ok && i == n, "interop %s: thumbprints as in the manifest",
           name);
}

static void
check_fixture_row(const char *dir, char *const cols[])
{
    char path[4096];
    char *text;
    size_t len = 0;
    kr_jwks_entry *entries = NULL;
    size_t n = 0;
    kr_warnings warnings = {0};
    kr_error err = {KR_OK, ""};
    const char *expected = cols[3];
    kr_code rc;
    size_t i;

    snprintf(path, sizeof(path), "%s/%s", dir, cols[0]);
    text = file_read(path, &len);
    if (!tap_ok(text != NULL, "interop %s: readable", cols[0]))
        return;

    rc = kr_jwks_parse(text, len, 2048, &entries, &n, &warnings, &err);

    if (strncmp(expected, "jwks rejected", 13) == 0) {
        tap_ok(rc == KR_E_INPUT && entries == NULL, "interop %s: rejected",
               cols[0]);
        tap_diag("message: %s", err.msg);
    } else if (strncmp(expected, "jwks ok keys=", 13) == 0) {
        if (tap_ok(rc == KR_OK, "interop %s: loads", cols[0]))
            check_entries(cols[0], entries, n, cols[4], cols[6]);
        else
            tap_diag("message: %s", err.msg);
    } else if (strncmp(expected, "jwks ok:", 8) == 0) {
        /* An EC key among RSA keys: skipped with a warning, and its kid
         * must never resolve. */
        tap_ok(rc == KR_OK && n == 9, "interop %s: RSA keys load", cols[0]);
        tap_ok(warnings.n_warnings == 1
                   && strstr(warnings.msg[0], cols[4]) != NULL,
               "interop %s: warning names %s", cols[0], cols[4]);
        for (i = 0; i < n; i++) {
            if (strcmp(entries[i].kid, cols[4]) == 0)
                break;
        }
        tap_ok(i == n, "interop %s: no entry for %s", cols[0], cols[4]);
    } else {
        tap_ok(0, "interop %s: unknown verdict %s", cols[0], expected);
    }

    kr_jwks_entries_free(entries, n);
    free(text);
}

static void
test_fixtures(void)
{
    const char *dir = getenv("KR_FIXTURES");
    char path[4096];
    char *manifest;
    size_t len = 0;
    size_t n_rows = 0;
    char *line, *next;

    if (dir == NULL || dir[0] == '\0') {
        tap_ok(1, "interop JWK Sets # SKIP KR_FIXTURES is not set");
        return;
    }

    /* make check always sets KR_FIXTURES, to the folder beside the
     * checkout, which a clone without that folder lacks. */
    snprintf(path, sizeof(path), "%s/manifest.tsv", dir);
    if (access(path, R_OK) != 0) {
        tap_ok(1, "interop JWK Sets # SKIP no manifest.tsv in KR_FIXTURES");
        return;
    }

    snprintf(path, sizeof(path), "%s/manifest.tsv", dir);
    manifest = file_read(path, &len);
    if (!tap_ok(manifest != NULL, "interop: manifest is readable"))
        return;

    for (line = manifest; line != NULL && *line != '\0'; line = next) {
        char *cols[12];
        size_t n_cols = 0;
        char *p = line;

        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        while (n_cols < 12) {
            cols[n_cols++] = p;
            p = strchr(p, '\t');
            if (p == NULL)
                break;
            *p++ = '\0';
        }
        if (n_cols < 7 || strncmp(cols[0], "jwks/", 5) != 0)
            continue;
        check_fixture_row(dir, cols);
        n_rows++;
    }
    tap_ok(n_rows == 8, "interop: all %zu JWK Sets of the manifest ran",
           n_rows);
    free(manifest);
}

int
main(void)
{
    kr_rsakey *a = NULL;
    kr_rsakey *b = NULL;
    kr_rsakey *public_only = NULL;
    kr_error err = {KR_OK, ""};
    kr_bytes n, e;

    test_rfc7638();

    if (!tap_ok(kr_rsakey_generate(2048, &a, &err) == KR_OK
                    && kr_rsakey_generate(2048, &b, &err) == KR_OK,
                "setup: two 2048-bit keys generated")) {
        tap_diag("%s", err.msg);
        goto out;
    }
    n = kr_rsakey_n(a);
    e = kr_rsakey_e(a);
    kr_rsakey_from_public(n.data, n.len, e.data, e.len, &public_only, &err);

    test_public_roundtrip(a);
    test_private_roundtrip(a, public_only);
    test_refusals(a);
    test_jwks_built(a, b);
    test_fixtures();

out:
    kr_rsakey_free(public_only);
    kr_rsakey_free(b);
    kr_rsakey_free(a);
    return tap_done();
}
