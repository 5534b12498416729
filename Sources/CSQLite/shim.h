#ifndef CSQLITE_SHIM_H
#define CSQLITE_SHIM_H
#include <sqlite3.h>

/// SQLITE_TRANSIENT is a cast macro Swift cannot import: SQLite copies the bound value.
static inline sqlite3_destructor_type csqlite_transient(void) { return SQLITE_TRANSIENT; }

/// sqlite3_config is variadic, which Swift cannot call. Sets the size up to which a statement or
/// savepoint journal stays in memory before it is moved to a temporary file (SQLITE_CONFIG_STMTJRNL_SPILL).
/// Only allowed before SQLite initializes; returns SQLITE_MISUSE after.
static inline int csqlite_config_statement_journal_spill(int bytes) {
    return sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, bytes);
}
#endif
