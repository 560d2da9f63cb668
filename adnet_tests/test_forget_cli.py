"""`adnet forget` as a user runs it, on a copy of a small generated market after a full run: a number
of a network with a directory owner, then a person, each gone from every file of the data folder,
the networks rebuilt, and an audit row that says how much and never what."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import zipfile
from dataclasses import dataclass

import duckdb
import phonenumbers
import pytest

from adnet_assets.layout import DataLayout
from adnet_assets.lib import forget as fg
from adnet_tests.conftest import run_adnet


def _query(path, sql, params=()):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def _files_holding(layout: DataLayout, needles: list[str]) -> list[str]:
    """A plain search, apart from the one adnet forget runs: raw bytes, zip members, and every text
    column of the DuckDB files, for exact strings."""
    found = []
    for path in sorted(p for p in layout.root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if data[8:12] == b"DUCK":
            with duckdb.connect(str(path), read_only=True) as con:
                columns = con.execute("SELECT table_name, column_name FROM information_schema.columns "
                                      "WHERE table_catalog = current_database() AND (data_type LIKE '%VARCHAR%' "
                                      "OR data_type = 'JSON')").fetchall()
                for table, column in columns:
                    hit = " OR ".join(f'contains(CAST("{column}" AS VARCHAR), ?)' for _ in needles)
                    if con.execute(f'SELECT count(*) FROM "{table}" WHERE {hit}', needles).fetchone()[0]:
                        found.append(f"{path.name}:{table}.{column}")
            continue
        blobs = [data]
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                blobs += [archive.read(name) for name in archive.namelist()]
        if any(n.encode() in blob for n in needles for blob in blobs):
            found.append(path.relative_to(layout.root).as_posix())
    return found


def _audit(layout: DataLayout) -> list[str]:
    scopes = []
    for path in (layout.database, layout.analyst_database):
        rows = _query(path, "SELECT scope FROM audit_log WHERE action = 'forget'")
        assert len(rows) == 1, path
        scopes.append(rows[0][0])
    return scopes


@dataclass
class Forgotten:
    layout: DataLayout
    phone: str            # E.164
    national: str         # its national digits
    shown: str            # as the user typed it ("476 65 303")
    network: str          # the network it was in
    n_members: int        # that network's members before
    name: str             # the person forgotten (a directory owner of another phone of a network)
    person_phone: str     # that person's number, which stays
    mtimes: dict          # exports and analysts' copy before
    statuses: dict        # snapshots by status before
    dry: subprocess.CompletedProcess
    done: subprocess.CompletedProcess


@pytest.fixture(scope="module")
def forgotten(small_market, tmp_path_factory) -> Forgotten:
    """One forget of a number and a person on a private copy of the session's market (which stays as
    it is), without the demo's ground truth: that folder is the generator's answer key, not part of an
    investigation, and holds every number. One run of the command (one rebuild) serves both tests."""
    root, _, done = small_market
    assert done.returncode == 0, done.stderr[-3000:]
    copy = tmp_path_factory.mktemp("forget") / "data"
    shutil.copytree(root, copy, symlinks=True)
    shutil.rmtree(copy / "demo-truth")
    layout = DataLayout.at(copy)
    phone, network, n_members = _query(layout.analyst_database, """
        SELECT m.member_key, m.network_id, (SELECT count(*) FROM network_members x WHERE x.network_id = m.network_id)
        FROM network_members m JOIN directory_matches d ON d.phone = m.member_key
        WHERE m.member_type = 'phone' ORDER BY m.network_id DESC, m.member_key LIMIT 1""")[0]
    owners = {fg.name_key(n) for (n,) in _query(layout.analyst_database,
                                                "SELECT name FROM directory_listings WHERE phone = ?", [phone])}
    name, person_phone = next((n, p) for n, p in _query(layout.analyst_database, """
        SELECT d.name, d.phone FROM directory_matches d JOIN network_members m ON m.member_key = d.phone
        WHERE m.member_type = 'phone' AND d.name IS NOT NULL AND d.phone <> ? ORDER BY d.name""", [phone])
        if fg.name_key(n) not in owners)
    number = phonenumbers.parse(phone)
    shown = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)  # "476 65 303"
    mtimes = {p: p.stat().st_mtime_ns for p in (layout.exports / "adnet.xlsx", layout.analyst_database)}
    statuses = dict(_query(layout.database, "SELECT status, count(*) FROM snapshots GROUP BY ALL"))
    assert _files_holding(layout, [phone, name])  # everywhere, to begin with
    args = ("forget", "--data-dir", str(copy), "--phone", shown, "--person", name)
    dry = run_adnet(*args, "--dry-run")
    assert dry.returncode == 0, dry.stderr[-3000:]
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes
    return Forgotten(layout, phone, phonenumbers.national_significant_number(number), shown, network, n_members,
                     name, person_phone, mtimes, statuses, dry, run_adnet(*args, "--yes"))


def test_forget_a_number_removes_it_from_every_file_and_rebuilds_its_network(forgotten):
    f, market = forgotten, forgotten.layout
    assert "snapshot line" in f.dry.stderr and "dry run, nothing changed" in f.dry.stderr
    assert f.done.returncode == 0, f.done.stdout[-3000:] + f.done.stderr[-3000:]
    assert "Nothing of it is left in any file of the data folder" in f.done.stdout
    assert "raw_snapshots" in f.done.stderr  # the rebuild's progress
    # the number, in every form it was shown, is nowhere: the forget's own search and a plain one agree
    plan = fg.find_places(market, fg.parse_request([f.shown]))
    assert plan.empty and fg.find_leftovers(market, plan.needles) == []
    assert _files_holding(market, [f.phone, f.national]) == []
    # the tables no longer know it; its network was rebuilt without it (smaller, or gone)
    for table, column in (("phones", "phone"), ("observation_phones", "phone"), ("network_members", "member_key"),
                          ("directory_matches", "phone")):
        assert _query(market.database, f"SELECT count(*) FROM {table} WHERE {column} = ?", [f.phone]) == [(0,)]
    left = _query(market.database, "SELECT count(*) FROM network_members WHERE network_id = ?", [f.network])[0][0]
    assert left < f.n_members
    events = _query(market.database, "SELECT event FROM network_history WHERE network_id = ? ORDER BY run_at DESC "
                                     "LIMIT 1", [f.network])
    assert events and events[0][0] != "new"
    # exports and the analysts' copy were written again; the audit row is in both databases, counts only
    assert all(p.stat().st_mtime_ns > t for p, t in f.mtimes.items())
    for scope in _audit(market):
        assert scope.startswith("1 phone number and 1 person: ") and "snapshot line" in scope
        assert "database compacted" in scope and not re.search(r"\d{5}", scope) and f.national not in scope
    # the snapshots still verify against their manifests, which count the lines cut
    assert dict(_query(market.database, "SELECT status, count(*) FROM snapshots GROUP BY ALL")) == f.statuses
    redacted = [json.loads(p.read_text()).get("redacted_lines", 0) for p in market.snapshots.glob("*/*/manifest.json")]
    assert sum(redacted) == int(re.search(r"(\d+) snapshot lines? in", f.done.stdout).group(1)) > 0


def test_forget_a_person_removes_their_listings_and_keeps_the_number_the_network_uses(forgotten):
    f, market = forgotten, forgotten.layout
    assert f.done.returncode == 0, f.done.stdout[-3000:] + f.done.stderr[-3000:]
    assert f'"{f.name}"' in f.dry.stderr  # what matched is shown on the terminal, and only there
    key = fg.name_key(f.name)
    plan = fg.find_places(market, fg.parse_request([], [f.name]))
    assert plan.empty and fg.find_leftovers(market, plan.needles) == []
    assert _files_holding(market, [f.name]) == []
    for path in market.directory.glob("*.csv"):
        with open(path, newline="", encoding="utf-8", errors="replace") as handle:
            assert not any(fg.name_key(row.get("name")) == key for row in csv.DictReader(handle))
    for table in ("owner_variants", "directory_listings", "directory_matches"):
        names = _query(market.database, f"SELECT name FROM {table} WHERE name IS NOT NULL")
        assert names and all(fg.name_key(n) != key for (n,) in names), table
    # the number stays: the network's ads still show it
    assert _query(market.database, "SELECT count(*) > 0 FROM phones WHERE phone = ?", [f.person_phone]) == [(True,)]
    for scope in _audit(market):
        assert not any(word in scope.lower() for word in key.split())


def test_forget_again_finds_nothing_and_changes_nothing(forgotten):
    market = forgotten.layout
    before = {p: p.stat().st_mtime_ns for p in market.root.rglob("*") if p.is_file()}
    again = run_adnet("forget", "--data-dir", str(market.root), "--phone", forgotten.phone, "--person", forgotten.name)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "found nowhere" in again.stderr and "nothing changed" in again.stderr
    assert {p: p.stat().st_mtime_ns for p in market.root.rglob("*") if p.is_file()} == before
    assert len(_audit(market)) == 2  # still the one forget row in each database
