"""Each benchmark script runs in quick mode, so the scripts cannot rot.

The figures are not asserted against wall-clock limits (machines differ); only that the JSON
was written with sane fields and the hard rules hold.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from benchmarks import bench_pairing
from tests.support.postgres import REQUIRE_VARIABLE


def test_bench_pairing_quick_writes_sane_json(tmp_path: Path) -> None:
    bench_pairing.main(["--quick", "--results-dir", str(tmp_path)])
    data = json.loads((tmp_path / "bench_pairing.json").read_text(encoding="utf-8"))

    assert data["benchmark"] == "bench_pairing" and data["quick"] is True
    assert "block_model" in data["setup"]
    rows = data["rounds"]
    assert {r["method"] for r in rows} == {"kindred", "overlap", "shuffle", "exact"}
    kindred = [r for r in rows if r["method"] == "kindred"]
    assert {r["n"] for r in kindred} == set(bench_pairing.QUICK_SIZES)
    for r in rows:
        assert r["seconds"] >= 0 and r["peak_mib"] >= 0
        assert 0 <= r["repeated_pairs"] and r["left_out"] >= 0
        assert r["topic_share"] is None or 0 <= r["topic_share"] <= 1
        assert 0 <= r["overlap_60_share"] <= 1
    shuffled = {r["n"]: r for r in rows if r["method"] == "shuffle"}
    for r in kindred:
        assert r["overlap_60_share"] > shuffled[r["n"]]["overlap_60_share"]
        assert r["blocked_pairs"] == 0
        assert r["left_out"] == 0
        assert r["trios"] == r["n"] % 2
    exact = [r for r in kindred if "objective_pct_of_exact" in r]
    assert exact and all(r["objective_pct_of_exact"] > 0 for r in exact)
    for f in data["repeat_free"]:
        assert 0 <= f["min"] <= f["mean"] <= f["bound"] == f["n"] - 1
        assert len(f["per_seed"]) == f["seeds"]
    assert all(isinstance(t["met"], bool) for t in data["targets"])


def run_quick_script(script: str, results: Path) -> dict:
    """`python3 benchmarks/<script>.py --quick` as the README says, from the repository root."""
    done = subprocess.run(
        [sys.executable, f"benchmarks/{script}.py", "--quick", "--results-dir", str(results)],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads((results / f"{script}.json").read_text(encoding="utf-8"))


def test_bench_scheduler_quick_posts_once_in_every_guild(tmp_path: Path) -> None:
    data = run_quick_script("bench_scheduler", tmp_path)
    result = data["result"]
    assert data["quick"] is True
    runs = ["sqlite_1"]
    if "postgres_unavailable" not in result or os.environ.get(REQUIRE_VARIABLE) == "1":
        runs += ["postgres_1", "postgres_3"]  # one process, then three on a third of the shards
        assert result["postgres_3"]["guilds"] == 3 * result["postgres_1"]["guilds"]
        assert len(result["postgres_3"]["rss_mb_per_process"]) == 3
        assert result["scale_out_ratio"] > 0
    for run in runs:
        figures = result[run]
        for field in ("startup_seconds", "due_to_last_post_seconds", "idle_cpu_seconds", "rss_mb"):
            assert figures[field] >= 0
        assert figures["guilds_without_post"] == 0 and figures["guilds_with_duplicate_posts"] == 0
        assert figures["database_connections"] >= figures["processes"]


def test_bench_delivery_quick_delivers_every_intro_once(tmp_path: Path) -> None:
    data = run_quick_script("bench_delivery", tmp_path)
    result = data["result"]
    assert result["members"] == 40
    for field in ("total_seconds", "achieved_per_second", "achieved_share_of_limit"):
        assert result[field] > 0
    assert result["requests_429"] >= 0
    assert result["intros_lost"] == 0 and result["intros_duplicated"] == 0


def test_bench_commands_quick_answers_every_command(tmp_path: Path) -> None:
    data = run_quick_script("bench_commands", tmp_path)
    result = data["result"]
    latency = result["latency"]
    assert set(latency) == {"pair status", "board", "board search", "prompt today", "noop"}
    assert sum(c["count"] for c in latency.values()) == result["commands"]
    for figures in latency.values():
        assert figures["p99_ms"] >= figures["p50_ms"] > 0 and figures["p99_vs_noop"] > 0


def test_bench_insights_quick_draws_the_picture_and_measures_the_loop(tmp_path: Path) -> None:
    data = run_quick_script("bench_insights", tmp_path)
    result = data["result"]
    assert data["quick"] is True and result["members"] == 300
    assert result["assignments_read"] == result["assignments"] > 0
    assert result["png_bytes"] > 10_000
    assert result["worker_seconds"] > 0 and result["longest_stall_ms"] >= 0
    assert 0 < result["members_connected_share"] <= 1 and result["largest_cluster"] > 1
    assert all(isinstance(t["met"], bool) for t in data["targets"])
