-- PostgreSQL twin of 0008_help_conversations.sql (see it for what each column means).

ALTER TABLE helpdesk_guilds ADD COLUMN last_thread_no BIGINT NOT NULL DEFAULT 0;

ALTER TABLE helpdesk_asks ADD COLUMN anonymous BIGINT NOT NULL DEFAULT 0;
ALTER TABLE helpdesk_asks ADD COLUMN summary TEXT;
ALTER TABLE helpdesk_asks ADD COLUMN summary_shared BIGINT NOT NULL DEFAULT 0;
ALTER TABLE helpdesk_asks ADD COLUMN post_channel_id BIGINT;
ALTER TABLE helpdesk_asks ADD COLUMN bump_channel_id BIGINT;
ALTER TABLE helpdesk_asks ADD COLUMN bump_message_id BIGINT;

ALTER TABLE helpdesk_helpers ADD COLUMN thread_no BIGINT;
ALTER TABLE helpdesk_helpers ADD COLUMN thread_state TEXT NOT NULL DEFAULT 'none'
    CHECK (thread_state IN ('none', 'waiting', 'declined', 'opening', 'open', 'failed'));
ALTER TABLE helpdesk_helpers ADD COLUMN thread_id BIGINT;
ALTER TABLE helpdesk_helpers ADD COLUMN thread_problem TEXT;

CREATE TABLE helpdesk_search (
    ask_id    BIGINT PRIMARY KEY REFERENCES helpdesk_asks(ask_id) ON DELETE CASCADE,
    guild_id  BIGINT NOT NULL REFERENCES guilds(guild_id) ON DELETE CASCADE,
    body      TEXT NOT NULL
);
-- The 'simple' configuration: the words are already folded and split by Kindred, no stemming
-- or stop words (the same matches as FTS5 on SQLite).
CREATE INDEX helpdesk_search_words ON helpdesk_search USING gin (to_tsvector('simple', body));
-- Asks made before this migration: lower-cased text (accents are not folded here).
INSERT INTO helpdesk_search (ask_id, guild_id, body)
SELECT a.ask_id, a.guild_id, 'g' || CAST(a.guild_id AS TEXT) || ' ' || LOWER(t.name || ' ' || a.details)
FROM helpdesk_asks a JOIN helpdesk_topics t ON t.topic_id = a.topic_id
WHERE a.status IN ('open', 'resolved');
