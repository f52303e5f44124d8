-- The outbox: every message Kindred sends, edits or opens (a thread) on Discord, one row each.
-- A feature inserts its row in the transaction that decides the message; the runner
-- (bot/outbox/runner.py) sends it with the row's nonce and records the outcome. The UNIQUE
-- dedupe_key makes "this message once" a database fact.
--
-- state: pending (never tried) -> sending (an attempt may have reached Discord) -> sent, or
-- failed (refused for good, or expired), refused (DMs closed), cancelled (no longer wanted).
-- claimed_at is the first attempt that may have reached Discord: a resend with the nonce is
-- safe only within Discord's nonce window after it; past it the channel is read back first.
-- lease_holder/lease_until fence a claim: a row is finished only by the claim that still holds
-- its lease, so two processes (issue 12) never both record one row.
CREATE TABLE outbox (
    id                 INTEGER PRIMARY KEY,
    guild_id           INTEGER NOT NULL REFERENCES guilds(guild_id) ON DELETE CASCADE,
    dedupe_key         TEXT NOT NULL UNIQUE,      -- e.g. 'pairing.intro:<round>:<user>'
    kind               TEXT NOT NULL,             -- names the renderer and the hooks
    channel_id         INTEGER,                   -- channel or thread; a DM's channel once known
    recipient_user_id  INTEGER,                   -- a DM's member
    edit_message_id    INTEGER,                   -- the message an edit changes
    payload            TEXT NOT NULL DEFAULT '{}', -- JSON for the renderer; emptied when finished
    nonce              TEXT NOT NULL,             -- <= 25 characters, from the dedupe key
    state              TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'refused', 'cancelled')),
    attempts           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at    TEXT NOT NULL,
    claimed_at         TEXT,
    expires_at         TEXT,
    last_error         TEXT,
    message_id         INTEGER,                   -- Discord's id once sent
    created_at         TEXT NOT NULL,
    sent_at            TEXT,
    finished_at        TEXT,                      -- when it left pending/sending (retention)
    lease_holder        TEXT,
    lease_until        TEXT
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state IN ('pending', 'sending');
CREATE INDEX outbox_leased ON outbox (lease_until) WHERE lease_holder IS NOT NULL;
CREATE INDEX outbox_by_guild ON outbox (guild_id, kind, state);
CREATE INDEX outbox_finished ON outbox (finished_at) WHERE finished_at IS NOT NULL;
