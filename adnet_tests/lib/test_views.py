"""The analysts' views on a small hand-made database where every answer is known."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from adnet_assets.lib.store import ensure_table
from adnet_assets.lib.views import VIEWS, create_views, missing_inputs
from adnet_assets.schema import TABLES

P1, P2, P3 = "+4741000001", "+4741000002", "+4741000003"
CTRL, CUSTOMER = "+48500000000", "+4799999999"
A1, A2 = "s.example:1", "s.example:2"
FLAT, MALL = "storgata 1, 0101", "mall 1, 0101"


def t(day: int, hour: int = 6) -> dt.datetime:
    return dt.datetime(2026, 6, day, hour, tzinfo=dt.timezone.utc)


def insert(con, table: str, *rows: dict) -> None:
    for row in rows:
        cols = ", ".join(f'"{c}"' for c in row)
        con.execute(f'INSERT INTO "{table}" ({cols}) VALUES ({", ".join("?" for _ in row)})', list(row.values()))


def build(con, tables=tuple(TABLES)) -> None:
    """Two ads, three phones, two owners at one flat (and a mall), one network N-1 of ad 1, its two
    numbers, both owners and the flat; ad 2 shows the first owner's other number, outside it."""
    for name in tables:
        ensure_table(con, TABLES[name])
    rows = {
        "phones": [
            dict(phone=P1, country="NO", n_ads=1, first_seen=t(1), last_seen=t(4), number_type="mobile",
                 ever_obfuscated=False, cities=["Oslo"]),
            dict(phone=P2, country="NO", n_ads=1, first_seen=t(1), last_seen=t(1), number_type="mobile",
                 ever_obfuscated=False, cities=["Oslo"]),
            dict(phone=P3, country="NO", n_ads=1, first_seen=t(8), last_seen=t(15), number_type="mobile",
                 ever_obfuscated=True, cities=["Bergen"]),
        ],
        "owners": [
            dict(owner_id="O-a", name="Anna Berg", n_phones=2, variants=["Anna Berg", "ANNA BERG"],
                 address_keys=[FLAT, MALL]),
            dict(owner_id="O-b", name="Kari Dahl", n_phones=1, variants=["Kari Dahl"], address_keys=[FLAT]),
        ],
        "addresses": [
            dict(address_key=FLAT, address="Storgata 1", city="Oslo", kind="private", generic=False, n_owners=2),
            dict(address_key=MALL, address="Mall 1", city="Oslo", kind="shopping_centre", generic=True, n_owners=9),
        ],
        "directory_matches": [
            dict(phone=P1, owner_id="O-a", name="Anna Berg", address="Storgata 1", address_key=FLAT,
                 address_generic=False, city="Oslo", listing_id="d:2", visibility="public"),
            dict(phone=P1, owner_id="O-a", name="ANNA BERG", address="Storgata 1", address_key=FLAT,
                 address_generic=False, city="Oslo", listing_id="d:3", visibility="public"),
            dict(phone=P2, owner_id="O-a", name="Anna Berg", address="Mall 1", address_key=MALL,
                 address_generic=True, city="Oslo", listing_id="d:4", visibility="public"),
            dict(phone=P3, owner_id="O-b", name="Kari Dahl", address="Storgata 1", address_key=FLAT,
                 address_generic=False, city="Oslo", listing_id="d:5", visibility="public"),
            dict(phone=P3, owner_id=None, name=None, address=None, address_key=None, address_generic=None,
                 listing_id="d:6", visibility="reserved"),
        ],
        "ads": [
            dict(ad_key=A1, site="s.example", ad_id="1", first_seen=t(1), last_seen=t(15), n_snapshots=5,
                 n_phones=2, phones=[P1, P3], last_city="Trondheim", n_cities=3, last_name="Lena"),
            dict(ad_key=A2, site="s.example", ad_id="2", first_seen=t(1), last_seen=t(1), n_snapshots=1,
                 n_phones=1, phones=[P2], last_city="Oslo", n_cities=1, last_name="Mia"),
        ],
        "ad_observations": [
            dict(ad_key=A1, site="s.example", ad_id="1", snapshot_id="2026-06-01T0600Z", seen_at=t(1),
                 url="https://s.example/1?old", city="Oslo"),
            dict(ad_key=A1, site="s.example", ad_id="1", snapshot_id="2026-06-15T0600Z", seen_at=t(15),
                 url="https://s.example/1", city="Trondheim"),
            dict(ad_key=A2, site="s.example", ad_id="2", snapshot_id="2026-06-01T0600Z", seen_at=t(1),
                 url="https://s.example/2", city="Oslo"),
        ],
        "observation_phones": [
            dict(ad_key=A1, snapshot_id="2026-06-01T0600Z", seen_at=t(1), city="Oslo", position=1,
                 raw="41000001", phone=P1, status="valid", obfuscated=False),
            dict(ad_key=A1, snapshot_id="2026-06-04T0600Z", seen_at=t(4), city="Bergen", position=1,
                 raw="41 00 00 01", phone=P1, status="valid", obfuscated=False),
            dict(ad_key=A1, snapshot_id="2026-06-08T0600Z", seen_at=t(8), city="Bergen", position=1,
                 raw="fire en null null null null null tre", phone=P3, status="valid", obfuscated=True),
            dict(ad_key=A1, snapshot_id="2026-06-15T0600Z", seen_at=t(15), city="Trondheim", position=1,
                 raw="fire en null null null null null tre", phone=P3, status="valid", obfuscated=True),
            dict(ad_key=A2, snapshot_id="2026-06-01T0600Z", seen_at=t(1), city="Oslo", position=1,
                 raw="41000002", phone=P2, status="valid", obfuscated=False),
            dict(ad_key=A2, snapshot_id="2026-06-01T0600Z", seen_at=t(1), city="Oslo", position=2,
                 raw="ring meg", phone=None, status="unparseable", obfuscated=False),
        ],
        "phone_strings": [
            dict(raw="fire en null null null null null tre", default_country="NO", index=0, phone=P3,
                 status="valid", obfuscated=True, obfuscation="number_words"),
            dict(raw="41000001", default_country="NO", index=0, phone=P1, status="valid", obfuscated=False),
        ],
        "ad_itineraries": [
            dict(ad_key=A1, stay_no=n, city=c, city_key=c.lower(), arrived=t(d), left=t(d, 7),
                 moved_from=prev, moved_from_key=prev.lower() if prev else None)
            for n, (c, d, prev) in enumerate([("Oslo", 1, None), ("Bergen", 4, "Oslo"), ("Oslo", 8, "Bergen"),
                                              ("Bergen", 11, "Oslo"), ("Trondheim", 15, "Bergen")], start=1)
        ] + [dict(ad_key=A2, stay_no=1, city="Oslo", city_key="oslo", arrived=t(1), left=t(1))],
        "networks": [
            dict(network_id="N-1", n_ads=1, n_phones=2, n_owners=2, n_addresses=1, first_seen=t(1), last_seen=t(15),
                 cities=["Bergen", "Oslo", "Trondheim"], owners=["Anna Berg", "Kari Dahl"],
                 strongest_evidence="P1 and P3: same ad", score=0.9),
        ],
        "network_members": [
            dict(network_id="N-1", member_type=k, member_key=v, explanation=f"{v} is in N-1")
            for k, v in [("ad", A1), ("phone", P1), ("phone", P3), ("owner", "O-a"), ("owner", "O-b"),
                         ("address", FLAT)]
        ],
        "links": [
            dict(kind="ad_phone", a=f"ad:{A1}", b=f"phone:{P1}", weight=1.0, evidence="ad 1 showed P1",
                 a_type="ad", b_type="phone", strength="strong", for_networks=True),
            dict(kind="rotation", a=f"phone:{P1}", b=f"phone:{P3}", weight=0.95, evidence="same ad",
                 a_type="phone", b_type="phone", strength="strong", for_networks=True),
            dict(kind="owner_address", a="owner:O-b", b=f"address:{FLAT}", weight=0.8, evidence="registered",
                 a_type="owner", b_type="address", strength="strong", for_networks=True),
            dict(kind="directory", a=f"phone:{P2}", b="owner:O-a", weight=0.9, evidence="registered",
                 a_type="phone", b_type="owner", strength="strong", for_networks=True),
        ],
        "red_flags": [
            dict(entity_type="network", entity_key="N-1", flag="id_rotation", category="know_your_customer",
                 evidence="ad 1 showed 2 numbers", value=2),
            dict(entity_type="phone", entity_key=P1, flag="rotating_number", category="know_your_customer",
                 evidence="x", value=2),
            dict(entity_type="phone", entity_key=P1, flag="number_in_series", category="know_your_customer",
                 evidence="x", value=1),
            dict(entity_type="ad", entity_key=A1, flag="observed_travel", category="control_and_surveillance",
                 evidence="5 stays", value=5),
            dict(entity_type="ad", entity_key=A2, flag="payment_hint", category="financial", evidence="vipps", value=1),
        ],
        "network_movement": [dict(network_id="N-1", n_ads=1, n_ads_moved=1, share_moved=1.0, n_moves=4, n_cities=3)],
        "billing_events": [
            dict(subscriber=P1, event_at=t(d, h), local_date=t(d).date(), kind=k, direction="in", counterpart=c)
            for d, h, k, c in [(2, 10, "sms", CTRL), (2, 22, "sms", CTRL), (3, 10, "sms", CTRL),
                               (3, 12, "call", CTRL), (3, 23, "call", CUSTOMER), (3, 9, "data", None)]
        ],
        "billing_counterparts": [
            dict(counterpart=CTRL, n_subscribers=1, n_events=4, score=0.9, rank=1, role="controller-like",
                 reason="texts P1 daily", subscriber_networks=["N-1"], country="PL"),
            dict(counterpart=CUSTOMER, n_subscribers=1, n_events=1, score=0.01, rank=2, role="occasional",
                 reason="once", subscriber_networks=["N-1"], country="NO"),
        ],
        "billing_roaming": [
            dict(subscriber=P1, home_country="NO", country="RO", period_no=1, first_day=t(2).date(),
                 last_day=t(3).date(), n_days=2, n_events=5, description="P1 in Romania"),
        ],
    }
    for table, table_rows in rows.items():
        if table in tables:
            insert(con, table, *table_rows)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("views") / "adnet.duckdb"
    con = duckdb.connect(str(path))
    build(con)
    assert create_views(con) == list(VIEWS)
    con.close()
    return path


@pytest.fixture
def con(template, tmp_path):
    path = tmp_path / "adnet.duckdb"
    shutil.copyfile(template, path)
    con = duckdb.connect(str(path))
    con.execute("SET TimeZone = 'UTC'")
    yield con
    con.close()


def q(con, sql: str, params=()) -> list[dict]:
    cursor = con.execute(sql, list(params))
    cols = [d[0] for d in cursor.description]
    return [dict(zip(cols, row)) for row in cursor.fetchall()]


# ---------------------------------------------------------------- the registry

def test_registry_names_descriptions_and_order():
    assert not set(VIEWS) & set(TABLES)  # a view never hides a table
    seen: set[str] = set()
    for name, view in VIEWS.items():
        assert re.fullmatch(r"[a-z_]+", name) and view.description and "\n" not in view.description
        assert "SELECT *" not in view.sql.upper().replace("COUNT(*)", "")
        assert "network_history" not in view.sql and not re.search(r"\b_[a-z]", view.sql)
        for need in view.needs:  # every input is a table, or a view created before it
            assert need in TABLES or need in seen, (name, need)
            assert re.search(rf"\b{need}\b", view.sql), (name, need)
        seen.add(name)


def test_readme_lists_every_view():
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## The analysts' database"):text.index("### SQL cookbook")]
    for name in VIEWS:
        assert f"| `{name}` |" in section, name


# ---------------------------------------------------------------- created, skipped, dropped

def test_each_view_exists_only_when_its_tables_do(tmp_path):
    con = duckdb.connect(str(tmp_path / "part.duckdb"))
    build(con, tables=("directory_matches", "owners", "observation_phones"))
    assert create_views(con) == ["phone_owners", "ad_phones"]
    missing = missing_inputs(con)
    assert set(missing) == set(VIEWS) - {"phone_owners", "ad_phones"}
    assert missing["network_phones"] == ["network_members", "phones", "red_flags"]
    assert missing["evidence"] == ["links", "network_members", "phones", "ads", "addresses"]
    present = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    assert present == {"phone_owners", "ad_phones"}
    # a table goes away: the views reading it go too, and nothing points at a missing table
    con.execute("DROP TABLE owners")
    assert create_views(con) == []
    assert con.execute("SELECT count(*) FROM duckdb_views() WHERE NOT internal").fetchone()[0] == 0
    con.close()


def test_every_view_is_created_on_empty_tables_and_answers_nothing(tmp_path):
    con = duckdb.connect(str(tmp_path / "empty.duckdb"))
    for table in TABLES.values():
        ensure_table(con, table)
    assert create_views(con) == list(VIEWS)
    for name in VIEWS:
        assert con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] == 0, name
    comments = dict(con.execute("SELECT view_name, comment FROM duckdb_views() WHERE NOT internal").fetchall())
    assert comments == {name: v.description for name, v in VIEWS.items()}
    con.close()


def test_creating_twice_is_the_same_and_a_table_of_a_views_name_is_refused(con):
    before = {name: con.execute(f'SELECT * FROM "{name}" ORDER BY ALL').fetchall() for name in VIEWS}
    assert create_views(con) == list(VIEWS)
    assert {name: con.execute(f'SELECT * FROM "{name}" ORDER BY ALL').fetchall() for name in VIEWS} == before
    con.execute("DROP VIEW evidence")
    con.execute("CREATE TABLE evidence (x INT)")
    with pytest.raises(RuntimeError, match="a table of that name exists"):
        create_views(con)


def test_views_survive_a_table_gaining_a_column(con):
    con.execute("ALTER TABLE phones ADD COLUMN newer_column INTEGER")
    con.execute("ALTER TABLE network_members ADD COLUMN newer_column INTEGER")
    for name in VIEWS:
        con.execute(f'SELECT * FROM "{name}"').fetchall()


# ---------------------------------------------------------------- what each view answers

def test_phone_owners(con):
    rows = q(con, "SELECT * FROM phone_owners ORDER BY phone, owner_id NULLS LAST")
    assert [(r["phone"], r["owner_id"], r["owner_name"]) for r in rows] == [
        (P1, "O-a", "Anna Berg"), (P2, "O-a", "Anna Berg"), (P3, "O-b", "Kari Dahl"), (P3, None, None)]
    p1 = rows[0]
    assert p1["listed_names"] == ["ANNA BERG", "Anna Berg"] and p1["n_listings"] == 2
    assert p1["addresses"] == ["Storgata 1"] and p1["private_address_keys"] == [FLAT] and not p1["any_generic_address"]
    assert rows[1]["private_address_keys"] == [] and rows[1]["any_generic_address"]
    assert rows[3]["visibility"] == ["reserved"] and rows[3]["listed_names"] == []


def test_ad_phones(con):
    rows = {(r["ad_key"], r["phone"]): r for r in q(con, "SELECT * FROM ad_phones")}
    assert set(rows) == {(A1, P1), (A1, P3), (A2, P2)}  # the unreadable string is left out
    first = rows[(A1, P1)]
    assert (first["first_seen"], first["last_seen"], first["n_snapshots"]) == (t(1), t(4), 2)
    assert first["displayed_as"] == ["41 00 00 01", "41000001"] and not first["obfuscated"]
    assert first["owners"] == ["Anna Berg"] and rows[(A1, P3)]["owners"] == ["Kari Dahl"]
    assert rows[(A1, P3)]["obfuscated"]


def test_network_phones(con):
    rows = {r["phone"]: r for r in q(con, "SELECT * FROM network_phones WHERE network_id = 'N-1'")}
    assert set(rows) == {P1, P3}  # P2 is Anna's too, but not in the network
    assert rows[P1]["owners"] == ["Anna Berg"] and rows[P1]["owner_ids"] == ["O-a"]
    assert rows[P1]["addresses"] == ["Storgata 1"]
    assert (rows[P1]["first_seen"], rows[P1]["last_seen"], rows[P1]["n_ads"]) == (t(1), t(4), 1)
    assert rows[P1]["flags"] == ["number_in_series", "rotating_number"] and rows[P3]["flags"] == []
    assert rows[P3]["owners"] == ["Kari Dahl"] and rows[P3]["explanation"] == f"{P3} is in N-1"


def test_network_ads(con):
    [row] = q(con, "SELECT * FROM network_ads")
    assert (row["network_id"], row["ad_key"], row["site"], row["ad_id"], row["last_name"]) == \
        ("N-1", A1, "s.example", "1", "Lena")
    assert row["url"] == "https://s.example/1"  # the latest observation's
    assert row["route"] == ["Oslo", "Bergen", "Oslo", "Bergen", "Trondheim"]
    assert row["cities"] == ["Bergen", "Oslo", "Trondheim"]
    assert row["phones"] == [P1, P3] and row["flags"] == ["observed_travel"]


def test_network_owners(con):
    rows = {r["owner_id"]: r for r in q(con, "SELECT * FROM network_owners")}
    assert set(rows) == {"O-a", "O-b"}
    assert rows["O-a"]["phones_in_network"] == [P1] and rows["O-a"]["n_phones_registered"] == 2
    assert rows["O-a"]["private_addresses"] == ["Storgata 1, Oslo"]  # the mall is not a private address
    assert rows["O-b"]["phones_in_network"] == [P3] and rows["O-a"]["variants"] == ["Anna Berg", "ANNA BERG"]


def test_ad_moves(con):
    rows = {r["ad_key"]: r for r in q(con, "SELECT * FROM ad_moves")}
    assert (rows[A1]["n_stays"], rows[A1]["n_moves"], rows[A1]["n_cities"]) == (5, 4, 3)
    assert rows[A1]["route"] == ["Oslo", "Bergen", "Oslo", "Bergen", "Trondheim"] and rows[A1]["network_id"] == "N-1"
    assert (rows[A1]["first_arrived"], rows[A1]["last_left"]) == (t(1), t(15, 7))
    assert (rows[A2]["n_moves"], rows[A2]["network_id"], rows[A2]["last_name"]) == (0, None, "Mia")
    assert [r["ad_key"] for r in q(con, "SELECT ad_key FROM ad_moves WHERE n_moves > 3")] == [A1]


def test_evidence(con):
    rows = {r["kind"]: r for r in q(con, "SELECT * FROM evidence")}
    assert rows["ad_phone"]["a_label"] == f'{A1} "Lena"' and rows["ad_phone"]["b_label"] == f"{P1} (Anna Berg)"
    assert rows["rotation"]["b_label"] == f"{P3} (Kari Dahl)" and rows["rotation"]["network_id"] == "N-1"
    assert rows["owner_address"]["a_label"] == "Kari Dahl [O-b]" and rows["owner_address"]["b_label"] == "Storgata 1, Oslo"
    assert rows["owner_address"]["network_id"] == "N-1"
    assert rows["directory"]["network_id"] is None  # P2 is outside the network, though its owner is in it
    assert (rows["rotation"]["a_key"], rows["rotation"]["b_key"]) == (P1, P3)
    assert rows["ad_phone"]["a_key"] == A1  # the ad key keeps its own colon


def test_network_flags(con):
    rows = q(con, "SELECT * FROM network_flags ORDER BY entity_type, flag")
    assert [(r["network_id"], r["entity_type"], r["entity_key"], r["flag"]) for r in rows] == [
        ("N-1", "ad", A1, "observed_travel"), ("N-1", "network", "N-1", "id_rotation"),
        ("N-1", "phone", P1, "number_in_series"), ("N-1", "phone", P1, "rotating_number")]


def test_billing_contacts(con):
    rows = {r["counterpart"]: r for r in q(con, "SELECT * FROM billing_contacts")}
    assert set(rows) == {CTRL, CUSTOMER}  # the data session has no other party
    c = rows[CTRL]
    assert (c["role"], c["subscriber"], c["network_id"], c["n_events"], c["n_sms"], c["n_calls"], c["n_days"]) == \
        ("controller-like", P1, "N-1", 4, 3, 1, 2)
    assert (c["first_event"], c["last_event"], c["counterpart_country"]) == (t(2, 10), t(3, 12), "PL")


def test_number_disguises(con):
    [row] = q(con, "SELECT * FROM number_disguises")
    assert (row["phone"], row["written_as"], row["obfuscation"], row["n_observations"], row["n_ads"]) == \
        (P3, "fire en null null null null null tre", "number_words", 2, 1)
    assert (row["first_seen"], row["last_seen"]) == (t(8), t(15))


def test_network_summary(con):
    [row] = q(con, "SELECT * FROM network_summary")
    assert row["network_id"] == "N-1" and row["red_flags"] == ["id_rotation"]
    assert row["n_member_flags"] == 3  # ad 2's payment hint is outside the network
    assert row["controller_like_numbers"] == [CTRL] and row["run_from_countries"] == ["RO"]
    assert (row["share_moved"], row["n_moves"], row["n_ads"]) == (1.0, 4, 1)
