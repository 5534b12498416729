// SQLite storage
