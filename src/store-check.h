/* SPDX-License-Identifier: MIT */
/*
 * Checking a store's integrity and invariants. The checks are SQLite's own
 * page and index check, at most one active key, timestamps that match each
 * key's state, thumbprints that match the stored public keys, private
 * parts that parse and belong to their public keys, and each key's state
 * against the newest state its audit records name (store-history.h). It
 * only reads and never repairs. The audit module checks the audit chain,
 * not this one.
 */
#ifndef KEYROT_STORE_CHECK_H
#define KEYROT_STORE_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "kid.h"
#include "store.h"

/* One problem that kr_store_check found. */
typedef struct kr_check_problem {
    char check[16];        /* "integrity", "active", "state", "thumbprint",
                              "private" or "history" */
    char kid[KR_KID_SIZE]; /* "" when the problem concerns no one key */
    char detail[256];      /* for people */
} kr_check_problem;

/* What kr_store_check found. Release with kr_check_report_clear. */
typedef struct kr_check_report {
    size_t n_keys; /* keys examined */
    size_t n_problems;
    kr_check_problem *problems; /* malloc'd array of n_problems */
    size_t n_skipped;
    kr_check_problem *skipped; /* malloc'd array of n_skipped: checks
                                  that could not run, and why; not
                                  failures */
    bool damaged;              /* SQLite found the file corrupt or not a
                                  database, so the checks stopped there;
                                  problems names it */
} kr_check_report;

/* Runs every check on one consistent snapshot of the store and fills
 * *report (which it first clears to empty). A file that SQLite finds
 * corrupt or not a database while checking is a problem (report->damaged),
 * not an error. Returns KR_OK when the checks ran, whatever they found;
 * KR_E_SYSTEM when they could not run. */
kr_code kr_store_check(kr_store *store, kr_check_report *report,
                       kr_error *err);

/* Checks the file at path that kr_store_open could not open. When SQLite
 * finds it corrupt or not a database, fills *report with that problem and
 * sets report->damaged. Otherwise it leaves the report empty, so the open
 * error is the one to report (permissions, another program's database). Opens
 * the file read-only and changes nothing. Returns KR_OK, or KR_E_SYSTEM when
 * out of memory. */
kr_code kr_store_check_file(const char *path, kr_check_report *report,
                            kr_error *err);

/* Runs only the history check: each key's state against its audit
 * records. Fills *report like kr_store_check; n_keys stays 0. */
kr_code kr_store_check_history(kr_store *store, kr_check_report *report,
                               kr_error *err);

/* Frees the problems and skipped checks of a report; the report may be reused
 * afterwards. */
void kr_check_report_clear(kr_check_report *report);

#endif
