-- Meeting times (issue 13): a member's own timezone and weekly availability, the times each
-- group is offered with the members' picks and the confirmed one, and "Meet again" choices.

-- A member's timezone and windows, kept apart from pairing_members: they outlive a
-- `/pair leave` (a member who comes back finds them) and may be set before `/pair join`.
CREATE TABLE pairing_member_times (
    guild_id      BIGINT NOT NULL REFERENCES guilds(guild_id) ON DELETE CASCADE,
    user_id       BIGINT NOT NULL,
    timezone      TEXT,                    -- IANA name; NULL: the guild's timezone
    availability  TEXT,                    -- Availability.to_storage(); NULL: 07:00-21:00 daily
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);

-- What the round knew of each group's times: its weekly overlap, the proposed slots (JSON list
-- of UTC times, empty when the members have no common time; NULL for a group made without
-- proposals: before this migration, or re-matched mid-round), and the slot every member picked
-- (set once).
ALTER TABLE pairing_groups ADD COLUMN overlap_minutes BIGINT;
ALTER TABLE pairing_groups ADD COLUMN proposed_slots TEXT;
ALTER TABLE pairing_groups ADD COLUMN confirmed_at TEXT;

-- Each member's current pick for their group: the index of a proposed slot, or -1 for
-- "None of these". Changeable until the group's time is confirmed.
CREATE TABLE pairing_slot_picks (
    group_id   BIGINT NOT NULL REFERENCES pairing_groups(group_id) ON DELETE CASCADE,
    guild_id   BIGINT NOT NULL REFERENCES guilds(guild_id) ON DELETE CASCADE,
    user_id    BIGINT NOT NULL,
    slot       BIGINT NOT NULL,
    picked_at  TEXT NOT NULL,
    PRIMARY KEY (group_id, user_id)
);

-- "Meet again": user_id would like to be paired with partner_user_id again. Only a mutual
-- choice changes anything, and nobody is told of a one-sided one.
CREATE TABLE pairing_meet_again (
    guild_id         BIGINT NOT NULL REFERENCES guilds(guild_id) ON DELETE CASCADE,
    user_id          BIGINT NOT NULL,
    partner_user_id  BIGINT NOT NULL,
    chosen_at        TEXT NOT NULL,
    PRIMARY KEY (guild_id, user_id, partner_user_id)
);
