/*
 * store_int.h — private to the store module (store.c, store_queue.c,
 * store_run.c): the connection and the helpers that record the last error
 * for store_errmsg().  Nothing outside the store includes it.
 */
#ifndef CNTB_STORE_INT_H
#define CNTB_STORE_INT_H

#include "store.h"

#include <sqlite3.h>
#include <stdbool.h>

#define STORE_NOW "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"

struct store {
    sqlite3 *db;     /* the connection, owned */
    bool readonly;   /* opened with SQLITE_OPEN_READONLY */
    char err[512];   /* the last error, "" when none */
};

/* Records the error for store_errmsg(). */
void store_seterr(store_t *self, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Runs SQL without results; 0 or -1 with the error recorded. */
int store_exec(store_t *self, const char *sql);

/* Prepares sql; a fresh statement (sqlite3_finalize), or NULL with the error recorded. */
sqlite3_stmt *store_prepare(store_t *self, const char *sql);

/*
 * Prepares sql, binds id to ?1 and steps once: 1 with the row in *st (the
 * caller reads it, then sqlite3_finalize(*st)), 0 when there is no row, -1
 * with the error recorded; *st is NULL unless 1 is returned.
 */
int store_row_by_id(store_t *self, const char *sql, int64_t id, sqlite3_stmt **st);

/* Steps a statement that returns no row; 0 or -1 with the error recorded. */
int store_step_done(store_t *self, sqlite3_stmt *st);

/* Back to synchronous = NORMAL after a durable commit; keeps the last error. */
void store_durable_end(store_t *self);

/* Rolls back the open transaction, if any; keeps the error that caused it. */
void store_rollback(store_t *self);

/* A fresh copy of column i's text, NULL when the column is NULL (or out of memory). */
char *store_col_dup(sqlite3_stmt *st, int i);

#endif
