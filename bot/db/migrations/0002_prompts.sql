-- Daily growth prompts: a guild's schedule, its own prompts, hidden built-ins, every post
-- (the record of each use and the exactly-once claim), and members' suggestions.

CREATE TABLE prompt_settings (
    guild_id     INTEGER PRIMARY KEY NOT NULL REFERENCES guilds(guild_id) ON DELETE CASCADE,
    channel_id   INTEGER NOT NULL,
    post_time    TEXT NOT NULL,               -- 'HH:MM', the guild's local wall time
    weekends     INTEGER NOT NULL DEFAULT 0,
    threads      INTEGER NOT NULL DEFAULT 1,
    role_id      INTEGER,                     -- the only role a post may mention
    paused       INTEGER NOT NULL DEFAULT 0,
    active_since TEXT NOT NULL                -- UTC; slots before it are never "missed"
);

-- Prompt id of a custom prompt is 'c' || id (see bot.prompts.rotation.custom_prompt_id).
CREATE TABLE custom_prompts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id   INTEGER NOT NULL REFERENCES guilds(guild_id) ON DELETE CASCADE,
    text       TEXT NOT NULL,
    text_key   TEXT NOT NULL,                 -- bot.prompts.importing.prompt_key(text)
    source     TEXT NOT NULL CHECK (source IN ('admin', 'import', 'suggestion')),
    created_at TEXT NOT NULL,
    UNIQUE (guild_id, text_key)
);

CREATE TABLE hidden_prompts (
    guild_id  INTEGER NOT NULL REFERENCES guilds(guild_id) ON DELETE CASCADE,
    prompt_id TEXT NOT NULL,                  -- a built-in id such as 'b012'
    hidden_at TEXT NOT NULL,
    PRIMARY KEY (guild_id, prompt_id)
);

-- One row per post attempt. A daily row is claimed ('sending') before anything is sent; the
-- partial unique index makes "one daily post per guild and local date" a database fact.
-- Rows in 'sending' or 'sent' are the prompts used in their cycle; 'failed' and 'skipped' rows
-- use nothing. The send nonce is derived from id, so a resend after a crash is deduplicated.
CREATE TABLE prompt_posts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id    INTEGER NOT NULL REFERENCES guilds(guild_id) ON DELETE CASCADE,
    local_date  TEXT NOT NULL,                -- the guild's calendar day, 'YYYY-MM-DD'
    extra       INTEGER NOT NULL DEFAULT 0,   -- 1: a post-now after the day's post was out
    status      TEXT NOT NULL CHECK (status IN ('sending', 'sent', 'failed', 'skipped')),
    reason      TEXT,                         -- why it failed or was skipped (or thread trouble)
    prompt_id   TEXT,
    prompt_text TEXT,                         -- a snapshot: the prompt may be removed later
    theme       TEXT,
    cycle       INTEGER,
    channel_id  INTEGER,
    role_id     INTEGER,
    threads     INTEGER NOT NULL DEFAULT 0,
    message_id  INTEGER,
    thread_id   INTEGER,
    due_at      TEXT,                         -- UTC slot time (daily rows)
    claimed_at  TEXT NOT NULL,
    sent_at     TEXT
);
CREATE UNIQUE INDEX prompt_posts_one_daily ON prompt_posts (guild_id, local_date) WHERE extra = 0;
CREATE INDEX prompt_posts_by_guild ON prompt_posts (guild_id, id);
CREATE INDEX prompt_posts_unfinished ON prompt_posts (status) WHERE status = 'sending';

CREATE TABLE prompt_suggestions (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id             INTEGER NOT NULL REFERENCES guilds(guild_id) ON DELETE CASCADE,
    suggested_by_user_id INTEGER NOT NULL,
    text                 TEXT NOT NULL,
    status               TEXT NOT NULL DEFAULT 'pending'
                         CHECK (status IN ('pending', 'approved', 'rejected')),
    created_at           TEXT NOT NULL,
    decided_at           TEXT,
    decided_by_user_id   INTEGER,
    custom_prompt_id     INTEGER REFERENCES custom_prompts(id) ON DELETE SET NULL,
    -- The approval DM: claimed ('sending') before sending, nonce derived from id.
    dm_status            TEXT CHECK (dm_status IN ('sending', 'sent', 'failed')),
    dm_reason            TEXT
);
CREATE INDEX prompt_suggestions_pending ON prompt_suggestions (guild_id, status, id);
