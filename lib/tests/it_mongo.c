/* it_mongo.c — proof that libmongoc works against the MongoDB-wire server
 * (FerretDB in tests, mongo:7 for users): pool, insert, find, update with an
 * operator, and a unique-index violation reported as such. */
#include "testenv.h"

#include <criterion/criterion.h>
#include <mongoc/mongoc.h>
#include <stdio.h>
#include <unistd.h>

static mongoc_client_pool_t *pool;
static mongoc_uri_t *uri;
static char dbname[64];

static void setup(void) {
    mongoc_init();
    bson_error_t e;
    uri = mongoc_uri_new_with_error(byron_testenv("BYRON_MONGO_URI"), &e);
    cr_assert_not_null(uri, "%s", e.message);
    pool = mongoc_client_pool_new(uri);
    mongoc_client_pool_max_size(pool, 4);
    snprintf(dbname, sizeof dbname, "foundation_%d", (int)getpid());
}

static void teardown(void) {
    mongoc_client_t *c = mongoc_client_pool_pop(pool);
    mongoc_database_t *db = mongoc_client_get_database(c, dbname);
    mongoc_database_drop(db, NULL);
    mongoc_database_destroy(db);
    mongoc_client_pool_push(pool, c);
    mongoc_client_pool_destroy(pool);
    mongoc_uri_destroy(uri);
    mongoc_cleanup();
}

TestSuite(mongo, .init = setup, .fini = teardown);

Test(mongo, insert_find_update_and_unique_violation) {
    mongoc_client_t *c = mongoc_client_pool_pop(pool);
    mongoc_collection_t *coll = mongoc_client_get_collection(c, dbname, "orders");
    bson_error_t e;

    /* libmongoc 1.23 (Debian 12) predates mongoc_index_model_t: send createIndexes. */
    bson_t *cmd =
        BCON_NEW("createIndexes", "orders", "indexes", "[", "{", "key", "{", "customer", BCON_INT32(1), "}",
                 "name", "customer_unique", "unique", BCON_BOOL(true), "}", "]");
    bson_t ireply;
    cr_assert(mongoc_client_write_command_with_opts(c, dbname, cmd, NULL, &ireply, &e), "%s", e.message);
    bson_destroy(&ireply);
    bson_destroy(cmd);

    bson_t *doc = BCON_NEW("_id", "o-1", "customer", "ada", "total", BCON_INT32(10));
    cr_assert(mongoc_collection_insert_one(coll, doc, NULL, NULL, &e), "%s", e.message);
    bson_destroy(doc);

    bson_t *sel = BCON_NEW("_id", "o-1");
    bson_t *upd = BCON_NEW("$inc", "{", "total", BCON_INT32(5), "}", "$set", "{", "status", "OPEN", "}");
    bson_t reply;
    cr_assert(mongoc_collection_update_one(coll, sel, upd, NULL, &reply, &e), "%s", e.message);
    bson_iter_t it;
    cr_assert(bson_iter_init_find(&it, &reply, "modifiedCount"));
    cr_assert_eq(bson_iter_as_int64(&it), 1);
    bson_destroy(&reply);
    bson_destroy(upd);

    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, sel, NULL, NULL);
    const bson_t *found;
    cr_assert(mongoc_cursor_next(cur, &found));
    cr_assert(bson_iter_init_find(&it, found, "total"));
    cr_assert_eq(bson_iter_as_int64(&it), 15);
    cr_assert(bson_iter_init_find(&it, found, "status"));
    cr_assert_str_eq(bson_iter_utf8(&it, NULL), "OPEN");
    cr_assert_not(mongoc_cursor_next(cur, &found));
    cr_assert_not(mongoc_cursor_error(cur, &e), "%s", e.message);
    mongoc_cursor_destroy(cur);
    bson_destroy(sel);

    /* Another order for the same customer breaks the unique index: code 11000. */
    doc = BCON_NEW("_id", "o-2", "customer", "ada");
    cr_assert_not(mongoc_collection_insert_one(coll, doc, NULL, NULL, &e));
    cr_assert_eq(e.code, 11000, "expected a duplicate-key error, got %u: %s", e.code, e.message);
    bson_destroy(doc);
    cr_assert_eq(mongoc_collection_count_documents(coll, &(bson_t)BSON_INITIALIZER, NULL, NULL, NULL, &e), 1);

    mongoc_collection_destroy(coll);
    mongoc_client_pool_push(pool, c);
}
