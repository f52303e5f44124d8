"""Each benchmark script runs in quick mode, so the scripts cannot rot.

The figures are not asserted against wall-clock limits (machines differ); only that the JSON
was written with sane fields and the hard rules hold.
"""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks import bench_pairing


def test_bench_pairing_quick_writes_sane_json(tmp_path: Path) -> None:
    bench_pairing.main(["--quick", "--results-dir", str(tmp_path)])
    data = json.loads((tmp_path / "bench_pairing.json").read_text(encoding="utf-8"))

    assert data["benchmark"] == "bench_pairing" and data["quick"] is True
    assert "block_model" in data["setup"]
    rows = data["rounds"]
    assert {r["method"] for r in rows} == {"kindred", "shuffle", "exact"}
    kindred = [r for r in rows if r["method"] == "kindred"]
    assert {r["n"] for r in kindred} == set(bench_pairing.QUICK_SIZES)
    for r in rows:
        assert r["seconds"] >= 0 and r["peak_mib"] >= 0
        assert 0 <= r["repeated_pairs"] and r["left_out"] >= 0
        assert r["topic_share"] is None or 0 <= r["topic_share"] <= 1
    for r in kindred:
        assert r["blocked_pairs"] == 0
        assert r["left_out"] == 0
        assert r["trios"] == r["n"] % 2
    exact = [r for r in kindred if "objective_pct_of_exact" in r]
    assert exact and all(r["objective_pct_of_exact"] > 0 for r in exact)
    for f in data["repeat_free"]:
        assert 0 <= f["min"] <= f["mean"] <= f["bound"] == f["n"] - 1
        assert len(f["per_seed"]) == f["seeds"]
    assert all(isinstance(t["met"], bool) for t in data["targets"])
