"""Network picture: a legible, deterministic PNG per network, safe against hostile labels."""

import base64
import io
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from PIL import Image

from adnet_assets.lib.network_picture import (FOOTNOTE, clean_label, picture_name, png_data_uri,
                                              render_network_png, write_network_picture, write_network_pictures)

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
