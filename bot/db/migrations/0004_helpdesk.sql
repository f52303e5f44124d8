-- Help ledger: topics, asks, offers, and every message about an ask (claimed before it is sent).

-- Per-guild settings and the request-number counter. Asks and offers share one per-guild
-- sequence ("A12", "O13"), so a bare number is never ambiguous and a number is never reused,
-- even after a member's data is forgotten.
CREATE TABLE helpdesk_guilds (
    guild_id         INTEGER PRIMARY KEY REFERENCES guilds(guild_id) ON DELETE CASCADE,
    channel_id       INTEGER,                     -- where asks are posted; NULL: not set
    last_request_no  INTEGER NOT NULL DEFAULT 0
);

-- Each topic once per guild, in its canonical form (bot.helpdesk.topics.normalise_topic).
CREATE TABLE helpdesk_topics (
    topic_id    INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL REFERENCES guilds(guild_id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (guild_id, name)
);

CREATE TABLE helpdesk_asks (
    ask_id             INTEGER PRIMARY KEY,
    guild_id           INTEGER NOT NULL REFERENCES guilds(guild_id) ON DELETE CASCADE,
    request_no         INTEGER NOT NULL,
    topic_id           INTEGER NOT NULL REFERENCES helpdesk_topics(topic_id) ON DELETE CASCADE,
    user_id            INTEGER NOT NULL,          -- the asker
    details            TEXT NOT NULL,
    status             TEXT NOT NULL DEFAULT 'open'
                       CHECK (status IN ('open', 'resolved', 'withdrawn', 'stale')),
    created_at         TEXT NOT NULL,
    bumped_at          TEXT,                      -- set once, in the transaction that claims the bump
    review_sent_at     TEXT,                      -- last Keep open / Close DM claimed
    review_round       INTEGER NOT NULL DEFAULT 0,
    kept_open_at       TEXT,
    closed_at          TEXT,
    closed_by_user_id  INTEGER,                   -- owner or admin; NULL when closed by Kindred
    UNIQUE (guild_id, request_no)
);
CREATE INDEX helpdesk_asks_open ON helpdesk_asks (guild_id, status, created_at);
CREATE INDEX helpdesk_asks_user ON helpdesk_asks (guild_id, user_id);

CREATE TABLE helpdesk_offers (
    offer_id    INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL REFERENCES guilds(guild_id) ON DELETE CASCADE,
    request_no  INTEGER NOT NULL,
    topic_id    INTEGER NOT NULL REFERENCES helpdesk_topics(topic_id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL,                 -- the member offering help
    details     TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'withdrawn')),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    closed_at   TEXT,
    UNIQUE (guild_id, request_no)
);
-- One open offer per member per topic; repeating /offer updates it.
CREATE UNIQUE INDEX helpdesk_offers_one_open
    ON helpdesk_offers (guild_id, topic_id, user_id) WHERE status = 'open';

-- Every message Kindred sends about an ask, claimed here (in the transaction that decides it)
-- before it is sent, and sent with nonce 'kindred-hd-<message_id>' so a resend after a crash is
-- deduplicated by Discord. The UNIQUE key makes each message happen at most once:
--   post   (ask, 0, 0, 0)              the ask in the help channel
--   route  (ask, helper, 0, 0)         a DM to a member who offered the topic
--   help   (ask, asker, helper, 0)     "helper can help" DM to the asker (an "I can help" press)
--   thanks (ask, helper, 0, 0)         the private thank-you DM on /resolve
--   bump   (ask, 0, 0, 0)              the one bump in the help channel
--   review (ask, owner, 0, round)      the Keep open / Close DM, once per review round
-- recipient_user_id 0 means the help channel (channel_id).
CREATE TABLE helpdesk_messages (
    message_id          INTEGER PRIMARY KEY,
    guild_id            INTEGER NOT NULL REFERENCES guilds(guild_id) ON DELETE CASCADE,
    ask_id              INTEGER NOT NULL REFERENCES helpdesk_asks(ask_id) ON DELETE CASCADE,
    kind                TEXT NOT NULL
                        CHECK (kind IN ('post', 'route', 'help', 'thanks', 'bump', 'review')),
    recipient_user_id   INTEGER NOT NULL DEFAULT 0,
    helper_user_id      INTEGER NOT NULL DEFAULT 0,
    round               INTEGER NOT NULL DEFAULT 0,
    channel_id          INTEGER,
    note                TEXT NOT NULL DEFAULT '',
    state               TEXT NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'cancelled')),
    attempts            INTEGER NOT NULL DEFAULT 0,
    created_at          TEXT NOT NULL,
    sent_at             TEXT,
    discord_message_id  INTEGER,
    error               TEXT,
    UNIQUE (ask_id, kind, recipient_user_id, helper_user_id, round)
);
CREATE INDEX helpdesk_messages_unsent ON helpdesk_messages (ask_id) WHERE state IN ('pending', 'sending');
CREATE INDEX helpdesk_messages_routed ON helpdesk_messages (guild_id, recipient_user_id, created_at)
    WHERE kind = 'route';
