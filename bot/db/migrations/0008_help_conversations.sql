-- Help that becomes a conversation (issue 14): private helper threads, anonymous asks, closed
-- posts edited, what helped, and search.

-- Helper threads are named "Help A12 · 7": a per-guild number, so a name is never reused.
ALTER TABLE helpdesk_guilds ADD COLUMN last_thread_no INTEGER NOT NULL DEFAULT 0;

-- anonymous: members never see who asked (only /admin export shows user_id).
-- summary: what helped, written on /resolve; shown on the post only when summary_shared = 1.
-- post_channel_id / bump_*: where the post and the bump went, to edit them when the ask closes.
ALTER TABLE helpdesk_asks ADD COLUMN anonymous INTEGER NOT NULL DEFAULT 0;
ALTER TABLE helpdesk_asks ADD COLUMN summary TEXT;
ALTER TABLE helpdesk_asks ADD COLUMN summary_shared INTEGER NOT NULL DEFAULT 0;
ALTER TABLE helpdesk_asks ADD COLUMN post_channel_id INTEGER;
ALTER TABLE helpdesk_asks ADD COLUMN bump_channel_id INTEGER;
ALTER TABLE helpdesk_asks ADD COLUMN bump_message_id INTEGER;

-- One private thread per (ask, helper), the row "I can help" already makes:
--   none      no help channel: the asker was told by DM (the old way)
--   waiting   an anonymous ask: the asker decides (Open a private thread / No thanks)
--   declined  the asker said No thanks
--   opening   the thread is on its way (an outbox row)
--   open      thread_id is the thread
--   failed    no thread could be made (thread_problem says why); both were told by DM
ALTER TABLE helpdesk_helpers ADD COLUMN thread_no INTEGER;
ALTER TABLE helpdesk_helpers ADD COLUMN thread_state TEXT NOT NULL DEFAULT 'none'
    CHECK (thread_state IN ('none', 'waiting', 'declined', 'opening', 'open', 'failed'));
ALTER TABLE helpdesk_helpers ADD COLUMN thread_id INTEGER;
ALTER TABLE helpdesk_helpers ADD COLUMN thread_problem TEXT;

-- What /board search reads: per open or resolved ask, its guild's word ('g<guild_id>') and
-- its topic, details and shared summary, folded (case, accents) and reduced to words by
-- bot.helpdesk.search, so both databases see the same words. The engine's own index sits
-- beside it: FTS5 here, a GIN tsvector index on PostgreSQL.
CREATE TABLE helpdesk_search (
    ask_id    INTEGER PRIMARY KEY REFERENCES helpdesk_asks(ask_id) ON DELETE CASCADE,
    guild_id  INTEGER NOT NULL REFERENCES guilds(guild_id) ON DELETE CASCADE,
    body      TEXT NOT NULL
);
CREATE VIRTUAL TABLE helpdesk_search_fts USING fts5(
    body, content='helpdesk_search', content_rowid='ask_id', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER helpdesk_search_added AFTER INSERT ON helpdesk_search BEGIN
    INSERT INTO helpdesk_search_fts (rowid, body) VALUES (new.ask_id, new.body);
END;
CREATE TRIGGER helpdesk_search_removed AFTER DELETE ON helpdesk_search BEGIN
    INSERT INTO helpdesk_search_fts (helpdesk_search_fts, rowid, body)
    VALUES ('delete', old.ask_id, old.body);
END;
CREATE TRIGGER helpdesk_search_changed AFTER UPDATE ON helpdesk_search BEGIN
    INSERT INTO helpdesk_search_fts (helpdesk_search_fts, rowid, body)
    VALUES ('delete', old.ask_id, old.body);
    INSERT INTO helpdesk_search_fts (rowid, body) VALUES (new.ask_id, new.body);
END;
-- Asks made before this migration: lower-cased text (FTS5 folds case and accents itself).
INSERT INTO helpdesk_search (ask_id, guild_id, body)
SELECT a.ask_id, a.guild_id, 'g' || CAST(a.guild_id AS TEXT) || ' ' || LOWER(t.name || ' ' || a.details)
FROM helpdesk_asks a JOIN helpdesk_topics t ON t.topic_id = a.topic_id
WHERE a.status IN ('open', 'resolved');
