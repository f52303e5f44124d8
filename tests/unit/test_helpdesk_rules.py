"""Help-ledger rules (bot.helpdesk.rules): routing, permissions, lifecycle timing, text limits."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.errors import UserError
from bot.helpdesk.rules import (
    BUMP_AFTER,
    DETAILS_MAX,
    MAX_HELPERS_PER_ASK,
    MAX_ROUTED_PER_HELPER_PER_DAY,
    NOTE_MAX,
    REVIEW_AFTER,
    STALE_AFTER_REVIEW,
    Action,
    AskState,
    AskStatus,
    HelpdeskInputError,
    Offerer,
    bump_due_at,
    can_close,
    can_offer_help,
    choose_helpers,
    next_action,
    next_due_at,
    review_due_at,
    routing_window_start,
    stale_due_at,
    validate_details,
    validate_note,
)

T0 = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
ASKER = 1000


def test_constants_match_the_product_spec() -> None:
    assert BUMP_AFTER == timedelta(hours=48)
    assert REVIEW_AFTER == timedelta(days=14)
    assert STALE_AFTER_REVIEW == timedelta(days=7)
    assert MAX_HELPERS_PER_ASK == 5
    assert MAX_ROUTED_PER_HELPER_PER_DAY == 3
    assert DETAILS_MAX == 1500


# --------------------------------------------------------------------------- routing


def fresh(user_id: int) -> Offerer:
    return Offerer(user_id=user_id, last_routed_at=None, routed_today=0)


def test_at_most_five_helpers_per_ask() -> None:
    offerers = [fresh(uid) for uid in range(1, 11)]
    assert choose_helpers(ASKER, offerers) == [1, 2, 3, 4, 5]
    assert choose_helpers(ASKER, offerers, limit_per_ask=2) == [1, 2]
    assert choose_helpers(ASKER, offerers, limit_per_ask=0) == []


def test_never_the_asker() -> None:
    offerers = [fresh(ASKER), fresh(1), fresh(2)]
    assert choose_helpers(ASKER, offerers) == [1, 2]
    assert choose_helpers(ASKER, [fresh(ASKER)]) == []


def test_helpers_at_their_daily_cap_are_skipped() -> None:
    offerers = [
        Offerer(1, T0, routed_today=3),
        Offerer(2, T0, routed_today=2),
        Offerer(3, None, routed_today=0),
        Offerer(4, T0, routed_today=7),
    ]
    assert choose_helpers(ASKER, offerers) == [3, 2]
    assert choose_helpers(ASKER, offerers, limit_per_helper_per_day=2) == [3]


def test_recency_preference_never_then_oldest() -> None:
    offerers = [
        Offerer(10, T0 - timedelta(hours=1), 1),
        Offerer(20, None, 0),
        Offerer(30, T0 - timedelta(days=3), 0),
        Offerer(40, T0 - timedelta(hours=5), 2),
        Offerer(5, None, 0),
    ]
    assert choose_helpers(ASKER, offerers) == [5, 20, 30, 40, 10]


def test_ties_break_by_user_id_and_input_order_does_not_matter() -> None:
    offerers = [Offerer(uid, T0, 1) for uid in (9, 3, 7, 1, 5, 8)]
    assert choose_helpers(ASKER, offerers) == [1, 3, 5, 7, 8]
    assert choose_helpers(ASKER, list(reversed(offerers))) == [1, 3, 5, 7, 8]


def test_mixed_timezones_compare_as_instants() -> None:
    plus_two = timezone(timedelta(hours=2))
    earlier_in_paris = datetime(2025, 3, 1, 10, 0, tzinfo=plus_two)  # 08:00 UTC
    later_utc = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    offerers = [Offerer(1, later_utc, 0), Offerer(2, earlier_in_paris, 0)]
    assert choose_helpers(ASKER, offerers) == [2, 1]


def test_an_offerer_listed_twice_counts_once_conservatively() -> None:
    offerers = [Offerer(1, None, 0), Offerer(1, T0, 3), Offerer(2, T0, 0)]
    assert choose_helpers(ASKER, offerers) == [2]


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        choose_helpers(ASKER, [Offerer(1, datetime(2025, 1, 1), 0)])


def test_rolling_day_window() -> None:
    assert routing_window_start(T0) == T0 - timedelta(hours=24)


@given(
    st.lists(
        st.builds(
            Offerer,
            user_id=st.integers(1, 30),
            last_routed_at=st.one_of(
                st.none(),
                st.integers(0, 10_000).map(lambda m: T0 - timedelta(minutes=m)),
            ),
            routed_today=st.integers(0, 5),
        ),
        max_size=40,
    ),
    st.integers(1, 30),
)
def test_routing_invariants(offerers: list[Offerer], asker: int) -> None:
    chosen = choose_helpers(asker, offerers)
    assert len(chosen) <= MAX_HELPERS_PER_ASK
    assert len(chosen) == len(set(chosen))
    assert asker not in chosen
    for uid in chosen:
        counts = [o.routed_today for o in offerers if o.user_id == uid]
        assert max(counts) < MAX_ROUTED_PER_HELPER_PER_DAY


# --------------------------------------------------------------------------- permissions


def test_owner_can_close() -> None:
    assert can_close(request_owner_user_id=1, actor_user_id=1, actor_is_admin=False)


def test_admin_can_close_someone_elses_request() -> None:
    assert can_close(request_owner_user_id=1, actor_user_id=2, actor_is_admin=True)


def test_other_member_cannot_close() -> None:
    assert not can_close(request_owner_user_id=1, actor_user_id=2, actor_is_admin=False)


def test_owner_cannot_offer_help_on_own_ask() -> None:
    assert not can_offer_help(request_owner_user_id=1, actor_user_id=1)
    assert can_offer_help(request_owner_user_id=1, actor_user_id=2)


# --------------------------------------------------------------------------- lifecycle


def ask(**changes: object) -> AskState:
    return replace(AskState(created_at=T0), **changes)


def test_due_time_helpers() -> None:
    assert bump_due_at(T0) == T0 + timedelta(hours=48)
    assert review_due_at(T0) == T0 + timedelta(days=14)
    assert stale_due_at(T0) == T0 + timedelta(days=7)


def test_nothing_before_48_hours() -> None:
    assert next_action(ask(), T0) is Action.NONE
    assert next_action(ask(), T0 + timedelta(hours=47, minutes=59)) is Action.NONE
    assert next_action(ask(), T0 + timedelta(hours=47, minutes=59, seconds=59)) is Action.NONE


def test_bump_at_exactly_48_hours() -> None:
    assert next_action(ask(), T0 + timedelta(hours=48)) is Action.BUMP
    assert next_action(ask(), T0 + timedelta(days=5)) is Action.BUMP


def test_bumped_only_once() -> None:
    bumped = ask(bumped_at=T0 + timedelta(hours=48))
    assert next_action(bumped, T0 + timedelta(hours=48)) is Action.NONE
    assert next_action(bumped, T0 + timedelta(days=13, hours=23)) is Action.NONE


def test_helped_ask_is_not_bumped() -> None:
    helped = ask(helped=True)
    assert next_action(helped, T0 + timedelta(hours=48)) is Action.NONE
    assert next_action(helped, T0 + timedelta(days=13)) is Action.NONE


def test_closed_asks_have_no_action() -> None:
    for status in (AskStatus.RESOLVED, AskStatus.WITHDRAWN, AskStatus.STALE, "resolved"):
        closed = ask(status=status)
        for later in (timedelta(hours=48), timedelta(days=14), timedelta(days=30)):
            assert next_action(closed, T0 + later) is Action.NONE
        assert next_due_at(closed) is None


def test_status_may_be_database_text() -> None:
    assert next_action(ask(status="open"), T0 + timedelta(hours=48)) is Action.BUMP


def test_owner_asked_at_exactly_14_days() -> None:
    bumped = ask(bumped_at=T0 + timedelta(hours=48))
    assert next_action(bumped, T0 + timedelta(days=14) - timedelta(seconds=1)) is Action.NONE
    assert next_action(bumped, T0 + timedelta(days=14)) is Action.ASK_OWNER
    # Helped or not: an open ask is reviewed.
    assert next_action(ask(helped=True), T0 + timedelta(days=14)) is Action.ASK_OWNER


def test_review_is_sent_once_then_closes_stale_after_7_days() -> None:
    sent = T0 + timedelta(days=14, minutes=3)
    reviewed = ask(bumped_at=T0 + timedelta(hours=48), review_sent_at=sent)
    assert next_action(reviewed, sent) is Action.NONE
    assert next_action(reviewed, sent + timedelta(days=7) - timedelta(seconds=1)) is Action.NONE
    assert next_action(reviewed, sent + timedelta(days=7)) is Action.CLOSE_STALE
    assert next_action(reviewed, sent + timedelta(days=40)) is Action.CLOSE_STALE


def test_keep_open_restarts_the_14_day_clock() -> None:
    sent = T0 + timedelta(days=14)
    kept = T0 + timedelta(days=16)
    state = ask(helped=True, review_sent_at=sent, kept_open_at=kept)
    # The old stale deadline (sent + 7 d) no longer applies.
    assert next_action(state, sent + timedelta(days=7)) is Action.NONE
    assert next_action(state, kept + timedelta(days=14) - timedelta(seconds=1)) is Action.NONE
    assert next_action(state, kept + timedelta(days=14)) is Action.ASK_OWNER
    # The second review then runs its own 7 days.
    second = replace(state, review_sent_at=kept + timedelta(days=14))
    assert next_action(second, kept + timedelta(days=20)) is Action.NONE
    assert next_action(second, kept + timedelta(days=21)) is Action.CLOSE_STALE


def test_keep_open_at_the_same_instant_as_the_review_counts_as_answered() -> None:
    state = ask(review_sent_at=T0 + timedelta(days=14), kept_open_at=T0 + timedelta(days=14))
    assert next_action(state, T0 + timedelta(days=21)) is Action.NONE


def test_no_late_bump_after_the_owner_was_asked() -> None:
    # Never bumped (e.g. downtime) but the review went out: the review supersedes the bump.
    state = ask(review_sent_at=T0 + timedelta(days=15))
    assert next_action(state, T0 + timedelta(days=16)) is Action.NONE
    kept = replace(state, kept_open_at=T0 + timedelta(days=16))
    assert next_action(kept, T0 + timedelta(days=17)) is Action.NONE


def test_precedence_after_downtime() -> None:
    # Unbumped and 20 days old: ask the owner, not a stale bump.
    assert next_action(ask(), T0 + timedelta(days=20)) is Action.ASK_OWNER


def test_next_due_at() -> None:
    assert next_due_at(ask()) == T0 + BUMP_AFTER
    assert next_due_at(ask(helped=True)) == T0 + REVIEW_AFTER
    assert next_due_at(ask(bumped_at=T0 + BUMP_AFTER)) == T0 + REVIEW_AFTER
    sent = T0 + timedelta(days=14)
    assert next_due_at(ask(review_sent_at=sent)) == sent + STALE_AFTER_REVIEW
    kept = sent + timedelta(days=1)
    assert next_due_at(ask(review_sent_at=sent, kept_open_at=kept)) == kept + REVIEW_AFTER


_offsets = st.integers(0, 60 * 24 * 40).map(lambda m: timedelta(minutes=m))


@given(
    helped=st.booleans(),
    bumped=st.one_of(st.none(), _offsets),
    review=st.one_of(st.none(), _offsets),
    kept=st.one_of(st.none(), _offsets),
)
def test_next_due_at_agrees_with_next_action(
    helped: bool,
    bumped: timedelta | None,
    review: timedelta | None,
    kept: timedelta | None,
) -> None:
    state = AskState(
        created_at=T0,
        helped=helped,
        bumped_at=None if bumped is None else T0 + bumped,
        review_sent_at=None if review is None else T0 + review,
        kept_open_at=None if kept is None else T0 + kept,
    )
    due = next_due_at(state)
    assert due is not None
    assert next_action(state, due) is not Action.NONE
    assert next_action(state, due - timedelta(seconds=1)) is Action.NONE


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_action(ask(), datetime(2025, 3, 5))
    with pytest.raises(ValueError, match="timezone-aware"):
        AskState(created_at=datetime(2025, 3, 5))


# --------------------------------------------------------------------------- text limits


def test_details_are_trimmed() -> None:
    assert validate_details("  Need help with rubrics.\n\n ") == "Need help with rubrics."


def test_details_keep_newlines_and_drop_control_characters() -> None:
    assert validate_details("line one\r\nline\x00 two\x1b") == "line one\nline two"


def test_details_boundaries() -> None:
    assert validate_details("x") == "x"
    assert validate_details("x" * 1500) == "x" * 1500
    assert validate_details("   " + "x" * 1500 + "   ") == "x" * 1500
    with pytest.raises(HelpdeskInputError) as info:
        validate_details("x" * 1501)
    message = str(info.value)
    assert "1,500" in message
    assert "1,501" in message
    assert message.startswith("Details can be at most 1,500 characters; yours has 1,501.")


def test_required_details_must_not_be_empty() -> None:
    for empty in ("", "   ", "\n\t", None):
        with pytest.raises(HelpdeskInputError, match="1–1,500 characters"):
            validate_details(empty)


def test_optional_details_may_be_empty() -> None:
    assert validate_details("", required=False) == ""
    assert validate_details(None, required=False) == ""
    with pytest.raises(HelpdeskInputError):
        validate_details("x" * 1501, required=False)


def test_note_limits() -> None:
    assert validate_note(None) == ""
    assert validate_note("   ") == ""
    assert validate_note(" Thank you! ") == "Thank you!"
    assert validate_note("x" * NOTE_MAX) == "x" * NOTE_MAX
    with pytest.raises(HelpdeskInputError) as info:
        validate_note("x" * 1001)
    assert str(info.value).startswith("The note can be at most 1,000 characters; yours has 1,001.")


def test_text_errors_are_user_errors() -> None:
    with pytest.raises(UserError):
        validate_details("")
