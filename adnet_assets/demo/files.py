"""Writing the generated files: atomic writes, CSV bytes, timestamps, and clearing the data folder.

``prepare_dir`` replaces only the parts of a data folder the generator owns (``GENERATED_PARTS``)
and refuses to touch snapshots it did not write (no truth marker next to them).
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import datetime
from pathlib import Path

from adnet_assets.lib.store import atomic_file

from .model import TRUTH_MARKER


def atomic_write(path: Path, data: bytes) -> None:
    with atomic_file(path) as tmp:
        tmp.write_bytes(data)


def csv_bytes(header: list[str], rows) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def iso_z(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def prepare_dir(data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    truth = data_dir / "demo-truth"
    snaps = data_dir / "snapshots"
    if snaps.exists() and any(snaps.iterdir()) and not (truth / TRUTH_MARKER).exists():
        raise FileExistsError(
            f"{snaps} holds snapshots that were not written by the demo generator; refusing to replace them")
    truth.mkdir(exist_ok=True)
    atomic_write(truth / TRUTH_MARKER, json.dumps({"generator": "adnet_assets.demo.generator",
                                                   "status": "writing"}).encode())
    for part in ("snapshots", "directory", "billing"):
        p = data_dir / part
        if p.exists():
            shutil.rmtree(p)
    for child in sorted(truth.iterdir()):
        if child.name != TRUTH_MARKER:
            shutil.rmtree(child) if child.is_dir() else child.unlink()
