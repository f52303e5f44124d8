"""Prompt rotation: once per cycle, reproducible per guild, stable when the pool changes."""

from __future__ import annotations

import pytest

from bot.prompts.library import load_library
from bot.prompts.rotation import (
    Choice,
    build_pool,
    choose_next,
    custom_prompt_id,
    custom_rowid,
    cycle_order,
    is_builtin_id,
    parse_prompt_id,
)

GUILD = 1234567890123456789
POOL = [f"b{n:03d}" for n in range(1, 21)]


def run(pool: list[str], guild_id: int, posts: int, cycle: int = 0) -> list[Choice]:
    """Simulate the service: post ``posts`` times, tracking the cycle and its used set."""
    used: set[str] = set()
    previous: str | None = None
    choices: list[Choice] = []
    for _ in range(posts):
        choice = choose_next(pool, used, guild_id, cycle, previous)
        assert choice is not None
        if choice.cycle != cycle:
            cycle, used = choice.cycle, set()
        used.add(choice.prompt_id)
        previous = choice.prompt_id
        choices.append(choice)
    return choices


def test_no_repeat_within_a_cycle() -> None:
    choices = run(POOL, GUILD, len(POOL))
    assert sorted(choice.prompt_id for choice in choices) == sorted(POOL)
    assert {choice.cycle for choice in choices} == {0}


def test_new_cycle_after_exhaustion() -> None:
    choices = run(POOL, GUILD, len(POOL) * 2)
    second = choices[len(POOL) :]
    assert second[0].new_cycle and second[0].cycle == 1
    assert not any(choice.new_cycle for choice in second[1:])
    assert sorted(choice.prompt_id for choice in second) == sorted(POOL)


def test_exhausted_pool_starts_next_cycle_and_avoids_back_to_back() -> None:
    for previous in POOL:
        choice = choose_next(POOL, set(POOL), GUILD, 4, previous)
        assert choice is not None
        assert choice.cycle == 5 and choice.new_cycle
        assert choice.prompt_id != previous


def test_single_prompt_pool_repeats_each_cycle() -> None:
    assert choose_next(["c1"], {"c1"}, GUILD, 0, "c1") == Choice("c1", 1, new_cycle=True)


def test_deterministic_for_same_guild_and_cycle() -> None:
    assert run(POOL, GUILD, 45) == run(POOL, GUILD, 45)
    assert choose_next(POOL, {"b001"}, GUILD, 3) == choose_next(
        list(reversed(POOL)), {"b001"}, GUILD, 3
    )


def test_different_guilds_and_cycles_get_different_orders() -> None:
    assert cycle_order(POOL, GUILD, 0) != cycle_order(POOL, GUILD + 1, 0)
    assert cycle_order(POOL, GUILD, 0) != cycle_order(POOL, GUILD, 1)
    firsts = {choose_next(POOL, set(), guild, 0).prompt_id for guild in range(50)}  # type: ignore[union-attr]
    assert len(firsts) > 5


def test_cycle_order_matches_choices() -> None:
    assert [choice.prompt_id for choice in run(POOL, GUILD, len(POOL))] == cycle_order(
        POOL, GUILD, 0
    )


def test_prompt_added_mid_cycle_comes_within_the_cycle() -> None:
    used: set[str] = set()
    pool = list(POOL)
    for step in range(len(POOL) + 1):
        if step == 5:
            pool.append("c42")
        choice = choose_next(pool, used, GUILD, 0)
        assert choice is not None and choice.cycle == 0
        used.add(choice.prompt_id)
    assert used == set(pool)
    assert choose_next(pool, used, GUILD, 0).cycle == 1  # type: ignore[union-attr]


def test_adding_a_prompt_does_not_reshuffle_the_others() -> None:
    before = cycle_order(POOL, GUILD, 0)
    after = [prompt_id for prompt_id in cycle_order([*POOL, "c7"], GUILD, 0) if prompt_id != "c7"]
    assert after == before


def test_hidden_prompts_never_chosen() -> None:
    hidden = {"b002", "b005", "b017"}
    pool = build_pool(POOL, [], hidden)
    chosen = {choice.prompt_id for choice in run(pool, GUILD, 60)}
    assert chosen == set(POOL) - hidden


def test_used_ids_no_longer_in_pool_are_ignored() -> None:
    pool = ["b001", "b002"]
    choice = choose_next(pool, {"b001", "b099"}, GUILD, 0)
    assert choice == Choice("b002", 0)


def test_empty_pool_returns_none() -> None:
    assert choose_next([], set(), GUILD, 0) is None
    assert choose_next(build_pool(["b001"], [], {"b001"}), set(), GUILD, 0) is None


def test_build_pool_merges_dedupes_and_sorts() -> None:
    pool = build_pool(["b002", "b001", "b002"], ["c10", "c9"], {"c9"})
    assert pool == ["b001", "b002", "c10"]


def test_build_pool_with_real_library() -> None:
    ids = [prompt.id for prompt in load_library()]
    pool = build_pool(ids, ["c1", "c2"], {ids[0]})
    assert len(pool) == len(ids) + 1 and ids[0] not in pool


def test_custom_ids() -> None:
    assert custom_prompt_id(12) == "c12"
    assert custom_rowid("c12") == 12
    assert custom_rowid("b012") is None and custom_rowid("cat") is None
    assert is_builtin_id("b012") and not is_builtin_id("c12")
    with pytest.raises(ValueError):
        custom_prompt_id(0)


@pytest.mark.parametrize(("typed", "expected"), [(" B012 ", "b012"), ("c7", "c7")])
def test_parse_prompt_id_accepts(typed: str, expected: str) -> None:
    assert parse_prompt_id(typed) == expected


@pytest.mark.parametrize("typed", ["", "12", "What went well?", "x12", "c"])
def test_parse_prompt_id_rejects_with_a_helpful_message(typed: str) -> None:
    with pytest.raises(ValueError, match="/admin prompts list"):
        parse_prompt_id(typed)
