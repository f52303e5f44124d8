-- Every sender now goes through the outbox (0005). Messages the four old mechanisms left in
-- flight (pending, or sending when the bot stopped) are carried over with their legacy nonces,
-- so a resend is still deduplicated by Discord (or read back first, past its nonce window);
-- then the old send-state columns and tables go. What the features still need of them becomes
-- domain rows: pairing's undelivered intros and asked check-ins, the help ledger's routing
-- record (its caps), who offered to help on an ask, and the ask's channel post.

-- Jobs that only resent what the outbox now resends.
DELETE FROM jobs WHERE kind IN ('prompts.recover', 'pairing.deliver');

-- == Daily prompts ===========================================================================

-- A post being sent when the bot stopped: its outbox row, given up 6 hours after its claim.
INSERT INTO outbox (guild_id, dedupe_key, kind, channel_id, payload, nonce, state, attempts,
                    next_attempt_at, claimed_at, expires_at, created_at)
SELECT p.guild_id, 'prompt.post:' || CAST(p.id AS TEXT), 'prompt.post', p.channel_id,
       json_object('post_id', p.id, 'prompt_id', p.prompt_id, 'text', p.prompt_text,
                   'theme', p.theme, 'local_date', p.local_date, 'role_id', p.role_id,
                   'threads', p.threads),
       'kindred-prompt-' || CAST(p.id AS TEXT), 'sending', 1, p.claimed_at, p.claimed_at,
       datetime(p.claimed_at, '+6 hours'), p.claimed_at
FROM prompt_posts p WHERE p.status = 'sending';

-- The rotation's record keeps its rows; 'claimed' (the prompt is used, the outbox sends it as
-- 'prompt.post:<id>') replaces 'sending'. SQLite cannot change a CHECK in place, so the table
-- is rebuilt (ids and their sequence kept: outbox keys are made of them).
CREATE TABLE prompt_posts_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id    INTEGER NOT NULL REFERENCES guilds(guild_id) ON DELETE CASCADE,
    local_date  TEXT NOT NULL,
    extra       INTEGER NOT NULL DEFAULT 0,
    status      TEXT NOT NULL CHECK (status IN ('claimed', 'sent', 'failed', 'skipped')),
    reason      TEXT,                         -- why it failed or was skipped (or thread trouble)
    prompt_id   TEXT,
    prompt_text TEXT,
    theme       TEXT,
    cycle       INTEGER,
    channel_id  INTEGER,
    role_id     INTEGER,
    threads     INTEGER NOT NULL DEFAULT 0,
    message_id  INTEGER,                      -- recorded when the outbox has sent it
    thread_id   INTEGER,                      -- recorded when its thread is open
    due_at      TEXT,
    claimed_at  TEXT NOT NULL,
    sent_at     TEXT
);
INSERT INTO prompt_posts_new (id, guild_id, local_date, extra, status, reason, prompt_id,
    prompt_text, theme, cycle, channel_id, role_id, threads, message_id, thread_id, due_at,
    claimed_at, sent_at)
SELECT p.id, p.guild_id, p.local_date, p.extra,
       CASE WHEN p.status = 'sending' THEN 'claimed' ELSE p.status END,
       p.reason, p.prompt_id, p.prompt_text, p.theme, p.cycle, p.channel_id, p.role_id,
       p.threads, p.message_id, p.thread_id, p.due_at, p.claimed_at, p.sent_at
FROM prompt_posts p;
UPDATE sqlite_sequence SET seq = (SELECT seq FROM sqlite_sequence WHERE name = 'prompt_posts')
WHERE name = 'prompt_posts_new' AND EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'prompt_posts');
DROP TABLE prompt_posts;
ALTER TABLE prompt_posts_new RENAME TO prompt_posts;
CREATE UNIQUE INDEX prompt_posts_one_daily ON prompt_posts (guild_id, local_date) WHERE extra = 0;
CREATE INDEX prompt_posts_by_guild ON prompt_posts (guild_id, id);

-- An approval DM being sent: its outbox row; the suggestion keeps no send state.
INSERT INTO outbox (guild_id, dedupe_key, kind, recipient_user_id, payload, nonce, state,
                    attempts, next_attempt_at, claimed_at, expires_at, created_at)
SELECT s.guild_id, 'prompt.approved:' || CAST(s.id AS TEXT), 'prompt.approved',
       s.suggested_by_user_id,
       json_object('prompt_id', 'c' || CAST(s.custom_prompt_id AS TEXT), 'text', s.text),
       'kindred-sugg-' || CAST(s.id AS TEXT), 'sending', 1, s.decided_at, s.decided_at,
       datetime(s.decided_at, '+1 day'), s.decided_at
FROM prompt_suggestions s WHERE s.dm_status = 'sending';
-- Rebuilt rather than ALTER ... DROP COLUMN: SQLite trips over the comment in its definition.
CREATE TABLE prompt_suggestions_new (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id             INTEGER NOT NULL REFERENCES guilds(guild_id) ON DELETE CASCADE,
    suggested_by_user_id INTEGER NOT NULL,
    text                 TEXT NOT NULL,
    status               TEXT NOT NULL DEFAULT 'pending'
                         CHECK (status IN ('pending', 'approved', 'rejected')),
    created_at           TEXT NOT NULL,
    decided_at           TEXT,
    decided_by_user_id   INTEGER,
    custom_prompt_id     INTEGER REFERENCES custom_prompts(id) ON DELETE SET NULL
);
INSERT INTO prompt_suggestions_new (id, guild_id, suggested_by_user_id, text, status,
    created_at, decided_at, decided_by_user_id, custom_prompt_id)
SELECT id, guild_id, suggested_by_user_id, text, status, created_at, decided_at,
       decided_by_user_id, custom_prompt_id
FROM prompt_suggestions;
UPDATE sqlite_sequence SET seq = (SELECT seq FROM sqlite_sequence WHERE name = 'prompt_suggestions')
WHERE name = 'prompt_suggestions_new'
  AND EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'prompt_suggestions');
DROP TABLE prompt_suggestions;
ALTER TABLE prompt_suggestions_new RENAME TO prompt_suggestions;
CREATE INDEX prompt_suggestions_pending ON prompt_suggestions (guild_id, status, id);

-- == Pairing =================================================================================

-- What reached nobody (DMs closed, no private thread possible), for /admin pairing stats.
CREATE TABLE pairing_undelivered (
    id           INTEGER PRIMARY KEY,
    round_id     INTEGER NOT NULL REFERENCES pairing_rounds(round_id) ON DELETE CASCADE,
    guild_id     INTEGER NOT NULL REFERENCES guilds(guild_id) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL,
    kind         TEXT NOT NULL,               -- intro, checkin, partner_left, rematched
    reason       TEXT NOT NULL,
    recorded_at  TEXT NOT NULL,
    UNIQUE (round_id, user_id, kind)
);
INSERT INTO pairing_undelivered (round_id, guild_id, user_id, kind, reason, recorded_at)
SELECT round_id, guild_id, user_id, kind, 'DMs closed and no private thread possible',
       COALESCE(sent_at, created_at)
FROM pairing_deliveries WHERE state = 'undelivered'
ON CONFLICT (round_id, user_id, kind) DO NOTHING;

-- Who was asked to check in (the stats count answers among them).
ALTER TABLE pairing_assignments ADD COLUMN checkin_asked INTEGER NOT NULL DEFAULT 0;
UPDATE pairing_assignments SET checkin_asked = 1 WHERE EXISTS (
    SELECT 1 FROM pairing_deliveries d WHERE d.round_id = pairing_assignments.round_id
       AND d.user_id = pairing_assignments.user_id AND d.kind = 'checkin');

-- Intros, check-ins and notices in flight, with the payload the renderer needs. Partners are
-- the recipient's group as it is now, as the old delivery computed them when sending.
INSERT INTO outbox (guild_id, dedupe_key, kind, recipient_user_id, payload, nonce, state,
                    attempts, next_attempt_at, claimed_at, expires_at, created_at)
SELECT d.guild_id,
       CASE d.kind
           WHEN 'intro' THEN 'pairing.intro:' || CAST(d.round_id AS TEXT) || ':'
                || CAST(d.user_id AS TEXT)
           WHEN 'checkin' THEN 'pairing.checkin:' || CAST(d.round_id AS TEXT) || ':'
                || CAST(d.user_id AS TEXT)
           ELSE 'pairing.notice:' || CAST(d.round_id AS TEXT) || ':' || CAST(d.user_id AS TEXT)
                || ':' || d.kind || ':' || CAST(d.about_user_id AS TEXT) || ':'
                || CAST(d.group_id AS TEXT)
       END,
       CASE WHEN d.kind IN ('intro', 'checkin') THEN 'pairing.' || d.kind ELSE 'pairing.notice' END,
       d.user_id,
       CASE d.kind
           WHEN 'intro' THEN json_object(
               'round_id', d.round_id, 'guild_id', d.guild_id,
               'user_ids', json_array(d.user_id), 'partner_ids', json(partners.ids),
               'outcome', a.outcome, 'shared_topics', json(COALESCE(g.shared_topics, '[]')),
               'starter', r.starter)
           WHEN 'checkin' THEN json_object(
               'round_id', d.round_id, 'guild_id', d.guild_id, 'user_id', d.user_id,
               'partner_ids', json(partners.ids))
           ELSE json_object(
               'round_id', d.round_id, 'guild_id', d.guild_id, 'user_id', d.user_id,
               'kind', d.kind, 'partner_ids', json(partners.ids),
               'departed_user_id', d.about_user_id)
       END,
       'kpd' || CAST(d.delivery_id AS TEXT), d.state, CASE WHEN d.state = 'sending' THEN 1 ELSE 0 END,
       d.created_at, CASE WHEN d.state = 'sending' THEN d.created_at END,
       datetime(d.created_at, '+3 days'), d.created_at
FROM pairing_deliveries d
JOIN pairing_rounds r ON r.round_id = d.round_id
JOIN pairing_assignments a ON a.round_id = d.round_id AND a.user_id = d.user_id
LEFT JOIN pairing_groups g ON g.group_id = a.group_id
JOIN (
    SELECT d2.delivery_id, (
        SELECT json_group_array(m.user_id) FROM (
            SELECT b.user_id FROM pairing_assignments b
            WHERE b.group_id = a2.group_id AND b.left_guild = 0 AND b.user_id != d2.user_id
            ORDER BY b.user_id) AS m) AS ids
    FROM pairing_deliveries d2
    JOIN pairing_assignments a2 ON a2.round_id = d2.round_id AND a2.user_id = d2.user_id
) AS partners ON partners.delivery_id = d.delivery_id
WHERE d.state IN ('pending', 'sending');

-- Intros refused while their group's thread was still to come: finished rows, so the thread,
-- if it fails, knows whom it was for.
INSERT INTO outbox (guild_id, dedupe_key, kind, recipient_user_id, payload, nonce, state,
                    attempts, next_attempt_at, created_at, finished_at, last_error)
SELECT d.guild_id, 'pairing.intro:' || CAST(d.round_id AS TEXT) || ':' || CAST(d.user_id AS TEXT),
       'pairing.intro', d.user_id, '{}', 'kpd' || CAST(d.delivery_id AS TEXT), 'refused', 1,
       d.created_at, d.created_at, COALESCE(d.sent_at, d.created_at), 'DMs are closed'
FROM pairing_deliveries d WHERE d.state = 'refused';

-- Private threads wanted or being opened, with the group's intro.
INSERT INTO outbox (guild_id, dedupe_key, kind, channel_id, payload, nonce, state, attempts,
                    next_attempt_at, claimed_at, expires_at, created_at)
SELECT g.guild_id, 'pairing.thread:' || CAST(g.group_id AS TEXT), 'pairing.thread', s.channel_id,
       json_object('round_id', g.round_id, 'guild_id', g.guild_id, 'group_id', g.group_id,
                   'user_ids', json(members.ids), 'partner_ids', json(members.ids),
                   'outcome', 'paired', 'shared_topics', json(g.shared_topics),
                   'starter', r.starter),
       'kpg' || CAST(g.group_id AS TEXT),
       CASE WHEN g.thread_state = 'sending' THEN 'sending' ELSE 'pending' END,
       CASE WHEN g.thread_state = 'sending' THEN 1 ELSE 0 END,
       r.started_at, CASE WHEN g.thread_state = 'sending' THEN r.started_at END,
       datetime(r.started_at, '+3 days'), r.started_at
FROM pairing_groups g
JOIN pairing_rounds r ON r.round_id = g.round_id
JOIN pairing_settings s ON s.guild_id = g.guild_id
JOIN (
    SELECT g2.group_id, (
        SELECT json_group_array(m.user_id) FROM (
            SELECT b.user_id FROM pairing_assignments b
            WHERE b.group_id = g2.group_id AND b.left_guild = 0 ORDER BY b.user_id) AS m) AS ids
    FROM pairing_groups g2
) AS members ON members.group_id = g.group_id
WHERE g.thread_state IN ('wanted', 'sending');

-- Round announcements not posted yet.
INSERT INTO outbox (guild_id, dedupe_key, kind, channel_id, payload, nonce, state, attempts,
                    next_attempt_at, claimed_at, expires_at, created_at)
SELECT r.guild_id, 'pairing.announcement:' || CAST(r.round_id AS TEXT), 'pairing.announcement',
       s.channel_id,
       json_object('round_id', r.round_id, 'guild_id', r.guild_id,
                   'pairs', (SELECT COUNT(*) FROM pairing_groups g
                             WHERE g.round_id = r.round_id AND g.size = 2),
                   'trios', (SELECT COUNT(*) FROM pairing_groups g
                             WHERE g.round_id = r.round_id AND g.size = 3),
                   'members', (SELECT COUNT(*) FROM pairing_assignments a
                               WHERE a.round_id = r.round_id),
                   'checkin_at', r.checkin_at),
       'kpa' || CAST(r.round_id AS TEXT), r.announce_state,
       CASE WHEN r.announce_state = 'sending' THEN 1 ELSE 0 END,
       r.started_at, CASE WHEN r.announce_state = 'sending' THEN r.started_at END,
       datetime(r.started_at, '+1 day'), r.started_at
FROM pairing_rounds r JOIN pairing_settings s ON s.guild_id = r.guild_id
WHERE r.announce_state IN ('pending', 'sending');

DROP TABLE pairing_deliveries;
ALTER TABLE pairing_rounds DROP COLUMN announce_state;
ALTER TABLE pairing_groups DROP COLUMN thread_state;

-- == Help ledger =============================================================================

-- Routing DMs sent, for the caps (at most 5 helpers per ask, 3 DMs a helper a day).
CREATE TABLE helpdesk_routes (
    ask_id          INTEGER NOT NULL REFERENCES helpdesk_asks(ask_id) ON DELETE CASCADE,
    guild_id        INTEGER NOT NULL REFERENCES guilds(guild_id) ON DELETE CASCADE,
    helper_user_id  INTEGER NOT NULL,
    routed_at       TEXT NOT NULL,
    PRIMARY KEY (ask_id, helper_user_id)
);
CREATE INDEX helpdesk_routes_by_helper ON helpdesk_routes (guild_id, helper_user_id, routed_at);
INSERT INTO helpdesk_routes (ask_id, guild_id, helper_user_id, routed_at)
SELECT ask_id, guild_id, recipient_user_id, created_at FROM helpdesk_messages WHERE kind = 'route'
ON CONFLICT (ask_id, helper_user_id) DO NOTHING;

-- Who pressed "I can help" on an ask (once each; an ask someone offered on is not bumped).
CREATE TABLE helpdesk_helpers (
    ask_id          INTEGER NOT NULL REFERENCES helpdesk_asks(ask_id) ON DELETE CASCADE,
    guild_id        INTEGER NOT NULL REFERENCES guilds(guild_id) ON DELETE CASCADE,
    helper_user_id  INTEGER NOT NULL,
    offered_at      TEXT NOT NULL,
    PRIMARY KEY (ask_id, helper_user_id)
);
INSERT INTO helpdesk_helpers (ask_id, guild_id, helper_user_id, offered_at)
SELECT ask_id, guild_id, helper_user_id, created_at FROM helpdesk_messages WHERE kind = 'help'
ON CONFLICT (ask_id, helper_user_id) DO NOTHING;

-- The ask's post in the help channel (edited when it closes), and why it could not be posted
-- or bumped there.
ALTER TABLE helpdesk_asks ADD COLUMN post_message_id INTEGER;
ALTER TABLE helpdesk_asks ADD COLUMN channel_problem TEXT;
UPDATE helpdesk_asks SET post_message_id = (
    SELECT m.discord_message_id FROM helpdesk_messages m
    WHERE m.ask_id = helpdesk_asks.ask_id AND m.kind = 'post' AND m.state = 'sent');
UPDATE helpdesk_asks SET channel_problem = (
    SELECT CASE m.kind WHEN 'bump' THEN 'could not be bumped' ELSE 'could not be posted' END
           || ' in the help channel: ' || COALESCE(m.error, 'refused')
    FROM helpdesk_messages m WHERE m.ask_id = helpdesk_asks.ask_id
       AND m.kind IN ('post', 'bump') AND m.state = 'failed'
    ORDER BY m.message_id DESC LIMIT 1);

-- Messages in flight, with the ask as the renderer shows it.
INSERT INTO outbox (guild_id, dedupe_key, kind, channel_id, recipient_user_id, payload, nonce,
                    state, attempts, next_attempt_at, claimed_at, expires_at, created_at)
SELECT m.guild_id,
       'helpdesk.' || m.kind || ':' || CAST(m.ask_id AS TEXT) || CASE m.kind
           WHEN 'route' THEN ':' || CAST(m.recipient_user_id AS TEXT)
           WHEN 'thanks' THEN ':' || CAST(m.recipient_user_id AS TEXT)
           WHEN 'help' THEN ':' || CAST(m.helper_user_id AS TEXT)
           WHEN 'review' THEN ':' || CAST(m.round AS TEXT)
           ELSE '' END,
       'helpdesk.' || m.kind,
       CASE WHEN m.recipient_user_id = 0 THEN m.channel_id END,
       CASE WHEN m.recipient_user_id != 0 THEN m.recipient_user_id END,
       json_object(
           'kind', m.kind,
           'ask', json_object('ask_id', a.ask_id, 'guild_id', a.guild_id,
                              'number', a.request_no, 'topic', t.name, 'user_id', a.user_id,
                              'details', a.details, 'status', a.status,
                              'created_at', a.created_at),
           'channel_id', CASE WHEN m.recipient_user_id = 0 THEN m.channel_id END,
           'recipient_user_id', CASE WHEN m.recipient_user_id != 0 THEN m.recipient_user_id END,
           'helper_user_id', CASE WHEN m.helper_user_id != 0 THEN m.helper_user_id END,
           'note', m.note, 'closer_user_id', a.closed_by_user_id),
       'kindred-hd-' || CAST(m.message_id AS TEXT), m.state, m.attempts, m.created_at,
       CASE WHEN m.state = 'sending' THEN m.created_at END,
       datetime(m.created_at, '+1 day'), m.created_at
FROM helpdesk_messages m
JOIN helpdesk_asks a ON a.ask_id = m.ask_id
JOIN helpdesk_topics t ON t.topic_id = a.topic_id
WHERE m.state IN ('pending', 'sending');

DROP TABLE helpdesk_messages;
