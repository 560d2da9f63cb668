"""The analysts' copy: published while an analyst holds the old one open, without either noticing the other."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from adnet_assets.layout import DataLayout
from adnet_assets.lib import publish as publish_module
from adnet_assets.lib.publish import CopyInUse, contents, publish_copy

# An analyst's SQL session in another process: it opens the copy read-only and keeps querying in a
# background thread; the test asks it for a table's values, to reconnect, and for its counts.
HOLDER = textwrap.dedent("""
    import json, sys, threading, duckdb
    path = sys.argv[1]
    state = {"con": None, "queries": 0, "errors": []}
    lock = threading.Lock()
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            with lock:
                try:
                    state["con"].execute("SELECT count(*), min(value) FROM t JOIN v USING (value)").fetchall()
                    state["queries"] += 1
                except Exception as exc:
                    state["errors"].append(str(exc))

    def answer(obj):
        print(json.dumps(obj), flush=True)

    state["con"] = duckdb.connect(path, read_only=True)
    threading.Thread(target=spin, daemon=True).start()
    answer("ready")
    for line in sys.stdin:
        cmd, _, arg = line.strip().partition(" ")
        with lock:
            if cmd == "get":
                answer(sorted({r[0] for r in state["con"].execute(f"SELECT value FROM {arg}").fetchall()}))
            elif cmd == "reconnect":
                state["con"].close()
                state["con"] = duckdb.connect(path, read_only=True)
                answer("ok")
            elif cmd == "stats":
                answer({"queries": state["queries"], "errors": state["errors"]})
            elif cmd == "quit":
                stop.set()
                answer("bye")
                break
""")


class Holder:
    def __init__(self, path: Path, script: Path):
        script.write_text(HOLDER, encoding="utf-8")
        self.proc = subprocess.Popen([sys.executable, str(script), str(path)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.read() == "ready"

    def read(self):
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError(f"holder died: {self.proc.stderr.read()}")
        return json.loads(line)

    def ask(self, command: str):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self.read()

    def close(self):
        if self.proc.poll() is None:
            self.ask("quit")
            self.proc.wait(timeout=30)


def make_db(path: Path, value: str) -> None:
    con = duckdb.connect(str(path))
    con.execute("CREATE OR REPLACE TABLE t AS SELECT ? AS value", [value])
    con.execute("CREATE OR REPLACE TABLE big AS SELECT range AS n, ? AS value FROM range(300000)", [value])
    con.execute("CREATE OR REPLACE TABLE _private AS SELECT 1 AS x")
    con.execute("CREATE OR REPLACE VIEW v AS SELECT value FROM t")
    con.execute("COMMENT ON VIEW v IS 'the value'")
    con.close()


def set_value(path: Path, value: str) -> None:
    con = duckdb.connect(str(path))  # read-write: fails at once if anyone holds the file
    con.execute("UPDATE t SET value = ?", [value])
    con.execute("UPDATE big SET value = ?", [value])
    con.close()


@pytest.fixture
def dbs(tmp_path):
    main = tmp_path / "data" / "adnet.duckdb"
    main.parent.mkdir()
    make_db(main, "old")
    target = DataLayout.at(tmp_path / "data").analyst_database
    return main, target


def test_the_copy_is_complete_with_views_and_without_private_tables(dbs):
    main, target = dbs
    assert target == main.parent / "analyst" / "adnet.duckdb"
    assert publish_copy(main, target) == target
    con = duckdb.connect(str(target), read_only=True)
    tables, views = contents(con)
    assert tables == {"big": 300000, "t": 1} and views == {"v": "the value"}
    assert con.execute("SELECT value FROM v").fetchall() == [("old",)]
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = '_private'").fetchone()[0] == 0
    con.close()
    assert sorted(p.name for p in target.parent.iterdir()) == ["adnet.duckdb"]  # no temporary file, no .wal


def test_an_analyst_holding_the_copy_neither_blocks_the_run_nor_is_broken_by_it(dbs, tmp_path):
    main, target = dbs
    publish_copy(main, target)
    holder = Holder(target, tmp_path / "holder.py")
    try:
        assert holder.ask("get t") == ["old"]
        # the pipeline's file is free: the analyst holds only the copy
        set_value(main, "new")
        inode = target.stat().st_ino
        started = time.monotonic()
        publish_copy(main, target)  # never waits for the analyst
        assert time.monotonic() - started < 30
        assert target.stat().st_ino != inode
        # the open session still reads the old file, even a table it had not touched yet
        assert holder.ask("get big") == ["old"] and holder.ask("get t") == ["old"]
        time.sleep(0.2)
        stats = holder.ask("stats")
        assert stats["errors"] == [] and stats["queries"] > 0
        # reconnecting gives the new data
        assert holder.ask("reconnect") == "ok"
        assert holder.ask("get t") == ["new"] and holder.ask("get big") == ["new"]
        # and a run can write the pipeline's file again while the analyst holds the new copy
        set_value(main, "newer")
        publish_copy(main, target)
        assert holder.ask("get t") == ["new"]
        assert holder.ask("stats")["errors"] == []
    finally:
        holder.close()
    assert sorted(p.name for p in target.parent.iterdir()) == ["adnet.duckdb"]


def test_publishing_from_an_open_connection(dbs):
    main, target = dbs
    con = duckdb.connect(str(main))
    con.execute("UPDATE t SET value = 'written-in-this-session'")
    publish_copy(con, target)
    con.close()
    copy = duckdb.connect(str(target), read_only=True)
    assert copy.execute("SELECT value FROM v").fetchall() == [("written-in-this-session",)]
    copy.close()


def test_a_copy_held_open_on_windows_stays_as_it_was(dbs, monkeypatch):
    main, target = dbs
    publish_copy(main, target)
    before = target.read_bytes()
    set_value(main, "new")
    real_replace = os.replace

    def locked(src, dst):
        if Path(dst) == target:
            raise PermissionError(13, "The process cannot access the file because it is being used by another process")
        return real_replace(src, dst)

    monkeypatch.setattr(publish_module.os, "replace", locked)
    with pytest.raises(CopyInUse, match="previous copy stays"):
        publish_copy(main, target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in target.parent.iterdir()) == ["adnet.duckdb"]


def test_a_wal_left_by_someone_who_wrote_to_the_copy_is_moved_aside(dbs):
    main, target = dbs
    publish_copy(main, target)
    wal = target.with_name("adnet.duckdb.wal")
    wal.write_bytes(b"not this database's log")
    said = []
    publish_copy(main, target, log=said.append)
    assert not wal.exists() and len(said) == 1 and "moved aside" in said[0]
    assert [p.name.startswith("adnet.duckdb.wal.orphaned-") for p in target.parent.iterdir()].count(True) == 1
    con = duckdb.connect(str(target), read_only=True)
    assert con.execute("SELECT value FROM t").fetchall() == [("old",)]
    con.close()


def test_analysts_keep_their_own_tables_in_a_database_of_their_own(dbs, tmp_path):
    """What the README tells analysts: ATTACH a notes file (READ_WRITE) from the read-only session."""
    main, target = dbs
    publish_copy(main, target)
    notes = tmp_path / "my-notes.duckdb"
    con = duckdb.connect(str(target), read_only=True)
    con.execute(f"ATTACH '{notes}' AS notes (READ_WRITE)")
    con.execute("CREATE TABLE notes.leads AS SELECT value FROM v")
    publish_copy(main, target)  # while the session is open
    assert con.execute("SELECT * FROM notes.leads").fetchall() == [("old",)]
    con.close()
    assert duckdb.connect(str(notes), read_only=True).execute("SELECT * FROM leads").fetchall() == [("old",)]


def test_leftovers_of_a_crashed_publish_are_removed(dbs):
    main, target = dbs
    target.parent.mkdir(parents=True)
    old = target.parent / ".adnet.duckdb.0123456789ab.tmp"
    old.write_bytes(b"half a copy")
    os.utime(old, (time.time() - 2 * publish_module.STALE_TMP_S,) * 2)
    publish_copy(main, target)
    assert not old.exists()


# ---------------------------------------------------------------- the Dagster assets

def _analyst_defs():
    from adnet_assets.defs.analysts import assets as analyst_assets

    return analyst_assets


def test_analyst_copy_comes_after_every_table_of_the_database(tmp_path):
    from adnet_assets.definitions import build_definitions
    from adnet_assets.schema import ASSET_TABLES

    analyst_assets = _analyst_defs()
    defs = build_definitions(str(tmp_path))
    keys = {k for a in defs.assets for k in a.keys}
    if dg.AssetKey("analyst_copy") not in keys:  # not wired into definitions.py yet
        defs = dg.Definitions(assets=[*defs.assets, analyst_assets.analyst_views, analyst_assets.analyst_copy],
                              resources=defs.resources)
    graph = defs.resolve_asset_graph()
    copy_key = dg.AssetKey("analyst_copy")
    parents = graph.get(copy_key).parent_keys
    exports = {k for k in graph.get_all_asset_keys() if graph.get(k).group_name == "exports"} - {dg.AssetKey("shared_exports")}
    assert parents == {dg.AssetKey(t) for t in ASSET_TABLES} | {dg.AssetKey("analyst_views")} | exports
    assert all(graph.get(k).is_materializable for k in parents)
    # every asset that writes the database (kind duckdb) runs before the copy
    writers = {k for k in graph.get_all_asset_keys() if "duckdb" in (graph.get(k).kinds or set())}
    assert writers - {copy_key} <= parents | {dg.AssetKey("analyst_views")}
    assert graph.get(dg.AssetKey("analyst_views")).group_name == "analysts"


def _hand_made_data(root: Path) -> None:
    from adnet_tests.lib.test_views import build

    root.mkdir(parents=True)
    con = duckdb.connect(str(root / "adnet.duckdb"))
    build(con)
    con.close()


def test_the_assets_create_the_views_and_publish_the_copy(tmp_path):
    from adnet_assets.defs.resources import AdnetData
    from adnet_assets.lib.views import VIEWS

    analyst_assets = _analyst_defs()
    root = tmp_path / "data"
    _hand_made_data(root)
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [analyst_assets.analyst_views, analyst_assets.analyst_copy],  # their checks run in their steps
            instance=instance, resources={"adnet": AdnetData(data_dir=str(root))})
    assert result.success
    materialized = [e.event_specific_data.materialization for e in result.get_asset_materialization_events()]
    meta = {m.asset_key.path[-1]: m.metadata for m in materialized}
    assert meta["analyst_views"]["n_views"].value == len(VIEWS)
    copy_meta = meta["analyst_copy"]
    target = root / "analyst" / "adnet.duckdb"
    assert copy_meta["published"].value is True and copy_meta["path"].value == str(target)
    assert f"duckdb -readonly {target}" in copy_meta["open it"].value
    assert copy_meta["bytes"].value == target.stat().st_size
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {"views_answer": True, "copy_is_complete": True}
    con = duckdb.connect(str(target), read_only=True)
    assert con.execute("SELECT phone FROM network_phones ORDER BY 1").fetchall() == [("+4741000001",), ("+4741000003",)]
    con.close()


def test_a_held_copy_on_windows_does_not_fail_the_run(tmp_path, monkeypatch):
    from adnet_assets.defs.resources import AdnetData

    analyst_assets = _analyst_defs()
    root = tmp_path / "data"
    _hand_made_data(root)

    def locked(src, dst):
        raise PermissionError(13, "being used by another process")

    monkeypatch.setattr(publish_module.os, "replace", locked)
    with dg.instance_for_test() as instance:
        result = dg.materialize([analyst_assets.analyst_views, analyst_assets.analyst_copy], instance=instance,
                                resources={"adnet": AdnetData(data_dir=str(root))})
        assert result.success
        [event] = [e for e in result.get_asset_materialization_events()
                   if e.event_specific_data.materialization.asset_key == dg.AssetKey("analyst_copy")]
        assert event.event_specific_data.materialization.metadata["published"].value is False
        warnings = [r.user_message for r in instance.all_logs(result.run_id)
                    if r.level >= 30 and "cannot be replaced" in (r.user_message or "")]
        assert warnings
    assert not (root / "analyst" / "adnet.duckdb").exists()
    assert list((root / "analyst").iterdir()) == []
