#!/usr/bin/env bash
# Capture sqlite3 running an insert-and-scan workload: create a table with an
# index, insert 200 rows of 900 bytes in two transactions (journal and
# database writes), update a few, then reopen the database (a fresh page
# cache) and scan it twice, the second time through the index.
#
# Debian 12 (bookworm) packages: sqlite3 3.40.1-2+deb12u2, valgrind
# 1:3.19.0-1, strace 6.1-0.1, libc6 2.36-9+deb12u14
#     apt-get install sqlite3 valgrind strace
# usage: scripts/capture_sqlite.sh [SCIMITAR [OUTDIR]]   (OUTDIR: the source tree)
source "$(dirname "$0")/capture_common.sh"

cat > "$W/workload.sql" <<'SQL'
PRAGMA page_size=4096;
PRAGMA journal_mode=DELETE;
CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, pad BLOB);
CREATE INDEX tk ON t(k);
BEGIN;
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<100) INSERT INTO t SELECT x, (x*7919)%1000, zeroblob(900) FROM c;
COMMIT;
BEGIN;
WITH RECURSIVE c(x) AS (SELECT 101 UNION ALL SELECT x+1 FROM c WHERE x<200) INSERT INTO t SELECT x, (x*7919)%1000, zeroblob(900) FROM c;
COMMIT;
UPDATE t SET k = k + 1 WHERE id % 25 = 0;
.open t.db
SELECT count(*), sum(length(pad)) FROM t;
SELECT sum(length(pad)) FROM t WHERE k BETWEEN 100 AND 300;
SQL

cd "$W"
lackey_run "$W/sqlite.lackey.log" sqlite3 t.db < workload.sql > /dev/null
rm -f t.db t.db-journal
strace_run "$W/sqlite.strace.log" sqlite3 t.db < workload.sql > /dev/null
bundle sqlite "sqlite3 (3.40.1, Debian 12) inserting 200 rows and scanning them from a fresh connection."
