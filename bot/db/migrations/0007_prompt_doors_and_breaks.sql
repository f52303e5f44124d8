-- The daily prompt as a door (issue 15): school breaks, "Talk 1:1 about this" (a talk list per
-- post, paired talk_hours after it as a pairing round of its own), and "Reflect privately"
-- (journal entries, one per member per post).

-- A school break: no prompt, round or check-in on its local dates (inclusive).
CREATE TABLE guild_breaks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id    INTEGER NOT NULL REFERENCES guilds(guild_id) ON DELETE CASCADE,
    start_date  TEXT NOT NULL,               -- 'YYYY-MM-DD', the guild's local date
    end_date    TEXT NOT NULL,               -- inclusive
    note        TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    CHECK (start_date <= end_date)
);
CREATE INDEX guild_breaks_by_guild ON guild_breaks (guild_id, end_date);

-- Hours after a post that its talk list is paired; 0: no "Talk 1:1" button. Posts keep theirs.
ALTER TABLE prompt_settings ADD COLUMN talk_hours INTEGER NOT NULL DEFAULT 6;
ALTER TABLE prompt_posts ADD COLUMN talk_hours INTEGER NOT NULL DEFAULT 0;

-- Members who pressed "Talk 1:1 about this" on a post (pressing again removes the row).
CREATE TABLE talk_signups (
    guild_id      INTEGER NOT NULL REFERENCES guilds(guild_id) ON DELETE CASCADE,
    post_id       INTEGER NOT NULL REFERENCES prompt_posts(id) ON DELETE CASCADE,
    user_id       INTEGER NOT NULL,
    signed_up_at  TEXT NOT NULL,
    PRIMARY KEY (post_id, user_id)
);

-- A talk pairing is a pairing round (slot_key 'talk:<post id>'), so it counts in the history;
-- its private threads go under the post's channel when pairing has no channel of its own.
ALTER TABLE pairing_rounds ADD COLUMN talk_post_id INTEGER;
ALTER TABLE pairing_rounds ADD COLUMN thread_channel_id INTEGER;

-- A member's private reflection on one post; saving again edits it. Only its owner reads it.
CREATE TABLE journal_entries (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id     INTEGER NOT NULL REFERENCES guilds(guild_id) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL,
    post_id      INTEGER NOT NULL REFERENCES prompt_posts(id) ON DELETE CASCADE,
    text         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    shared_at    TEXT,                        -- set once, when "Share to thread" was pressed
    UNIQUE (guild_id, user_id, post_id)
);
CREATE INDEX journal_entries_by_member ON journal_entries (guild_id, user_id, id);
