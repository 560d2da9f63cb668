"""Network picture: a legible, deterministic PNG per network, safe against hostile labels."""

import base64
import io
import subprocess
import sys
from collections import Counter
from pathlib import Path

import duckdb
import pytest
from PIL import Image

from adnet_assets.lib import network_picture
from adnet_assets.lib.network_picture import (FOOTNOTE, clean_label, picture_name, png_data_uri,
                                              render_network_png, write_network_picture, write_network_pictures)
from adnet_tests.conftest import CountingConnection, record_atomic_files

HOSTILE_NAME = "$x^2$ <b>Bjørn</b> \\frac{1}{0}\x07 Ærlig Åse " + "lang" * 20
MEMBERS = [
    ("N-1", "phone", "+4741234567"), ("N-1", "phone", "+4741234568"),
    ("N-1", "ad", "site:1"), ("N-1", "ad", "site:2"), ("N-1", "ad", "other:$5$"),
    ("N-1", "owner", "O-1"), ("N-1", "owner", "O-2"), ("N-1", "address", "storgata 1, 0155"),
    ("N/2 ø", "phone", "+4799999999"), ("N/2 ø", "ad", "site:9"),
]
LINKS = [
    ("ad_phone", "ad:site:1", "phone:+4741234567", "strong"),
    ("ad_phone", "ad:site:2", "phone:+4741234568", "strong"),
    ("ad_phone", "ad:other:$5$", "phone:+4741234568", "strong"),
    ("rotation", "phone:+4741234567", "phone:+4741234568", "strong"),
    ("series", "phone:+4741234568", "phone:+4741234567", "weak"),  # same pair, other kind, reversed
    ("text", "ad:site:1", "ad:site:2", "weak"),
    ("photo", "ad:site:1", "ad:site:2", "strong"),
    ("directory", "owner:O-1", "phone:+4741234567", "strong"),
    ("directory", "owner:O-2", "phone:+4741234568", "strong"),
    ("owner_address", "owner:O-1", "address:storgata 1, 0155", "strong"),
    ("brand_new_kind", "owner:O-2", "address:storgata 1, 0155", None),
    ("ad_phone", "ad:site:9", "phone:+4799999999", "strong"),
    ("ad_phone", "ad:site:1", "phone:+4700000000", "strong"),  # other end is no member
]


def make_db(path: Path, members=MEMBERS, links=LINKS, extra_tables: bool = True) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE networks (network_id VARCHAR, n_ads BIGINT, n_phones BIGINT, n_owners BIGINT, "
                "n_addresses BIGINT)")
    ids = sorted({m[0] for m in members})
    con.executemany("INSERT INTO networks VALUES (?, 0, 0, 0, 0)", [[i] for i in ids])
    con.execute("CREATE TABLE network_members (network_id VARCHAR, member_type VARCHAR, member_key VARCHAR, "
                "explanation VARCHAR, via VARCHAR, link_kind VARCHAR, weight DOUBLE)")
    con.executemany("INSERT INTO network_members VALUES (?, ?, ?, 'x', NULL, NULL, 1.0)", members)
    con.execute("CREATE TABLE links (kind VARCHAR, a VARCHAR, b VARCHAR, weight DOUBLE, evidence VARCHAR, "
                "a_type VARCHAR, b_type VARCHAR, source VARCHAR, strength VARCHAR, for_networks BOOLEAN)")
    con.executemany("INSERT INTO links VALUES (?, ?, ?, 1.0, 'e', NULL, NULL, 's', ?, TRUE)", links)
    if extra_tables:
        con.execute("CREATE TABLE owners (owner_id VARCHAR, name VARCHAR)")
        con.executemany("INSERT INTO owners VALUES (?, ?)", [("O-1", HOSTILE_NAME), ("O-2", "Søren Ødegård\r\nAS")])
        con.execute("CREATE TABLE addresses (address_key VARCHAR, address VARCHAR)")
        con.execute("INSERT INTO addresses VALUES ('storgata 1, 0155', 'Storgata 1, 0155 Oslo $HOME$ \x1b[31m')")
        con.execute("CREATE TABLE ads (ad_key VARCHAR, ad_id VARCHAR, last_name VARCHAR, last_city VARCHAR)")
        con.executemany("INSERT INTO ads VALUES (?, ?, 'Åse', 'Tromsø')",
                        [("site:1", "1"), ("site:2", "$\\alpha$"), ("other:$5$", "$5$")])
    return con


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    return make_db(tmp_path / "t.duckdb")


def open_png(data: bytes) -> Image.Image:
    Image.open(io.BytesIO(data)).verify()
    return Image.open(io.BytesIO(data))


def test_renders_a_valid_png_of_sensible_size(con):
    png = render_network_png(con, "N-1")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = open_png(png)
    assert image.format == "PNG"
    assert 500 <= image.width <= 2000 and 500 <= image.height <= 2000
    assert len(png) < 150_000
    assert b"Software" not in png and b"matplotlib" not in png.lower()


def test_same_database_gives_the_same_bytes(tmp_path: Path, con):
    first = render_network_png(con, "N-1")
    assert render_network_png(con, "N-1") == first
    # a fresh database with the same rows inserted in another order: same picture
    again = make_db(tmp_path / "again.duckdb", members=MEMBERS[::-1], links=LINKS[::-1])
    assert render_network_png(again, "N-1") == first


def test_hostile_and_nordic_labels_are_cleaned():
    assert clean_label("$x$") == "$x$"  # kept literally: the drawing turns mathtext off
    assert clean_label("a\x00b\x07c\u202ed\ud800e") == "abcde"
    assert clean_label("Bjørn\r\nÆrlig\tÅse") == "Bjørn Ærlig Åse"
    long = clean_label("x" * 100)
    assert len(long) == 28 and long.endswith("…")
    assert clean_label(None) == "" and clean_label(42) == "42"
    assert "?" in clean_label("tofu \U0001F600 \u4e2d")  # glyphs the font lacks become ?


def test_missing_lookup_tables_and_unknown_kinds_still_render(tmp_path: Path):
    con = make_db(tmp_path / "bare.duckdb", extra_tables=False)
    open_png(render_network_png(con, "N-1"))


def test_unknown_network_raises(con, tmp_path: Path):
    with pytest.raises(ValueError, match="unknown network"):
        render_network_png(con, "N-404")
    empty = duckdb.connect(str(tmp_path / "empty.duckdb"))
    with pytest.raises(ValueError):
        render_network_png(empty, "N-1")


def test_network_without_members_still_gets_a_picture(con):
    con.execute("INSERT INTO networks VALUES ('N-empty', 0, 0, 0, 0)")
    open_png(render_network_png(con, "N-empty"))


def test_write_is_atomic_and_names_are_file_safe(con, tmp_path: Path):
    folder = tmp_path / "out"
    written = write_network_pictures(con, folder)
    assert set(written) == {"N-1", "N/2 ø"}
    assert written["N-1"] == folder / "network_N-1.png"
    assert written["N/2 ø"] == folder / "network_N_2__.png"
    assert sorted(p.name for p in folder.iterdir()) == ["network_N-1.png", "network_N_2__.png"]
    assert written["N-1"].read_bytes() == render_network_png(con, "N-1")
    target = write_network_picture(con, "N-1", folder / "again.png")
    assert target.read_bytes() == written["N-1"].read_bytes()
    with pytest.raises(ValueError):
        write_network_picture(con, "nope", folder / "nope.png")
    assert sorted(p.name for p in folder.iterdir()) == ["again.png", "network_N-1.png", "network_N_2__.png"]
    assert picture_name("../../etc/passwd") == "network_.._.._etc_passwd.png"


def test_data_uri_round_trips(con):
    png = render_network_png(con, "N-1")
    uri = png_data_uri(png)
    assert uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]) == png


def test_big_network_renders(tmp_path: Path):
    members = [("N-big", "phone", f"+47400{i:05d}") for i in range(120)]
    members += [("N-big", "ad", f"site:{i}") for i in range(140)]
    members += [("N-big", "owner", f"O-{i}") for i in range(25)]
    members += [("N-big", "address", f"gate {i}, 0{i:03d}") for i in range(15)]
    links = [("ad_phone", f"ad:site:{i}", f"phone:+47400{i % 120:05d}", "strong") for i in range(140)]
    links += [("rotation", f"phone:+47400{i:05d}", f"phone:+47400{(i * 7 + 1) % 120:05d}", "strong")
              for i in range(120)]
    links += [("directory", f"owner:O-{i % 25}", f"phone:+47400{i:05d}", "strong") for i in range(120)]
    links += [("owner_address", f"owner:O-{i}", f"address:gate {i % 15}, 0{i % 15:03d}", "strong") for i in range(25)]
    links += [("photo", f"ad:site:{i}", f"ad:site:{(i * 3 + 5) % 140}", "weak") for i in range(140)]
    con = make_db(tmp_path / "big.duckdb", members=members, links=links, extra_tables=False)
    png = render_network_png(con, "N-big")
    image = open_png(png)
    assert image.width <= 2000 and image.height <= 2000


def _big_network(n_phones=120, n_ads=140, n_owners=25, n_addresses=15, nid="N-big"):
    members = [(nid, "phone", f"+47400{i:05d}") for i in range(n_phones)]
    members += [(nid, "ad", f"site:{i}") for i in range(n_ads)]
    members += [(nid, "owner", f"O-{i}") for i in range(n_owners)]
    members += [(nid, "address", f"gate {i}, 0{i:03d}") for i in range(n_addresses)]
    links = [("ad_phone", f"ad:site:{i}", f"phone:+47400{i % n_phones:05d}", "strong") for i in range(n_ads)]
    links += [("directory", f"owner:O-{i % n_owners}", f"phone:+47400{i:05d}", "strong") for i in range(n_phones)]
    return members, links


def test_a_huge_network_is_capped_and_the_title_says_so(tmp_path: Path, monkeypatch):
    members, links = _big_network()
    monkeypatch.setattr(network_picture, "MAX_DRAWN", 60)
    kept = network_picture._drawn([m[1:] for m in members], links)
    assert len(kept) == 60
    # grown around the most linked member (an owner of 5 phones): its phones, their ads, other owners …
    assert "owner:O-0" in kept and {f"phone:+47400{i:05d}" for i in (0, 25, 50, 75, 100)} <= kept
    assert {"ad:site:0", "ad:site:120"} <= kept
    # … so every member drawn is linked to another one drawn
    linked = {a for _, a, b, _ in links if a in kept and b in kept} | {b for _, a, b, _ in links
                                                                      if a in kept and b in kept}
    assert linked == kept
    assert network_picture._drawn([m[1:] for m in members][::-1], links[::-1]) == kept  # deterministic
    assert network_picture._counts_title("N-big", Counter(t for _, t, _ in members), len(members), 60) == (
        "N-big: 140 ads, 120 phones, 25 owners, 15 addresses (drawn: 60 of 300 members, around the most linked)")
    con = make_db(tmp_path / "huge.duckdb", members=members, links=links, extra_tables=False)
    png = render_network_png(con, "N-big")
    assert open_png(png).width <= 2000 and render_network_png(con, "N-big") == png  # drawn, and deterministic


def test_many_networks_are_read_in_a_few_set_based_passes(tmp_path: Path, monkeypatch):
    few_members = MEMBERS
    many_members = MEMBERS + [(f"N-copy-{i}", t, k) for i in range(12) for nid, t, k in MEMBERS if nid == "N-1"]
    few = CountingConnection(make_db(tmp_path / "few.duckdb", members=few_members))
    many_con = make_db(tmp_path / "many.duckdb", members=many_members)
    many = CountingConnection(many_con)
    write_network_pictures(few, tmp_path / "few")
    written = write_network_pictures(many, tmp_path / "many")
    assert len(written) == 14 and many.queries == few.queries  # one pass per table, not a query per network
    # a copy shares N-1's members and links: the same drawing but for its title
    assert open_png(written["N-copy-3"].read_bytes()).size == open_png(written["N-1"].read_bytes()).size
    assert written["N-copy-3"].read_bytes() != written["N-1"].read_bytes()
    monkeypatch.setattr(network_picture, "BATCH_MEMBERS", 3)  # a pass per few networks: the same bytes
    batched = write_network_pictures(many_con, tmp_path / "batched")
    assert all(batched[nid].read_bytes() == path.read_bytes() for nid, path in written.items())
    assert batched["N-copy-3"].read_bytes() == render_network_png(many_con, "N-copy-3")


def test_pyplot_is_not_imported():
    code = ("import sys, duckdb\n"
            "from adnet_assets.lib.network_picture import render_network_png\n"
            "con = duckdb.connect()\n"
            "con.execute(\"CREATE TABLE network_members AS SELECT 'N' AS network_id, 'phone' AS member_type, "
            "'+4741234567' AS member_key\")\n"
            "render_network_png(con, 'N')\n"
            "assert 'matplotlib.pyplot' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])


def test_footnote_is_a_screening_reminder():
    assert "not a verdict" in FOOTNOTE


def test_thumbnail_is_smaller_and_still_a_png():
    from adnet_assets.lib.network_picture import thumbnail_png

    buffer = io.BytesIO()
    Image.new("RGB", (1200, 900), "white").save(buffer, format="PNG")
    image = Image.open(io.BytesIO(thumbnail_png(buffer.getvalue(), max_side=400)))
    assert image.format == "PNG" and max(image.size) == 400 and image.size == (400, 300)


def test_pictures_drawn_from_the_same_rows_are_kept_and_changed_ones_redrawn(con, tmp_path: Path, monkeypatch):
    folder = tmp_path / "out"
    first = {nid: path.read_bytes() for nid, path in write_network_pictures(con, folder).items()}
    drawn = record_atomic_files(monkeypatch, network_picture)
    again = write_network_pictures(con, folder)
    assert drawn == [] and {nid: p.read_bytes() for nid, p in again.items()} == first  # nothing redrawn
    con.execute("UPDATE owners SET name = 'Kari Nordmann' WHERE owner_id = 'O-2'")  # N-1 changes, N/2 ø not
    (folder / "network_N_2__.png").write_bytes(b"not the picture")  # a damaged file is drawn again
    changed = write_network_pictures(con, folder)
    assert sorted(p.name for p in drawn) == ["network_N-1.png", "network_N_2__.png"]
    assert changed["N-1"].read_bytes() != first["N-1"] and changed["N/2 ø"].read_bytes() == first["N/2 ø"]
    assert changed["N-1"].read_bytes() == render_network_png(con, "N-1")


def test_pictures_drawn_by_worker_processes_are_the_same_bytes(tmp_path: Path, monkeypatch):
    from adnet_assets.lib import workers

    members = MEMBERS + [(f"N-copy-{i}", t, k) for i in range(6) for nid, t, k in MEMBERS if nid == "N-1"]
    con = make_db(tmp_path / "many.duckdb", members=members)
    here = write_network_pictures(con, tmp_path / "here", workers=1)
    monkeypatch.setattr(workers, "MIN_ITEMS", 2)
    pooled = write_network_pictures(con, tmp_path / "pooled", workers=2)
    assert list(pooled) == list(here) and len(here) == 8
    assert all(pooled[nid].read_bytes() == path.read_bytes() for nid, path in here.items())
