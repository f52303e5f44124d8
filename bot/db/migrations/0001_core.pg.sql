-- PostgreSQL twin of 0001_core.sql: guilds, persisted scheduler jobs, and key/value metadata.

CREATE TABLE guilds (
    guild_id   BIGINT PRIMARY KEY,
    timezone   TEXT NOT NULL DEFAULT 'UTC',
    joined_at  TEXT NOT NULL,
    left_at    TEXT            -- set when the bot leaves; data is purged 30 days later
);

CREATE TABLE jobs (
    key        TEXT PRIMARY KEY,   -- unique: one job per purpose, e.g. 'prompt:<guild>'
    kind       TEXT NOT NULL,      -- which handler runs it
    guild_id   BIGINT REFERENCES guilds(guild_id) ON DELETE CASCADE,
    due_at     TEXT NOT NULL,      -- UTC, see bot.timeutil
    payload    TEXT NOT NULL DEFAULT '{}',
    attempts   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX jobs_due ON jobs (due_at);

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
