-- Pairing: the guild's schedule, who opted in, who avoids whom, rounds with their groups, and
-- every message a round sends (intro, check-in, notices), each claimed before it is sent.

CREATE TABLE pairing_settings (
    guild_id    INTEGER PRIMARY KEY REFERENCES guilds(guild_id) ON DELETE CASCADE,
    channel_id  INTEGER NOT NULL,          -- round announcements and private-thread fallback
    role_id     INTEGER,                   -- only members with this role may join (optional)
    cadence     TEXT NOT NULL CHECK (cadence IN ('weekly', 'biweekly', 'monthly')),
    weekday     INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    at_time     TEXT NOT NULL,             -- HH:MM in the guild's timezone
    anchor      TEXT NOT NULL,             -- local date the biweekly cycle counts from
    paused      INTEGER NOT NULL DEFAULT 0,
    updated_at  TEXT NOT NULL
);

-- Opted-in members. A member who leaves the guild is deleted from here at once.
CREATE TABLE pairing_members (
    guild_id      INTEGER NOT NULL REFERENCES guilds(guild_id) ON DELETE CASCADE,
    user_id       INTEGER NOT NULL,
    joined_at     TEXT NOT NULL,
    paused_until  TEXT,                    -- skipped by rounds before this instant
    favoured      INTEGER NOT NULL DEFAULT 0,  -- left without a partner: covered first next round
    PRIMARY KEY (guild_id, user_id)
);

-- "Never pair me with X"; honoured in both directions, never shown to X.
CREATE TABLE pairing_blocks (
    guild_id         INTEGER NOT NULL REFERENCES guilds(guild_id) ON DELETE CASCADE,
    user_id          INTEGER NOT NULL,
    blocked_user_id  INTEGER NOT NULL,
    created_at       TEXT NOT NULL,
    PRIMARY KEY (guild_id, user_id, blocked_user_id)
);

-- One round per scheduled slot ('YYYY-MM-DD HH:MM:SS'), or per run-now ('now:<interaction id>').
CREATE TABLE pairing_rounds (
    round_id    INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL REFERENCES guilds(guild_id) ON DELETE CASCADE,
    slot_key    TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    checkin_at  TEXT NOT NULL,             -- halfway to the next round
    seed        INTEGER NOT NULL,
    starter     TEXT NOT NULL DEFAULT '',  -- the conversation starter sent in every intro
    announce_state TEXT NOT NULL DEFAULT 'pending'  -- the post in the pairing channel
        CHECK (announce_state IN ('pending', 'sending', 'sent', 'failed')),
    UNIQUE (guild_id, slot_key)
);

-- A pair or trio of a round. A group whose members left is kept (history) but marked dissolved.
CREATE TABLE pairing_groups (
    group_id       INTEGER PRIMARY KEY,
    round_id       INTEGER NOT NULL REFERENCES pairing_rounds(round_id) ON DELETE CASCADE,
    guild_id       INTEGER NOT NULL REFERENCES guilds(guild_id) ON DELETE CASCADE,
    size           INTEGER NOT NULL,             -- 2 or 3 when the round made it
    shared_topics  TEXT NOT NULL DEFAULT '[]',   -- JSON list
    thread_id      INTEGER,                      -- private thread, when a DM was refused
    thread_state   TEXT NOT NULL DEFAULT 'none'
        CHECK (thread_state IN ('none', 'wanted', 'sending', 'sent', 'failed')),
    dissolved      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX pairing_groups_round ON pairing_groups (round_id);

-- Everyone a round placed (or could not place): one row per member per round.
CREATE TABLE pairing_assignments (
    round_id     INTEGER NOT NULL REFERENCES pairing_rounds(round_id) ON DELETE CASCADE,
    guild_id     INTEGER NOT NULL REFERENCES guilds(guild_id) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL,
    group_id     INTEGER REFERENCES pairing_groups(group_id) ON DELETE SET NULL,
    outcome      TEXT NOT NULL CHECK (outcome IN ('paired', 'left_out', 'alone', 'partner_left')),
    left_guild   INTEGER NOT NULL DEFAULT 0,
    answer       TEXT CHECK (answer IN ('met', 'not_yet', 'skipped')),
    answered_at  TEXT,
    PRIMARY KEY (round_id, user_id)
);
CREATE INDEX pairing_assignments_group ON pairing_assignments (group_id);
CREATE INDEX pairing_assignments_user ON pairing_assignments (guild_id, user_id);

-- Every message to a member, claimed before sending; delivery_id makes the nonce.
-- kind: 'intro' and 'checkin' once per member per round; 'partner_left' once per departed
-- partner (about_user_id); 'rematched' once per new group (group_id).
CREATE TABLE pairing_deliveries (
    delivery_id    INTEGER PRIMARY KEY,
    round_id       INTEGER NOT NULL REFERENCES pairing_rounds(round_id) ON DELETE CASCADE,
    guild_id       INTEGER NOT NULL REFERENCES guilds(guild_id) ON DELETE CASCADE,
    user_id        INTEGER NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('intro', 'checkin', 'partner_left', 'rematched')),
    about_user_id  INTEGER NOT NULL DEFAULT 0,
    group_id       INTEGER NOT NULL DEFAULT 0,
    state          TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'sending', 'sent', 'refused', 'thread', 'undelivered',
                         'cancelled')),  -- cancelled: the member left the guild first
    message_id     INTEGER,
    created_at     TEXT NOT NULL,
    sent_at        TEXT,
    UNIQUE (round_id, user_id, kind, about_user_id, group_id)
);
CREATE INDEX pairing_deliveries_open ON pairing_deliveries (round_id, state);
