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
