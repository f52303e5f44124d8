"""Tiny shared helpers for the ``bench_*.py`` scripts: flags, a readable table, the JSON file.

Every benchmark prints its figures and writes them to ``benchmarks/results/<name>.json``.
``--quick`` runs small sizes only, so the test suite can run each script and the scripts
cannot rot; ``--results-dir`` lets that test write somewhere temporary.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def parse_args(description: str, argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="small sizes only (for the tests)")
    parser.add_argument(
        "--results-dir",
        type=Path,
        default=RESULTS_DIR,
        help=f"where to write <name>.json (default: {RESULTS_DIR})",
    )
    return parser.parse_args(argv)


def environment() -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.1f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def print_table(
    title: str, columns: Sequence[str], rows: Sequence[Mapping[str, Any]], file: Any = None
) -> None:
    """Print ``rows`` (dicts) as an aligned text table with the given ``columns``."""
    out = file or sys.stdout
    cells = [[_cell(row.get(col)) for col in columns] for row in rows]
    widths = [max([len(col)] + [len(r[i]) for r in cells]) for i, col in enumerate(columns)]
    print(f"\n{title}", file=out)
    print("  ".join(col.rjust(w) for col, w in zip(columns, widths, strict=True)), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for r in cells:
        print("  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)), file=out)


def write_json(name: str, payload: Mapping[str, Any], results_dir: Path | None = None) -> Path:
    """Write ``payload`` to ``<results_dir>/<name>.json`` and return the path."""
    directory = results_dir or RESULTS_DIR
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return path
