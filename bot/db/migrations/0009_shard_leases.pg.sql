-- PostgreSQL twin of 0009_shard_leases.sql.
-- Scale-out (issue 12): processes sharing one database split Discord's shards between them.
-- shard_leases is the fence: a process serves a shard only while it holds the shard's row, and
-- renews it every ~10 s for ~30 s ahead; a row whose lease_until has passed is free again.
CREATE TABLE shard_leases (
    shard_id     BIGINT PRIMARY KEY,
    shard_count  BIGINT  NOT NULL,   -- every process must agree on SHARD_COUNT
    holder       TEXT NOT NULL,      -- host:pid:random of the process holding it
    lease_until  TEXT NOT NULL,      -- UTC, see bot.timeutil
    claimed_at   TEXT NOT NULL
);

-- A job is claimed with a lease and finished only by the claim that still holds it.
ALTER TABLE jobs ADD COLUMN lease_holder TEXT;
ALTER TABLE jobs ADD COLUMN lease_until TEXT;
