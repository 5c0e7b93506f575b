/*
 * store_testing.h - hooks for tests only: fault injection into a store that
 * production code has no reason to call.  Kept out of store.h so the
 * public interface (and every future backend) stays free of them.
 *
 * Each hook names the backend it works on and returns LW_ERR_INVALID for a
 * handle of another backend.
 */
#ifndef LEADWATCH_STORE_TESTING_H
#define LEADWATCH_STORE_TESTING_H

#include "leadwatch/store/store.h"

/*
 * SQLite: cap the database file at `pages` pages (PRAGMA max_page_count;
 * never below the current size), so later writes fail with SQLITE_FULL as
 * a full disk would.  Works as root, unlike chmod.
 */
lw_err_t lw_store_set_max_pages(lw_store_t *s, int64_t pages, char *errstr, size_t errstr_size);

#endif
