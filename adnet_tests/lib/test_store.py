"""store: files written atomically, and stale export files pruned."""

from adnet_assets.lib.store import atomic_file, prune_files


def test_prune_removes_only_unlisted_matching_files(tmp_path):
    for name in ("network_N-1.png", "network_N-2.png", "network_N-2.xmind", "adnet.xlsx"):
        (tmp_path / name).write_bytes(b"x")
    removed = prune_files(tmp_path, "network_*.png", [tmp_path / "network_N-1.png"])
    assert [p.name for p in removed] == ["network_N-2.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adnet.xlsx", "network_N-1.png", "network_N-2.xmind"]


def test_atomic_file_leaves_nothing_when_the_writer_fails(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    try:
        with atomic_file(target) as tmp:
            tmp.write_bytes(b"half")
            raise OSError("disk full")
    except OSError:
        pass
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_a_new_database_appears_whole_and_a_racing_creator_keeps_the_other_ones(tmp_path, monkeypatch):
    """Four runs starting at once once met a half-created adnet.duckdb ("not a valid DuckDB database
    file"): a new file is made under a temporary name and linked into place."""
    import os

    import duckdb

    from adnet_assets.lib import store

    target = tmp_path / "adnet.duckdb"
    with store.connect(target, key=None) as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS x")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != ".tmp") == ["adnet.duckdb"]

    # another process creates the file between our check and our link: its file stands, ours goes
    other = tmp_path / "other.duckdb"
    real_link = os.link

    def racing_link(src, dst):
        with duckdb.connect(str(dst)) as theirs:
            theirs.execute("CREATE TABLE theirs AS SELECT 2 AS y")
        real_link(src, dst)

    monkeypatch.setattr(store.os, "link", racing_link)
    with store.connect(other, key=None) as con:
        assert con.execute("SELECT y FROM theirs").fetchall() == [(2,)]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp") and p.name != ".tmp"]  # .tmp: the spill folder
