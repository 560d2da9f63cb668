"""FollowTheMoney export: the evidence graph and one network as FtM JSON lines, read back with followthemoney."""

import json
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pytest
from followthemoney import model
from followthemoney.types import registry
from followthemoney.util import make_entity_id

from adnet_assets.lib.ftm_export import FtmReport, write_all_ftm_entities, write_ftm_entities
from adnet_assets.lib.safe_text import CONTROL_CHARS

T0 = datetime(2026, 6, 1, 6, 30, tzinfo=timezone.utc)
T1 = datetime(2026, 6, 8, 7, 45, tzinfo=timezone.utc)
T2 = datetime(2026, 6, 15, 8, 0, tzinfo=timezone.utc)
MARKUP_NAME = "<script>alert('x')</script> Åse\x07"
CONTROL_EVIDENCE = "+4791234567 og +4791234568:\x00 samme annonse\r\n\x1b[31mi 3 snapshot(s)\x85"

LINKS = [  # kind, a, b, weight, evidence, a_type, b_type, source, strength, for_networks
    ("ad_phone", "ad:site-a.example:1", "phone:+4791234567", 1.0, "ad site-a.example:1 showed +4791234567",
     "ad", "phone", "observation_phones: s1,s2", "strong", True),
    ("ad_phone", "ad:site-b.example:B-9", "phone:+4799999999", 1.0, "ad site-b.example:B-9 showed +4799999999",
     "ad", "phone", "observation_phones: s3", "strong", True),
    ("rotation", "phone:+4791234567", "phone:+4791234568", 0.9, CONTROL_EVIDENCE, "phone", "phone",
     "rotation_links: site-a.example:1", "strong", True),
    ("directory", "phone:+4791234567", "owner:O-1", 0.9, '+4791234567 registered to owner O-1 as "Ole Økland"',
     "phone", "owner", "directory_matches: lookup.csv:4", "strong", True),
    ("owner_address", "owner:O-1", "address:storgata 1, 0155", 0.8, "owner O-1 registered at Storgata 1",
     "owner", "address", "directory_matches: lookup.csv:4", "strong", True),
    ("directory", "phone:+4799999999", "owner:O-2", 0.9, "+4799999999 registered to owner O-2",
     "phone", "owner", "directory_matches: lookup.csv:7", "strong", True),
    ("owner_address", "owner:O-2", "address:kirkegata 5, 0153", 0.8, "owner O-2 registered at a phone shop",
     "owner", "address", "directory_matches: lookup.csv:7", "strong", True),
    ("photo", "ad:site-a.example:1", "ad:site-b.example:B-9", 0.8, "same photo file <img src=x onerror=y>",
     "ad", "ad", "photo_links: 3c1e", "strong", True),
    ("text", "ad:site-a.example:1", "ad:site-a.example:2", 0.1, "near-duplicate texts", "ad", "ad",
     "text_links", "weak", False),
    ("series", "phone:+4791234568", "phone:+4791234569", None, None, "phone", "phone", None, None, None),
]
MEMBERS = [  # network_id, member_type, member_key, explanation, via, link_kind, weight
    ("N-1", "phone", "+4791234567", "+4791234567: seed of the network", None, None, None),
    ("N-1", "phone", "+4791234568", "rotates with +4791234567", "phone:+4791234567", "rotation", 0.9),
    ("N-1", "ad", "site-a.example:1", "ad showed +4791234567", "phone:+4791234567", "ad_phone", 1.0),
    ("N-1", "owner", "O-1", "owner of +4791234567 (Ole Økland)", "phone:+4791234567", "directory", 0.9),
    ("N-1", "address", "storgata 1, 0155", "owner O-1 registered here", "owner:O-1", "owner_address", 0.8),
    ("N-2", "phone", "+4799999999", "+4799999999: seed of the network", None, None, None),
    ("N-2", "ad", "site-b.example:B-9", "ad showed +4799999999", "phone:+4799999999", "ad_phone", 1.0),
]


def build_db(path: Path) -> Path:
    con = duckdb.connect(str(path))
    con.execute("SET TimeZone = 'Europe/Oslo'")  # stored instants must come out in UTC whatever the session says
    con.execute("""CREATE TABLE links (kind VARCHAR, a VARCHAR, b VARCHAR, weight DOUBLE, evidence VARCHAR,
                   a_type VARCHAR, b_type VARCHAR, source VARCHAR, strength VARCHAR, for_networks BOOLEAN)""")
    con.executemany("INSERT INTO links VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", LINKS)
    con.execute("""CREATE TABLE network_members (network_id VARCHAR, member_type VARCHAR, member_key VARCHAR,
                   explanation VARCHAR, via VARCHAR, link_kind VARCHAR, weight DOUBLE)""")
    con.executemany("INSERT INTO network_members VALUES (?, ?, ?, ?, ?, ?, ?)", MEMBERS)
    con.execute("""CREATE TABLE networks (network_id VARCHAR, n_ads BIGINT, n_phones BIGINT, n_owners BIGINT,
                   n_addresses BIGINT, first_seen TIMESTAMPTZ, last_seen TIMESTAMPTZ, cities VARCHAR[],
                   owners VARCHAR[], strongest_evidence VARCHAR, score DOUBLE)""")
    con.executemany("INSERT INTO networks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
        ("N-1", 1, 2, 1, 1, T0, T2, ["Oslo", "Tromsø"], ["Ole Økland"], "+4791234567 and +4791234568: same ad", 0.95),
        ("N-2", 1, 1, 0, 0, T1, T1, ["Bergen"], [], None, None)])
    con.execute("""CREATE TABLE owners (owner_id VARCHAR, name VARCHAR, n_phones BIGINT, n_listings BIGINT,
                   variants VARCHAR[], address_keys VARCHAR[], resolution VARCHAR)""")
    con.executemany("INSERT INTO owners VALUES (?, ?, ?, ?, ?, ?, ?)", [
        ("O-1", "Ole Økland", 1, 2, ["Ole Økland", "Økland Ole", "OLE ØKLAND"], ["storgata 1, 0155"],
         "3 spellings at one private address"),
        ("O-2", "Kari Nordmann", 1, 1, ["Kari Nordmann"], ["kirkegata 5, 0153"], "one spelling")])
    con.execute("""CREATE TABLE addresses (address_key VARCHAR, address VARCHAR, variants VARCHAR[], postcode VARCHAR,
                   city VARCHAR, kind VARCHAR, generic BOOLEAN, reason VARCHAR, n_owners BIGINT, n_phones BIGINT)""")
    con.executemany("INSERT INTO addresses VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
        ("storgata 1, 0155", "Storgata 1, H0201", ["Storgata 1, H0201", "STORGATA 1"], "0155", "Oslo", "private",
         False, "private address: 1 name(s) registered here", 1, 1),
        ("kirkegata 5, 0153", "Telebutikken, Kirkegata 5", ["Telebutikken, Kirkegata 5"], "0153", "Oslo",
         "phone_shop", True, "a phone shop: strangers register phones there", 7, 7)])
    con.execute("""CREATE TABLE ads (ad_key VARCHAR, site VARCHAR, ad_id VARCHAR, first_seen TIMESTAMPTZ,
                   last_seen TIMESTAMPTZ, n_snapshots BIGINT, n_phones BIGINT, phones VARCHAR[], country VARCHAR,
                   last_city VARCHAR, n_cities BIGINT, last_name VARCHAR, any_obfuscated BOOLEAN)""")
    con.executemany("INSERT INTO ads VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
        ("site-a.example:1", "site-a.example", "1", T0, T2, 3, 1, ["+4791234567"], "NO", "Tromsø", 2, MARKUP_NAME,
         False),
        ("site-b.example:B-9", "site-b.example", "B-9", T1, T1, 1, 1, ["+4799999999"], "NO", "Bergen", 1, None,
         False)])
    con.execute("""CREATE TABLE phones (phone VARCHAR, country VARCHAR, n_ads BIGINT, first_seen TIMESTAMPTZ,
                   last_seen TIMESTAMPTZ, status VARCHAR, number_type VARCHAR, cities VARCHAR[])""")
    con.executemany("INSERT INTO phones VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [
        ("+4791234567", "NO", 1, T0, T2, "valid", "mobile", ["Oslo", "Tromsø"]),
        ("+4791234568", "NO", 1, T0, T1, "valid", "mobile", ["Oslo"]),
        ("+4799999999", "NO", 1, T1, T1, "valid", "mobile", ["Bergen"])])
    con.execute("""CREATE TABLE ad_observations (ad_key VARCHAR, seen_at TIMESTAMPTZ, url VARCHAR, city VARCHAR)""")
    con.executemany("INSERT INTO ad_observations VALUES (?, ?, ?, ?)", [
        ("site-a.example:1", T0, "https://site-a.example/annonse/1?v=old", "Oslo"),
        ("site-a.example:1", T1, "https://site-a.example/annonse/1", "Tromsø"),
        ("site-a.example:1", T2, "javascript:alert(1)", "Tromsø"),
        ("site-b.example:B-9", T1, None, None)])
    con.close()
    return path


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    return build_db(tmp_path_factory.mktemp("ftm") / "adnet.duckdb")


@pytest.fixture
def con(db):
    con = duckdb.connect(str(db), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def whole(db, tmp_path_factory) -> dict:
    """The whole evidence graph, exported once for the read-only tests below."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        report = write_ftm_entities(con, tmp_path_factory.mktemp("whole") / "evidence.ftm.json")
    finally:
        con.close()
    return read_entities(report.path)


def eid(key: str, dataset: str = "adnet") -> str:
    return make_entity_id(key, key_prefix=dataset)


def read_entities(path: Path) -> dict:
    """Every line as a validated FtM proxy, by id; entity references must resolve inside the file."""
    proxies = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        data = json.loads(line)
        proxy = model.get_proxy(data)
        # followthemoney's own cleaning of every value (as EntityProxy.add does) changes nothing
        assert model.get_proxy(data, cleaned=False).to_dict() == data, data
        assert model.get(proxy.schema.name) is not None and not proxy.schema.abstract
        assert proxy.id and proxy.id not in proxies
        proxy.schema.validate(proxy.to_dict())  # raises on invalid values
        for prop in proxy.schema.required:
            assert proxy.has(prop), (proxy, prop)
        proxies[proxy.id] = proxy
    for proxy in proxies.values():
        for prop, value in proxy.itervalues():
            assert prop.name in proxy.schema.properties and not prop.stub
            assert prop.type.validate(value) and len(value) <= prop.type.max_length, (proxy, prop, value)
            if prop.type == registry.entity:
                assert value in proxies, (proxy, prop)
    return proxies


def of(proxies: dict, schema: str, **props) -> list:
    return [p for p in proxies.values() if p.schema.name == schema
            and all(p.first(k) == v for k, v in props.items())]


def test_whole_graph_reads_back_valid(con, tmp_path):
    target = tmp_path / "out" / "evidence.ftm.json"
    report = write_ftm_entities(con, target)
    assert isinstance(report, FtmReport) and report.path == target
    proxies = read_entities(target)
    assert report.n_entities == len(proxies) == 30
    assert report.counts == {"Address": 2, "Organization": 2, "Person": 2, "UnknownLink": 17, "UserAccount": 4 + 3}
    assert report.by_type == {"ad": 3, "address": 2, "link": len(LINKS), "member": len(MEMBERS), "network": 2,
                              "owner": 2, "phone": 4}
    for key in ("phone:+4791234567", "ad:site-a.example:2", "owner:O-2", "address:kirkegata 5, 0153", "network:N-2"):
        assert eid(key) in proxies


def test_people_aliases_and_addresses(whole):
    proxies = whole
    ole = proxies[eid("owner:O-1")]
    assert ole.schema.name == "Person" and ole.get("name") == ["Ole Økland"]
    assert sorted(ole.get("alias")) == ["OLE ØKLAND", "Økland Ole"]
    assert ole.get("address") == ["Storgata 1, H0201"]
    assert ole.get("addressEntity") == [eid("address:storgata 1, 0155")]
    assert ole.get("phone") == ["+4791234567"]
    assert "O-1" in ole.first("summary") and ole.get("notes") == ["3 spellings at one private address"]
    kari = proxies[eid("owner:O-2")]
    assert not kari.has("address")  # a phone shop is not her address for Aleph's cross-referencing
    assert kari.get("addressEntity") == [eid("address:kirkegata 5, 0153")]


def test_addresses(whole):
    proxies = whole
    home = proxies[eid("address:storgata 1, 0155")]
    assert home.get("full") == ["Storgata 1, H0201", "STORGATA 1"]
    assert (home.get("postalCode"), home.get("city"), home.get("keywords")) == (["0155"], ["Oslo"], ["private"])
    shop = proxies[eid("address:kirkegata 5, 0153")]
    assert shop.get("keywords") == ["phone_shop", "generic"]
    assert "generic phone_shop address" in shop.first("summary")
    assert shop.get("description") == ["a phone shop: strangers register phones there"]


def test_phones_are_accounts_with_owner(whole):
    proxies = whole
    phones = of(proxies, "UserAccount", service="telephone")
    assert sorted(p.first("username") for p in phones) == [
        "+4791234567", "+4791234568", "+4791234569", "+4799999999"]
    phone = proxies[eid("phone:+4791234567")]
    assert phone.get("phone") == ["+4791234567"] and phone.get("country") == ["no"]
    assert phone.get("owner") == [eid("owner:O-1")]
    assert phone.get("retrievedAt") == ["2026-06-01T06:30:00", "2026-06-15T08:00:00"]  # UTC, session was Oslo time
    bare = proxies[eid("phone:+4791234569")]  # no phones row: still an entity, from its key
    assert bare.get("username") == ["+4791234569"] and not bare.has("owner")


def test_ads_markup_url_and_cities(whole):
    proxies = whole
    ad = proxies[eid("ad:site-a.example:1")]
    assert ad.schema.name == "UserAccount"
    assert ad.get("username") == ["site-a.example:1"] and ad.get("service") == ["site-a.example"]
    assert ad.get("name") == ["<script>alert('x')</script> Åse"]  # literal text, control character gone
    assert ad.get("sourceUrl") == ["https://site-a.example/annonse/1"]  # newest http(s) URL, not javascript:
    assert ad.get("phone") == ["+4791234567"]
    assert "cities: Oslo, Tromsø" in ad.first("summary") and "3 snapshot(s)" in ad.first("summary")
    other = proxies[eid("ad:site-b.example:B-9")]
    assert not other.has("name") and not other.has("sourceUrl") and "cities: Bergen" in other.first("summary")
    bare = proxies[eid("ad:site-a.example:2")]
    assert bare.get("service") == ["site-a.example"] and "ad 2 on site-a.example" in bare.first("summary")


def test_links_carry_the_evidence(whole):
    proxies = whole
    links = [p for p in of(proxies, "UnknownLink") if p.first("role") != "network member"]
    assert sorted(p.first("role") for p in links) == sorted(row[0] for row in LINKS)
    rotation = proxies[eid(json.dumps(["link", "rotation", "phone:+4791234567", "phone:+4791234568"]))]
    assert rotation.get("subject") == [eid("phone:+4791234567")]
    assert rotation.get("object") == [eid("phone:+4791234568")]
    assert rotation.get("status") == ["strong"]
    assert rotation.get("recordId") == ["rotation_links: site-a.example:1"]
    assert rotation.get("summary") == ["rotation, strong, weight 0.9, used to build networks"]
    # CR LF became LF, NUL, ESC and the C1 control went; the rest of an escape sequence is text
    assert rotation.get("description") == ["+4791234567 og +4791234568: samme annonse\n[31mi 3 snapshot(s)"]
    photo = of(proxies, "UnknownLink", role="photo")[0]
    assert photo.get("description") == ["same photo file <img src=x onerror=y>"]
    assert of(proxies, "UnknownLink", role="text")[0].first("summary").endswith("not used to build networks")
    series = of(proxies, "UnknownLink", role="series")[0]  # NULL weight, evidence, source, strength
    assert series.get("summary") == ["series"] and not series.has("description") and not series.has("recordId")


def test_networks_and_members(whole):
    proxies = whole
    n1 = proxies[eid("network:N-1")]
    assert n1.schema.name == "Organization" and n1.get("name") == ["adnet network N-1"]
    assert n1.get("summary") == ["1 ads, 2 phones, 1 owners, 1 addresses; seen 2026-06-01 to 2026-06-15; "
                                 "cities: Oslo, Tromsø; score 0.95"]
    members = of(proxies, "UnknownLink", role="network member")
    assert len(members) == len(MEMBERS)
    owner = proxies[eid(json.dumps(["member", "N-1", "owner:O-1"]))]
    assert owner.get("subject") == [eid("owner:O-1")] and owner.get("object") == [eid("network:N-1")]
    assert owner.get("description") == ["owner of +4791234567 (Ole Økland)"]
    assert owner.get("summary") == ["joined via phone:+4791234567 (directory, weight 0.9)"]
    seed = proxies[eid(json.dumps(["member", "N-1", "phone:+4791234567"]))]
    assert seed.get("summary") == ["seed of the network"]


def test_one_network(con, tmp_path):
    report = write_ftm_entities(con, tmp_path / "n1.json", network_id="N-1")
    proxies = read_entities(report.path)
    member_ids = {eid(f"{t}:{k}") for n, t, k, *_ in MEMBERS if n == "N-1"}
    assert report.by_type == {"address": 1, "ad": 1, "link": 4, "member": 5, "network": 1, "owner": 1, "phone": 2}
    nodes = {p.id for p in proxies.values() if p.schema.name != "UnknownLink"}
    assert nodes == member_ids | {eid("network:N-1")}
    roles = sorted(p.first("role") for p in of(proxies, "UnknownLink"))
    assert roles == ["ad_phone", "directory", "network member", "network member", "network member",
                     "network member", "network member", "owner_address", "rotation"]  # no photo to N-2, no series
    with pytest.raises(ValueError, match="N-404"):
        write_ftm_entities(con, tmp_path / "none.json", network_id="N-404")
    assert not (tmp_path / "none.json").exists()


def test_all_files_at_once_are_the_same_bytes(con, tmp_path):
    ids = [r[0] for r in con.execute("SELECT DISTINCT network_id FROM network_members ORDER BY 1").fetchall()]
    assert len(ids) >= 2
    done = []
    whole, reports = write_all_ftm_entities(con, tmp_path / "all" / "whole.json",
                                            {nid: tmp_path / "all" / f"{nid}.json" for nid in ids},
                                            progress=lambda *a: done.append(a))
    assert done == [(i, len(ids)) for i in range(1, len(ids) + 1)]
    alone = write_ftm_entities(con, tmp_path / "whole.json")
    assert whole.path.read_bytes() == alone.path.read_bytes() and whole == FtmReport(
        whole.path, alone.n_entities, alone.counts, alone.by_type)
    for nid in ids:
        one = write_ftm_entities(con, tmp_path / f"{nid}.json", network_id=nid)
        assert reports[nid].path.read_bytes() == one.path.read_bytes(), nid
        assert (reports[nid].n_entities, reports[nid].counts, reports[nid].by_type) == (
            one.n_entities, one.counts, one.by_type)
        read_entities(reports[nid].path)
    with pytest.raises(ValueError, match="N-404"):
        write_all_ftm_entities(con, tmp_path / "x.json", {"N-404": tmp_path / "n.json"})
    assert not (tmp_path / "x.json").exists()


def test_lines_made_by_worker_processes_are_the_same_bytes(con, tmp_path, monkeypatch):
    from adnet_assets.lib import ftm_export

    ids = [r[0] for r in con.execute("SELECT DISTINCT network_id FROM network_members ORDER BY 1").fetchall()]
    here, here_nets = write_all_ftm_entities(con, tmp_path / "here" / "whole.json",
                                             {nid: tmp_path / "here" / f"{nid}.json" for nid in ids}, workers=1)
    monkeypatch.setattr(ftm_export, "PARALLEL_CHUNK", 7)  # several chunks, the last one short
    pooled, pooled_nets = write_all_ftm_entities(con, tmp_path / "pooled" / "whole.json",
                                                 {nid: tmp_path / "pooled" / f"{nid}.json" for nid in ids}, workers=2)
    assert here.n_entities > 2 * 7 and pooled.path.read_bytes() == here.path.read_bytes()
    assert (pooled.counts, pooled.by_type) == (here.counts, here.by_type)
    assert all(pooled_nets[nid].path.read_bytes() == here_nets[nid].path.read_bytes() for nid in ids)


def test_rewrite_is_byte_identical_and_utf8(con, db, tmp_path):
    first = write_ftm_entities(con, tmp_path / "a.json").path.read_bytes()
    again = write_ftm_entities(con, tmp_path / "a.json").path.read_bytes()
    other = duckdb.connect(str(db), read_only=True)
    try:
        third = write_ftm_entities(other, tmp_path / "b.json").path.read_bytes()
    finally:
        other.close()
    assert first == again == third
    assert "Ole Økland".encode() in first and "Tromsø".encode() in first and b"\\u00" not in first
    assert first.endswith(b"\n") and first.count(b"\n") == 30


def test_dataset_salts_ids(con, tmp_path):
    proxies = read_entities(write_ftm_entities(con, tmp_path / "e.json", dataset="oslo-2026").path)
    assert eid("owner:O-1", "oslo-2026") in proxies and eid("owner:O-1") not in proxies


def test_no_control_characters_or_surrogates(con, tmp_path):
    class SurrogateCon:
        """Hands the exporter a lone surrogate, which DuckDB itself cannot store."""

        def __init__(self, inner):
            self.inner = inner

        def execute(self, sql, params=None):
            result = self.inner.execute(sql, params or [])
            rows = result.fetchall()

            def taint(value):
                if isinstance(value, str) and value.startswith("owner O-1 registered"):
                    return value + " \ud800bolig"
                return [taint(v) for v in value] if isinstance(value, list) else value
            return type("R", (), {"fetchall": lambda _self: [tuple(taint(v) for v in row) for row in rows]})()

    target = tmp_path / "e.json"
    write_ftm_entities(SurrogateCon(con), target)
    text = target.read_text(encoding="utf-8")  # strict UTF-8: a surrogate would not have been written
    proxies = read_entities(target)
    descriptions = [p.first("description") for p in of(proxies, "UnknownLink", role="owner_address")]
    assert "owner O-1 registered at Storgata 1 bolig" in descriptions
    for proxy in proxies.values():
        for _, value in proxy.itervalues():
            assert not CONTROL_CHARS.search(value.replace("\n", "")), value
    assert "\\u0000" not in text and "\\u001b" not in text and "\\r" not in text


def test_atomic_write_leaves_no_temp_file(con, tmp_path):
    folder = tmp_path / "exports"
    target = folder / "evidence.ftm.json"
    write_ftm_entities(con, target)
    write_ftm_entities(con, target)
    assert [p.name for p in folder.iterdir()] == ["evidence.ftm.json"]


def test_missing_tables_and_nulls(tmp_path):
    path = tmp_path / "thin.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE links (kind VARCHAR, a VARCHAR, b VARCHAR)")  # old, thin links table and nothing else
    con.executemany("INSERT INTO links VALUES (?, ?, ?)", [
        ("directory", "phone:+4791234567", "owner:O-9"), ("ad_phone", "ad:site:7", "phone:+4791234567"),
        ("odd", "vessel:1", "phone:+4791234567"), (None, "ad:site:7", "ad:site:8")])
    report = write_ftm_entities(con, tmp_path / "thin.json")
    proxies = read_entities(report.path)
    assert report.by_type == {"ad": 2, "link": 3, "owner": 1, "phone": 1}  # the link to a vessel is skipped
    assert proxies[eid("owner:O-9")].get("name") == ["O-9"]
    assert of(proxies, "UnknownLink", role="link")  # a NULL kind still becomes a link
    with pytest.raises(ValueError, match="no members"):
        write_ftm_entities(con, tmp_path / "n.json", network_id="N-1")
    empty = duckdb.connect()
    assert write_ftm_entities(empty, tmp_path / "empty.json").n_entities == 0
    assert (tmp_path / "empty.json").read_bytes() == b""
    con.close()


def test_export_libraries_load_without_their_heavy_dependencies():
    """Loading the definitions (the UI, the daemon, every `adnet` command) must not pay for followthemoney,
    matplotlib, xlsxwriter or xmind-sdk: the export modules import them where they write."""
    import subprocess
    import sys

    code = ("import sys; import adnet_assets.lib.ftm_export, adnet_assets.lib.excel_export, "
            "adnet_assets.lib.graph_export, adnet_assets.lib.network_picture, adnet_assets.lib.xmind_export; "
            "print(sorted(m for m in ('followthemoney', 'matplotlib', 'xlsxwriter', 'xmind', 'PIL') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout


def test_entities_are_made_as_followthemoney_makes_them():
    """The export adds values without EntityProxy: each schema and value kind it uses, and the awkward ones
    (numbers phonenumbers rejects, unknown countries, bad dates and URLs, NFC, blanks, repeats, a self
    reference, text past the per-entity size cap), gives the proxy's ``to_dict()`` exactly."""
    from followthemoney.exc import InvalidData

    from adnet_assets.lib.ftm_export import _Entity, _text

    long_text = "x" * 60_000
    cases = {
        "UserAccount": [("username", "+4791234567"), ("phone", "+4791234567"), ("phone", "+47912"),
                        ("phone", "004791234568"), ("phone", "91234567"), ("phone", "+4791234567"),
                        ("service", "telephone"), ("country", "no"), ("country", "NO"), ("country", "Norway"),
                        ("country", "xx"), ("retrievedAt", "2026-06-01T06:30:00"), ("retrievedAt", "2026-13-01"),
                        ("retrievedAt", "not a date"), ("sourceUrl", "https://site-a.example/ad/1?x=1#y"),
                        ("sourceUrl", "javascript:alert(1)"), ("sourceUrl", "site-a.example/ad"),
                        ("name", "  A\u0301se  "), ("name", "<b>Søt</b>"), ("name", ""), ("name", "   "),
                        ("owner", eid("owner:O-1")), ("summary", long_text), ("summary", long_text + "y"),
                        ("summary", long_text + "z"), ("summary", "short")],
        "Person": [("name", "Ole Økland"), ("alias", "Ole Okland"), ("address", "Storgata 1, 0155 Oslo"),
                   ("addressEntity", eid("address:storgata 1")), ("phone", "+4799999999"),
                   ("notes", "spellings joined\x07"), ("summary", "adnet owner O-1")],
        "Address": [("full", "Storgata 1, 0155 Oslo"), ("postalCode", "0155"), ("city", "Oslo"),
                    ("keywords", "phone_shop"), ("keywords", "generic"), ("description", "a reason")],
        "Organization": [("name", "adnet network N-1"), ("summary", "3 ads"), ("description", "evidence")],
        "UnknownLink": [("subject", eid("phone:+4791234567")), ("object", eid("owner:O-1")), ("role", "directory"),
                        ("status", "strong"), ("recordId", "directory_matches: lookup.csv:4"),
                        ("summary", "directory, strong, weight 0.9")],
    }
    for schema, adds in cases.items():
        proxy = model.make_entity(schema)
        proxy.id = eid(f"test:{schema}")
        ours = _Entity(model.get(schema), proxy.id)
        for prop, value in adds:
            proxy.add(prop, value)
            ours.add(prop, value)
            proxy.add(prop, [value, None])
            ours.add(prop, [value, None])
        assert ours.to_dict() == proxy.to_dict(), schema
        # add_texts (what the export calls) is _text, the type's length cut, then EntityProxy.add
        reference = model.make_entity(schema)
        reference.id = proxy.id
        texts = _Entity(model.get(schema), proxy.id)
        for prop, value in adds:
            texts.add_texts(prop, [value, None, value + "\x07 "])
            for raw in (value, value + "\x07 "):
                if cleaned := _text(raw):
                    reference.add(prop, cleaned[:reference.schema.properties[prop].type.max_length])
        assert texts.to_dict() == reference.to_dict(), schema
    link = model.make_entity("UnknownLink")
    link.id = eid("link")
    with pytest.raises(InvalidData):
        link.add("subject", link.id)
    with pytest.raises(InvalidData):
        _Entity(model.get("UnknownLink"), link.id).add("subject", link.id)


def test_ids_are_followthemoney_make_entity_id():
    from adnet_assets.lib.ftm_export import _entity_id, _text

    keys = ["phone:+4791234567", "owner:Ole Økland", '["link", "rotation", "a", "b"]', "  padded  ",
            "ctrl\x07key", "", "   ", "\x07"]
    for dataset in ("adnet", " spaced ", "", "oslo-2026"):
        for key in keys:
            want = make_entity_id(_text(key) or "", key_prefix=dataset) or ""
            assert _entity_id(dataset, key) == want, (dataset, key)
