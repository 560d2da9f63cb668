"""XMind export: one .xmind per network carrying the JSON form (XMind 2020+) and the XML form (XMind 8).

Every map is read back with the independent reader ``xmindparser`` (it reads content.json when the zip has
one, else content.xml, so the XML form is checked on a copy of the zip without the JSON entries).
"""

import json
import struct
import tempfile
import zipfile
import zlib
from pathlib import Path
from xml.etree import ElementTree

import duckdb
import pytest
import xmindparser

from adnet_assets.lib import xmind_export
from adnet_assets.lib.xmind_export import XmindReport, map_file_name, write_network_map, write_network_maps
from adnet_tests.conftest import CountingConnection, record_atomic_files

NS = {"x": "urn:xmind:xmap:xmlns:content:2.0", "xhtml": "http://www.w3.org/1999/xhtml"}
P1, P2, P3, P_OUT = "+4741000001", "+4741000002", "+4741000003", "+4799999999"
OWNER_1_NAME = "Åse Øvergård <script>alert(1)</script>"
OWNER_2_NAME = "Bjørn\x07 Ås\r\nÆrlig"
AD_1_NAME = "Søt <b>jente</b>"
N_PHOTO = 25

MEMBERS = [
    # network_id, member_type, member_key, explanation, via, link_kind, weight
    ("N-7", "phone", P1, "EXPL-P1 frø: nummeret <i>på</i> Grünerløkka", None, None, None),
    ("N-7", "phone", P2, "EXPL-P2 rotation with " + P1, f"phone:{P1}", "rotation", 0.9),
    ("N-7", "phone", P3, "EXPL-P3 same owner", "owner:O-2", "directory", 0.9),
    ("N-7", "owner", "O-1", "EXPL-O1 registered owner of " + P1, f"phone:{P1}", "directory", 0.9),
    ("N-7", "owner", "O-2", "EXPL-O2 registered owner\x1b of " + P2, f"phone:{P2}", "directory", 0.9),
    ("N-7", "ad", "site:1", "EXPL-AD1 showed " + P1, f"phone:{P1}", "ad_phone", 1.0),
    ("N-7", "ad", "site:2", "EXPL-AD2 showed " + P2, f"phone:{P2}", "ad_phone", 1.0),
    ("N-7", "address", "storgata 1, 0155", "EXPL-ADDR flat of O-1 and O-2", "owner:O-1", "owner_address", 0.8),
    ("N/8 x", "phone", P_OUT, "EXPL-OTHER seed", None, None, None),
]


def _link(kind, a, b, evidence, weight=0.9, strength="strong"):
    a_type, b_type = a.split(":", 1)[0], b.split(":", 1)[0]
    return (kind, a, b, weight, evidence, a_type, b_type, "test", strength, True)


LINKS = [
    _link("ad_phone", "ad:site:1", f"phone:{P1}", f"ad site:1 showed {P1} in 3 snapshot(s) – Tromsø", 1.0),
    _link("ad_phone", "ad:site:2", f"phone:{P2}", f"ad site:2 showed {P2} in 2 snapshot(s)", 1.0),
    _link("directory", f"phone:{P1}", "owner:O-1", f'{P1} registered to owner O-1 as "{OWNER_1_NAME}"'),
    _link("directory", f"phone:{P2}", "owner:O-2", f"{P2} registered to owner O-2"),
    _link("directory", f"phone:{P3}", "owner:O-2", f"{P3} registered to owner O-2"),
    _link("owner_address", "owner:O-1", "address:storgata 1, 0155", "owner O-1 registered at Storgata 1 Æ", 0.8),
    _link("owner_address", "owner:O-2", "address:storgata 1, 0155", "owner O-2 registered at Storgata 1 Æ", 0.8),
    _link("rotation", f"phone:{P1}", f"phone:{P2}", f"{P1} and {P2}: same ad site:1 in 3 snapshot(s)"),
    _link("series", f"phone:{P2}", f"phone:{P3}", f"{P2} and {P3} lie 1 apart in series group S-NO-1", 0.5, "weak"),
    # a link to a non-member: never in this network's map
    _link("ad_phone", "ad:site:1", f"phone:{P_OUT}", f"NONMEMBER-LINK site:1 showed {P_OUT}", 1.0),
] + [_link("photo", "ad:site:1", "ad:site:2", f"PHOTO-{i:02d} same photo file", 0.5 + i / 100) for i in range(N_PHOTO)]


def _create(con, name, columns, rows):
    con.execute(f"CREATE TABLE {name} ({columns})")
    if rows:
        marks = ", ".join("?" * len(rows[0]))
        con.executemany(f"INSERT INTO {name} VALUES ({marks})", rows)


def _core_tables(con):
    _create(con, "networks", "network_id VARCHAR, n_ads BIGINT, n_phones BIGINT, n_owners BIGINT, n_addresses BIGINT, "
                             "first_seen TIMESTAMPTZ, last_seen TIMESTAMPTZ, cities VARCHAR[], owners VARCHAR[], "
                             "strongest_evidence VARCHAR, score DOUBLE",
            [("N-7", 2, 3, 2, 1, "2026-06-01 06:00:00+00", "2026-08-27 07:00:00+00", ["Oslo", "Tromsø", "Bodø"],
              ["Åse Øvergård"], f"STRONGEST {P1} and {P2}: same ad site:1 <b>x</b>", 0.95),
             ("N/8 x", 0, 1, 0, 0, None, None, [], [], None, None)])
    _create(con, "network_members", "network_id VARCHAR, member_type VARCHAR, member_key VARCHAR, explanation VARCHAR,"
                                    " via VARCHAR, link_kind VARCHAR, weight DOUBLE", MEMBERS)
    _create(con, "links", "kind VARCHAR, a VARCHAR, b VARCHAR, weight DOUBLE, evidence VARCHAR, a_type VARCHAR, "
                          "b_type VARCHAR, source VARCHAR, strength VARCHAR, for_networks BOOLEAN", LINKS)


def _optional_tables(con):
    _create(con, "owners", "owner_id VARCHAR, name VARCHAR, n_phones BIGINT",
            [("O-1", OWNER_1_NAME, 1), ("O-2", OWNER_2_NAME, 2)])
    _create(con, "addresses", "address_key VARCHAR, address VARCHAR, kind VARCHAR, generic BOOLEAN",
            [("storgata 1, 0155", "Storgata 1 Æ", "private", False)])
    _create(con, "ads", "ad_key VARCHAR, site VARCHAR, ad_id VARCHAR, last_name VARCHAR, last_city VARCHAR, "
                        "first_seen TIMESTAMPTZ, last_seen TIMESTAMPTZ, n_snapshots BIGINT",
            [("site:1", "site", "1", AD_1_NAME, "Tromsø", None, None, 3),
             ("site:2", "site", "2", "Line\x00\x1b", "Bodø", None, None, 2)])
    _create(con, "series_groups", "group_id VARCHAR, phone VARCHAR, strength VARCHAR, n_in_group BIGINT",
            [("S-NO-1", P2, "weak", 3), ("S-NO-1", P3, "weak", 3), ("S-NO-1", "+4741000004", "weak", 3)])
    _create(con, "network_travel", "network_id VARCHAR, from_city VARCHAR, to_city VARCHAR, n_moves BIGINT, "
                                   "n_ads BIGINT, first_move TIMESTAMPTZ, last_move TIMESTAMPTZ",
            [("N-7", "Oslo", "Bergen", 3, 2, "2026-06-01 12:00:00+00", "2026-07-01 12:00:00+00"),
             ("N-7", "Tromsø", "Bodø", 1, 1, "2026-06-05 12:00:00+00", "2026-06-05 12:00:00+00")])
    _create(con, "network_movement", "network_id VARCHAR, n_ads BIGINT, n_ads_moved BIGINT, share_moved DOUBLE, "
                                     "n_moves BIGINT, n_cities BIGINT", [("N-7", 2, 1, 0.5, 4, 4)])


@pytest.fixture
def con():
    connection = duckdb.connect(":memory:")
    connection.execute("SET TimeZone = 'UTC'")
    _core_tables(connection)
    _optional_tables(connection)
    yield connection
    connection.close()


@pytest.fixture(autouse=True)
def _xmindparser_config(monkeypatch):
    monkeypatch.setitem(xmindparser.config, "showTopicId", True)
    monkeypatch.setitem(xmindparser.config, "showRelationship", True)


def _png(width=40, height=20) -> bytes:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + b"\x80\x10\x10" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _only(src: Path, dst: Path, keep) -> Path:
    """A copy of the zip with only the entries ``keep`` accepts (to read one form at a time)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for name in zin.namelist():
            if keep(name):
                zout.writestr(name, zin.read(name))
    return dst


def _xml_only(path: Path) -> Path:
    return _only(path, path.with_name("xml_only.xmind"), lambda n: not n.endswith(".json"))


def _walk(topic):
    yield topic
    for child in topic.get("topics", []):
        yield from _walk(child)


def _branch(sheet, title):
    return next(t for t in sheet["topic"]["topics"] if t["title"] == title)


def _by_prefix(topics, prefix):
    return next(t for t in topics if t["title"].startswith(prefix))


def _content(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read(name)


@pytest.fixture
def written(con, tmp_path):
    target = tmp_path / "out" / "n7.xmind"
    report = write_network_map(con, "N-7", target)
    return target, report


def test_both_forms_and_their_manifests(written):
    target, report = written
    assert report == XmindReport(target, report.n_topics, 2, 2)
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
        assert names == ["content.json", "metadata.json", "manifest.json", "content.xml", "META-INF/manifest.xml"]
        assert json.loads(archive.read("manifest.json")) == {"file-entries": {"content.json": {}, "metadata.json": {}}}
        json.loads(archive.read("metadata.json"))
        manifest = ElementTree.fromstring(archive.read("META-INF/manifest.xml"))
        paths = [e.get("full-path") for e in manifest]
        assert "content.xml" in paths and "META-INF/manifest.xml" in paths
        sheets = json.loads(archive.read("content.json"))  # valid JSON
        ElementTree.fromstring(archive.read("content.xml"))  # well-formed XML
    assert [s["class"] for s in sheets] == ["sheet", "sheet"]
    assert report.n_topics == sum(len(list(_walk(s["topic"]))) for s in xmindparser.xmind_to_dict(str(target)))


@pytest.mark.parametrize("form", ["json", "xml"])
def test_map_content_in_each_form(written, form):
    target, _ = written
    path = target if form == "json" else _xml_only(target)
    sheets = xmindparser.xmind_to_dict(str(path))
    assert [s["title"] for s in sheets] == ["Network N-7", "Summary and travel"]
    net = sheets[0]
    assert net["topic"]["title"] == "N-7: 2 ads, 3 phones, 2 owners"
    assert [t["title"] for t in net["topic"]["topics"]] == ["Owners", "Phones", "Ads", "Addresses", "Series groups"]

    owners = _branch(net, "Owners")["topics"]
    owner1 = _by_prefix(owners, "Åse Øvergård")
    assert owner1["title"] == f"{OWNER_1_NAME} (O-1)"
    assert [t["title"] for t in owner1["topics"]] == [P1]
    owner2 = _by_prefix(owners, "Bjørn")
    assert owner2["title"] == "Bjørn Ås\nÆrlig (O-2)"  # BEL removed, CRLF normalised
    assert [t["title"] for t in owner2["topics"]] == [P2, P3]
    assert owner2["note"].startswith("EXPL-O2 registered owner of")

    phones = _branch(net, "Phones")["topics"]
    assert [t["title"] for t in phones] == [f"{P1} – {OWNER_1_NAME}", f"{P2} – Bjørn Ås\nÆrlig",
                                            f"{P3} – Bjørn Ås\nÆrlig"]
    assert phones[0]["note"].startswith("EXPL-P1 frø: nummeret <i>på</i> Grünerløkka")
    assert "rotation, strong, weight 0.9:" in phones[0]["note"]
    assert all("NONMEMBER-LINK" not in t.get("note", "") for t in _walk(net["topic"]))

    ads = _branch(net, "Ads")["topics"]
    assert [t["title"] for t in ads] == [f"site:1 – {AD_1_NAME}, Tromsø", "site:2 – Line, Bodø"]
    assert ads[1]["note"].startswith("EXPL-AD2")
    address = _branch(net, "Addresses")["topics"]
    assert [t["title"] for t in address] == ["Storgata 1 Æ (storgata 1, 0155)"]
    assert address[0]["note"].startswith("EXPL-ADDR")
    series = _branch(net, "Series groups")["topics"]
    assert [t["title"] for t in series] == ["S-NO-1 (weak, 2 of 3 numbers here)"]
    assert [t["title"] for t in series[0]["topics"]] == [P2, P3]

    summary = sheets[1]["topic"]
    assert summary["title"] == "N-7: score 0.95, 2026-06-01 to 2026-08-27"
    assert "Cities: Oslo, Tromsø, Bodø" in summary["note"]
    travel = _by_prefix(summary["topics"], "Travel")["topics"]
    assert [t["title"] for t in travel] == ["Oslo → Bergen: 3 moves by 2 ads, 2026-06-01 to 2026-07-01",
                                            "Tromsø → Bodø: 1 moves by 1 ads, 2026-06-05 to 2026-06-05"]
    movement = _by_prefix(summary["topics"], "Movement")["topics"]
    assert [t["title"] for t in movement] == ["1 of 2 ads moved (50%)", "4 moves between 4 cities"]


def test_note_caps_evidence(written):
    target, _ = written
    net = xmindparser.xmind_to_dict(str(target))[0]
    note = _branch(net, "Ads")["topics"][0]["note"]
    assert note.startswith("EXPL-AD1 showed")
    assert f"Evidence ({N_PHOTO + 1} link(s) within the network):" in note
    assert note.count("\n- ") == xmind_export.MAX_NOTE_LINKS
    assert note.endswith(f"… and {N_PHOTO + 1 - xmind_export.MAX_NOTE_LINKS} more")
    assert "PHOTO-24" in note and "PHOTO-00" not in note  # strongest first


def _xml_relationships(path: Path):
    root = ElementTree.fromstring(_content(path, "content.xml"))
    return [(r.get("id"), r.get("end1"), r.get("end2"), r.findtext("x:title", namespaces=NS))
            for r in root.iterfind("x:sheet/x:relationships/x:relationship", NS)]


def test_ids_and_relationships_identical_in_both_forms(written):
    target, _ = written
    json_sheets = xmindparser.xmind_to_dict(str(target))
    xml_sheets = xmindparser.xmind_to_dict(str(_xml_only(target)))
    assert [s["id"] for s in json_sheets] == [s["id"] for s in xml_sheets]
    for js, xs in zip(json_sheets, xml_sheets):
        assert [(t["id"], t["title"], t.get("note")) for t in _walk(js["topic"])] == \
               [(t["id"], t["title"], t.get("note")) for t in _walk(xs["topic"])]
    ids = [t["id"] for s in json_sheets for t in _walk(s["topic"])] + [s["id"] for s in json_sheets]
    assert len(ids) == len(set(ids))
    assert all(len(i) == 26 and i.isalnum() and i == i.lower() for i in ids)

    json_rels = [(r["id"], r["end1Id"], r["end2Id"], r["title"])
                 for r in json.loads(_content(target, "content.json"))[0]["relationships"]]
    assert json_rels == _xml_relationships(target)
    by_title = {t["title"]: t["id"] for t in _walk(json_sheets[0]["topic"])}
    phones = {t["title"].split(" ")[0]: t["id"] for t in _branch(json_sheets[0], "Phones")["topics"]}
    rels = {title: (end1, end2) for _, end1, end2, title in json_rels}
    assert rels["rotation: same ad site:1 in 3 snapshot(s)"] == (phones[P1], phones[P2])
    assert rels["same flat: Storgata 1 Æ"] == (by_title[f"{OWNER_1_NAME} (O-1)"], by_title["Bjørn Ås\nÆrlig (O-2)"])


def test_markup_stays_text(written):
    target, _ = written
    xml = _content(target, "content.xml").decode("utf-8")
    assert "<script>" not in xml and "<b>" not in xml and "<i>" not in xml
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in xml and "Søt &lt;b&gt;jente&lt;/b&gt;" in xml
    root = ElementTree.fromstring(xml)
    assert not [e for e in root.iter() if e.tag.split("}")[-1] in {"script", "b", "i"}]
    content = json.loads(_content(target, "content.json"))
    owners = content[0]["rootTopic"]["children"]["attached"][0]["children"]["attached"]
    assert owners[0]["title"] == f"{OWNER_1_NAME} (O-1)"
    for raw in (xml, _content(target, "content.json").decode("utf-8")):
        assert "Åse Øvergård" in raw and "Tromsø" in raw and "Storgata 1 Æ" in raw
        assert not any(ch in raw for ch in "\x00\x07\x1b\r")


class _SurrogateConnection:
    """A connection whose text values carry a lone surrogate, as a Python caller might hand over
    (DuckDB itself refuses to store one)."""

    def __init__(self, con):
        self._con = con

    def execute(self, sql, params=None):
        rows = self._con.execute(sql, params or []).fetchall()
        poison = [tuple(v.replace("Ås", "Å\ud800s") if isinstance(v, str) else v for v in row) for row in rows]
        return _Rows(poison)


class _Rows:
    def __init__(self, rows):
        self._rows = rows

    def fetchall(self):
        return self._rows


def test_lone_surrogate_is_removed(con, tmp_path):
    target = tmp_path / "n7.xmind"
    write_network_map(_SurrogateConnection(con), "N-7", target)
    for form in (target, _xml_only(target)):
        net = xmindparser.xmind_to_dict(str(form))[0]
        assert _by_prefix(_branch(net, "Owners")["topics"], "Bjørn")["title"] == "Bjørn Ås\nÆrlig (O-2)"
    ElementTree.fromstring(_content(target, "content.xml"))


def test_deterministic(con, tmp_path):
    first = write_network_map(con, "N-7", tmp_path / "a" / "n7.xmind").path.read_bytes()
    second = write_network_map(con, "N-7", tmp_path / "b" / "n7.xmind").path.read_bytes()
    assert first == second
    with zipfile.ZipFile(tmp_path / "a" / "n7.xmind") as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_nothing_left_in_temp_or_beside_target(con, tmp_path, monkeypatch):
    private_tmp = tmp_path / "system_tmp"
    private_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(private_tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    before = sorted(Path(tempfile.gettempdir()).iterdir())
    out = tmp_path / "out"
    write_network_map(con, "N-7", out / "n7.xmind", picture_png=_write_png(tmp_path))
    assert sorted(Path(tempfile.gettempdir()).iterdir()) == before == []
    assert [p.name for p in out.iterdir()] == ["n7.xmind"]


def test_failed_write_leaves_no_file(con, tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()

    def broken_zip(path, entries, *rest):
        Path(path).write_bytes(b"half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(xmind_export, "_zip", broken_zip)
    with pytest.raises(OSError):
        write_network_map(con, "N-7", out / "n7.xmind")
    assert list(out.iterdir()) == []


def _write_png(tmp_path: Path, width=1200, height=300) -> Path:
    path = tmp_path / "travel.png"
    path.write_bytes(_png(width, height))
    return path


def test_picture_embedded_in_both_forms(con, tmp_path):
    target = tmp_path / "n7.xmind"
    write_network_map(con, "N-7", target, picture_png=_write_png(tmp_path))
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
        content = json.loads(archive.read("content.json"))
        image = content[1]["rootTopic"]["image"]
        name = image["src"].removeprefix("xap:resources/")
        assert image == {"src": f"xap:resources/{name}", "width": 600, "height": 150}
        assert archive.read(f"resources/{name}") == archive.read(f"attachments/{name}") == _png(1200, 300)
        assert f"resources/{name}" in json.loads(archive.read("manifest.json"))["file-entries"]
        manifest = ElementTree.fromstring(archive.read("META-INF/manifest.xml"))
        assert {e.get("full-path"): e.get("media-type") for e in manifest}[f"attachments/{name}"] == "image/png"
        root = ElementTree.fromstring(archive.read("content.xml"))
    summary_root = root.findall("x:sheet", NS)[1].find("x:topic", NS)
    img = summary_root.find("xhtml:img", NS)
    assert img.get(f"{{{NS['xhtml']}}}src") == f"xap:attachments/{name}"
    assert img.get("{http://www.w3.org/2000/svg}width") == "600"
    assert xmindparser.xmind_to_dict(str(target))[1]["topic"]["image"]["src"] == f"xap:resources/{name}"
    assert xmindparser.xmind_to_dict(str(_xml_only(target)))[1]["topic"]["title"] == "[Image]"  # its marker


def test_not_a_png_is_refused(con, tmp_path):
    bad = tmp_path / "x.png"
    bad.write_bytes(b"<svg/>")
    with pytest.raises(ValueError, match="not a PNG"):
        write_network_map(con, "N-7", tmp_path / "n7.xmind", picture_png=bad)
    assert not (tmp_path / "n7.xmind").exists()


def test_missing_optional_tables(tmp_path):
    con = duckdb.connect(":memory:")
    _core_tables(con)
    target = tmp_path / "n7.xmind"
    report = write_network_map(con, "N-7", target)
    for form in (target, _xml_only(target)):
        net, summary = xmindparser.xmind_to_dict(str(form))
        assert [t["title"] for t in net["topic"]["topics"]] == ["Owners", "Phones", "Ads", "Addresses"]
        assert [t["title"] for t in _branch(net, "Owners")["topics"]] == ["O-1", "O-2"]
        assert [t["title"] for t in _branch(net, "Ads")["topics"]] == ["site:1", "site:2"]
        assert [t["title"].split(":")[0] for t in summary["topic"]["topics"]] == ["Cities", "Strongest evidence"]
    assert report.n_relationships == 2  # rotation, and the flat (address privacy unknown: kept)


def test_write_network_maps_and_file_names(con, tmp_path):
    paths = write_network_maps(con, tmp_path / "maps")
    assert paths == {"N-7": tmp_path / "maps" / "network_N-7.xmind",
                     "N/8 x": tmp_path / "maps" / "network_N_8_x.xmind"}
    assert map_file_name("N/8 x") == "network_N_8_x.xmind"
    sparse = xmindparser.xmind_to_dict(str(paths["N/8 x"]))
    assert sparse[0]["topic"]["title"] == "N/8 x: 0 ads, 1 phones, 0 owners"
    assert [t["title"] for t in sparse[0]["topic"]["topics"]] == ["Phones"]
    assert sorted(p.name for p in (tmp_path / "maps").iterdir()) == ["network_N-7.xmind", "network_N_8_x.xmind"]


def test_unknown_network(con, tmp_path):
    with pytest.raises(ValueError, match="not in the networks table"):
        write_network_map(con, "N-404", tmp_path / "x.xmind")
    assert not list(tmp_path.iterdir())


def test_summary_shows_billing_and_red_flags_with_the_disclaimer(con, tmp_path):
    from adnet_assets.lib.red_flags import DISCLAIMER

    _create(con, "billing_counterparts", "counterpart VARCHAR, rank BIGINT, role VARCHAR, score DOUBLE, reason VARCHAR, "
                                         "subscriber_networks VARCHAR[]",
            [("+79001234567", 1, "controller-like", 0.88, "texts 2 of 2 recovered phones of N-7 …", ["N-7"]),
             ("+4790000001", 2, "customer-like", 0.12, "calls … irregular evening times", ["N-7"]),
             ("+4790000009", 3, "customer-like", 0.10, "another network's", ["N-9"])])
    _create(con, "billing_roaming", "subscriber VARCHAR, country VARCHAR, period_no BIGINT, first_day DATE, "
                                    "description VARCHAR",
            [(P1, "RU", 1, "2026-07-01", f"{P1} was on the Russian network Beeline from 2026-07-01 to 2026-07-05")])
    _create(con, "red_flags", "entity_type VARCHAR, entity_key VARCHAR, flag VARCHAR, category VARCHAR, "
                              "evidence VARCHAR, source VARCHAR",
            [("network", "N-7", "foreign_control", "control_and_surveillance", "a phone run from RU", "CMM"),
             ("network", "N-9", "id_rotation", "know_your_customer", "not this one", "CMM")])
    target = tmp_path / "n7.xmind"
    write_network_map(con, "N-7", target)
    for path in (target, _xml_only(target)):
        summary = xmindparser.xmind_to_dict(str(path))[1]
        billing = [t["title"] for t in _branch(summary, "Billing records")["topics"]]
        assert billing[0] == "+79001234567: controller-like, rank 1 (score 0.88)" and len(billing) == 3
        assert billing[2].startswith(f"{P1} was on the Russian network")
        flags = _branch(summary, "Red flags (screening signals, not verdicts)")
        assert [t["title"] for t in flags["topics"]] == ["foreign_control (control_and_surveillance)"]
        assert DISCLAIMER[:40] in flags.get("note", "")


def _copies(con, n):
    """``n`` more networks with N-7's members (and so its links), as many networks share a database."""
    con.execute("INSERT INTO networks SELECT 'N-7-copy-' || i, networks.* EXCLUDE (network_id) FROM networks, "
                "range(?) t(i) WHERE network_id = 'N-7'", [n])
    con.execute("INSERT INTO network_members SELECT 'N-7-copy-' || i, network_members.* EXCLUDE (network_id) "
                "FROM network_members, range(?) t(i) WHERE network_id = 'N-7'", [n])


def test_many_maps_are_read_in_a_few_set_based_passes(con, tmp_path, monkeypatch):
    few = CountingConnection(con)
    first = write_network_maps(few, tmp_path / "few")
    _copies(con, 12)
    many = CountingConnection(con)
    paths = write_network_maps(many, tmp_path / "many")
    assert len(paths) == len(first) + 12
    assert many.queries == few.queries  # one pass per table, not one query per network
    # a copy's map has the same content as N-7's (its own ids), and batching does not change a byte
    net = xmindparser.xmind_to_dict(str(paths["N-7-copy-3"]))[0]
    assert [t["title"] for t in _branch(net, "Owners")["topics"]] == [f"{OWNER_1_NAME} (O-1)", "Bjørn Ås\nÆrlig (O-2)"]
    assert len(net["relationships"]) == 2
    monkeypatch.setattr(xmind_export, "BATCH_MEMBERS", 1)
    small = CountingConnection(con)
    batched = write_network_maps(small, tmp_path / "batched")
    assert small.queries > many.queries  # a pass per batch
    for nid, path in paths.items():
        assert batched[nid].read_bytes() == path.read_bytes()
    single = write_network_map(con, "N-7-copy-3", tmp_path / "single.xmind").path
    assert single.read_bytes() == paths["N-7-copy-3"].read_bytes()


def test_maps_written_from_the_same_rows_are_kept_and_changed_ones_rewritten(con, tmp_path, monkeypatch):
    folder = tmp_path / "maps"
    picture = _write_png(tmp_path)
    first = {nid: p.read_bytes() for nid, p in write_network_maps(con, folder, pictures={"N-7": picture}).items()}
    written = record_atomic_files(monkeypatch, xmind_export)
    again = write_network_maps(con, folder, pictures={"N-7": picture})
    assert written == [] and {nid: p.read_bytes() for nid, p in again.items()} == first
    write_network_maps(con, folder)  # without its picture N-7's map changes
    assert [p.name for p in written] == ["network_N-7.xmind"]
    con.execute("UPDATE owners SET name = 'Kari Nordmann' WHERE owner_id = 'O-1'")
    (folder / "network_N_8_x.xmind").write_bytes(b"not a map")  # a damaged file is written again
    changed = write_network_maps(con, folder, pictures={"N-7": picture})
    assert [p.name for p in written[1:]] == ["network_N-7.xmind", "network_N_8_x.xmind"]
    assert changed["N/8 x"].read_bytes() == first["N/8 x"] and changed["N-7"].read_bytes() != first["N-7"]
    assert "Kari Nordmann" in _content(changed["N-7"], "content.json").decode("utf-8")


def test_maps_written_by_worker_processes_are_the_same_bytes(con, tmp_path, monkeypatch):
    from adnet_assets.lib import workers

    _copies(con, 6)
    here = write_network_maps(con, tmp_path / "here", workers=1)
    monkeypatch.setattr(workers, "MIN_ITEMS", 2)
    pooled = write_network_maps(con, tmp_path / "pooled", workers=2)
    assert list(pooled) == list(here) and len(here) >= 7
    assert all(pooled[nid].read_bytes() == path.read_bytes() for nid, path in here.items())
