/* test_nats_creds.c — byron_nats_creds_read (nats_options.h): the JWT and the
 * seed of a .creds file come from one read of it, and the seed signs as the
 * key the operator minted. Files minted by the operator's own code. */
#include "byron/json.h"
#include "nats_options.h"
#include "natsidentity.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char path[64];

static void write_text(const char *text) {
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

static void setup(void) {
    cr_assert_eq(nats_Open(-1), NATS_OK); /* cnats' base32 tables, as in the sidecar */
    snprintf(path, sizeof path, "/tmp/byron-creds-%d.creds", (int)getpid());
}
static void teardown(void) {
    remove(path);
    nats_Close();
}

TestSuite(nats_creds, .init = setup, .fini = teardown);

Test(nats_creds, a_minted_file_gives_its_jwt_and_a_seed_that_signs_as_its_user) {
    byron_natsidentity_t id;
    byron_err_t err;
    json_object *data = byron_natsidentity_generate(&id, time(NULL), &err);
    cr_assert_not_null(data, "%s", err.msg);
    json_object *perm = json_object_new_object();
    byron_nkey_t user;
    char *jwt = byron_natsidentity_mint_jwt(&id, "u", perm, time(NULL), 0, &user, &err);
    cr_assert_not_null(jwt, "%s", err.msg);
    char *creds = byron_natsidentity_mint(&id, "u", perm, time(NULL), 0, &err);
    cr_assert_not_null(creds, "%s", err.msg);
    write_text(creds);

    char *got = NULL, seed[BYRON_NATS_SEED_MAX];
    cr_assert_eq(byron_nats_creds_read(path, &got, seed, &err), BYRON_OK, "%s", err.msg);
    cr_assert(strncmp(got, "eyJ", 3) == 0 && strstr(creds, got), "the JWT of the file: %s", got);
    cr_assert(strncmp(seed, "SU", 2) == 0 && strstr(creds, seed), "the user seed of the file");

    /* cnats signs the nonce with it; the operator's nkeys verify it is the same key */
    unsigned char *sig = NULL, want[64];
    int len = 0;
    natsStatus ns = nats_Sign(seed, "nonce-123", &sig, &len);
    cr_assert_eq(ns, NATS_OK, "nats_Sign: %s", nats_GetLastError(NULL));
    byron_nkey_t k;
    cr_assert_eq(byron_nkey_from_seed(seed, &k, &err), BYRON_OK, "%s", err.msg);
    cr_assert_eq(byron_nkey_sign(&k, "nonce-123", 9, want, &err), BYRON_OK, "%s", err.msg);
    cr_assert_eq(len, 64);
    cr_assert(memcmp(sig, want, 64) == 0, "the seed signs as the minted key");
    free(sig);
    byron_nkey_wipe(&k);
    byron_nkey_wipe(&user);
    free(got);
    free(jwt);
    free(creds);
    json_object_put(perm);
    json_object_put(data);
    byron_nkey_wipe(&id.signing);
}

static void refused(const char *text, const char *why) {
    write_text(text);
    char *jwt = (char *)"untouched", seed[BYRON_NATS_SEED_MAX];
    byron_err_t err;
    cr_assert_eq(byron_nats_creds_read(path, &jwt, seed, &err), BYRON_EINVAL, "%s", why);
    cr_assert_null(jwt, "%s: no JWT handed out", why);
    cr_assert(strstr(err.msg, path), "%s: the message names the file: %s", why, err.msg);
}

Test(nats_creds, what_is_not_a_creds_file_is_refused_with_its_name) {
    refused("", "empty");
    refused("-----BEGIN NATS USER JWT-----\neyJ.a.b\n------END NATS USER JWT------\n", "no seed");
    refused("-----BEGIN USER NKEY SEED-----\nSUAAA\n------END USER NKEY SEED------\n", "no JWT");
    refused("-----BEGIN NATS USER JWT-----\n------END NATS USER JWT------\n"
            "-----BEGIN USER NKEY SEED-----\nSUAAA\n------END USER NKEY SEED------\n",
            "an empty JWT section");
    char seed_long[300];
    memset(seed_long, 'S', sizeof seed_long - 1);
    seed_long[sizeof seed_long - 1] = '\0';
    char text[600];
    snprintf(text, sizeof text,
             "-----BEGIN NATS USER JWT-----\neyJ.a.b\n------END NATS USER JWT------\n"
             "-----BEGIN USER NKEY SEED-----\n%s\n------END USER NKEY SEED------\n",
             seed_long);
    refused(text, "a seed longer than any seed");
    char *big = malloc(70 * 1024);
    memset(big, 'x', 70 * 1024 - 1);
    big[70 * 1024 - 1] = '\0';
    write_text(big);
    free(big);
    char *jwt = NULL, seed[BYRON_NATS_SEED_MAX];
    byron_err_t err;
    cr_assert_neq(byron_nats_creds_read(path, &jwt, seed, &err), BYRON_OK, "a file over 64 KiB");
    cr_assert_null(jwt);
    remove(path);
    cr_assert_neq(byron_nats_creds_read(path, &jwt, seed, &err), BYRON_OK, "a missing file");
}
