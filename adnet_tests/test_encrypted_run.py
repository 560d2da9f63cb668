"""A whole ``adnet run`` with ADNET_DB_KEY set, over a tiny generated market: afterwards no file adnet
wrote outside the exports holds a phone number or an owner's name in plaintext, and no export or
step left a temporary file behind, in the system temp folder or in the data folder.

One run serves both checks (it takes a minute or two). Everything is synthetic (the demo generator).

What the leak scan does not read, and why:

* ``exports/``: the workbook, maps, graph files, Aleph entities and pictures are made for people to
  carry away, in plaintext by design (the README says so).
* the inputs: ``snapshots/``, ``directory/``, ``billing/`` and ``demo-truth/`` are written by the
  crawlers, the extract tools and the demo generator, not by adnet, which only reads them. They are
  scanned all the same, as the control that shows the scan finds what it looks for.
"""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path

import pytest

from adnet_assets.demo.generator import generate_market
from adnet_assets.lib.encryption import KEY_ENV, UNSAFE_CRYPTO_ENV
from adnet_assets.lib.store import connect
from adnet_tests.conftest import run_adnet

KEY = "e2e-test-key-0123456789-abcdefghijklmnopqrstuv"  # synthetic, for this test only
BY_DESIGN = ("exports",)                                      # plaintext for people to carry away
INPUTS = ("snapshots", "directory", "billing", "demo-truth")  # written by others; adnet only reads them
LEFTOVER = re.compile(r"(^\.~lock|^~\$|\.tmp$|\.temp$|\.part$|^tmp[a-z0-9_]{6,}$)", re.IGNORECASE)


@pytest.fixture(scope="module")
def encrypted_run(tmp_path_factory):
    """``adnet run`` with a key, TMPDIR/TMP/TEMP pointed at an empty folder that is watched throughout."""
    base = tmp_path_factory.mktemp("encrypted")
    root = base / "data"
    system_tmp = base / "system-tmp"
    system_tmp.mkdir()
    generate_market(root, seed=11, scale=0.02)
    seen_in_tmp: set[str] = set()
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            for dirpath, dirnames, filenames in os.walk(system_tmp):
                for name in dirnames + filenames:
                    seen_in_tmp.add(str((Path(dirpath) / name).relative_to(system_tmp)))
            stop.wait(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        done = run_adnet("run", "--data-dir", str(root), env_extra={
            KEY_ENV: KEY, UNSAFE_CRYPTO_ENV: "1",
            "TMPDIR": str(system_tmp), "TMP": str(system_tmp), "TEMP": str(system_tmp)})
    finally:
        stop.set()
        watcher.join()
    assert done.returncode == 0, f"adnet run failed:\n{done.stderr[-4000:]}"
    return root, system_tmp, seen_in_tmp


def needles(root: Path) -> dict[bytes, str]:
    """What must not be found, as lowercase bytes: every phone (E.164, with and without '+'), and every
    word of seven letters or more of every owner's name as the directory spells it (a cut-off name in
    a summary is still a name), in UTF-8 and as JSON's \\u escapes (how Dagster stores metadata)."""
    with connect(root / "adnet.duckdb", read_only=True, key=KEY, lock_timeout_s=60) as con:
        phones = [r[0] for r in con.execute("SELECT phone FROM phones ORDER BY 1").fetchall()]
        names = [r[0] for r in con.execute(
            "SELECT name FROM owners UNION SELECT name FROM owner_variants "
            "UNION SELECT name FROM directory_matches WHERE name IS NOT NULL ORDER BY 1").fetchall()]
    assert len(phones) > 20 and len(names) > 10, "the market is too small to test anything"
    found: dict[bytes, str] = {}
    for phone in phones:
        found[phone.encode()] = found[phone.lstrip("+").encode()] = phone
    for word in {w.lower() for name in names for w in re.findall(r"\w+", name) if len(w) >= 7}:
        found[word.encode("utf-8")] = found[json.dumps(word)[1:-1].lower().encode()] = word
    return found


def scan(root: Path, wanted: dict[bytes, str]) -> dict[str, list[str]]:
    """file (relative to the data folder) -> the needles it holds in plaintext."""
    hits = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes().lower()
        held = sorted({what for needle, what in wanted.items() if needle in data})
        if held:
            hits[path.relative_to(root).as_posix()] = held
    return hits


def test_nothing_adnet_wrote_outside_the_exports_holds_a_phone_or_a_name(encrypted_run):
    root, _, _ = encrypted_run
    hits = scan(root, needles(root))
    top = {name: name.split("/")[0] for name in hits}
    # the control: the scan does find phones and names where they are in plaintext
    assert any(top[f] == "directory" for f in hits) and any(top[f] == "snapshots" for f in hits)
    assert any(top[f] == "exports" for f in hits)
    leaks = {f: held for f, held in hits.items() if top[f] not in BY_DESIGN + INPUTS}
    report = "\n".join(f"  {f}: {len(held)} value(s), e.g. {', '.join(held[:3])}" for f, held in leaks.items())
    assert not leaks, f"plaintext phones or names outside the exports in {len(leaks)} file(s):\n{report}"
    # and the encrypted files are there and encrypted (not merely absent)
    for name in ("adnet.duckdb", "analyst/adnet.duckdb"):
        assert (root / name).stat().st_size > 100_000
    assert list((root / "warehouse" / "observations").glob("window=*.parquet"))


def test_no_export_or_step_leaves_a_temporary_file(encrypted_run):
    root, system_tmp, seen_in_tmp = encrypted_run
    assert list(system_tmp.iterdir()) == [], "files left in the system temp folder"
    spill = root / ".tmp"  # DuckDB's spill folder (DataLayout.tmp): stays, empty
    leftovers = sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                       if p != spill and LEFTOVER.search(p.name))
    assert leftovers == [], f"temporary files or folders left in the data folder: {leftovers}"
    assert not spill.exists() or list(spill.iterdir()) == [], "DuckDB spill files left behind"
    assert not list(root.rglob("*.wal")), "a database was left with an open write-ahead log"
    assert (root / "exports" / "adnet.xlsx").stat().st_size > 0  # the exports were written, not skipped
    # not even for a moment: the system temp folder may be another disk, unencrypted, kept after a crash
    assert seen_in_tmp == set(), f"written to the system temp folder during the run: {sorted(seen_in_tmp)[:10]}"
