"""The ingest assets materialised with Dagster on small hand-made markets: content, not just 'it ran'."""

import duckdb

from adnet_assets.schema import TABLES
from adnet_tests.conftest import ad, materialize_window, write_snapshot

SITE = "eskorte-annonser.example"


def _materialize(layout, partition_key, last=None):
    return materialize_window(layout, partition_key, last=last)


def _tables(layout):
    con = duckdb.connect(str(layout.database), read_only=True)
    try:
        present = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        assert {"snapshots", "ad_observations", "quarantine", "phones", "ads"} <= present
        return {name: con.execute(f'SELECT * FROM "{name}" ORDER BY ALL').fetchall() for name in TABLES if name in present}
    finally:
        con.close()


def _market(layout):
    write_snapshot(layout.root, SITE, "2026-06-01T0614Z", [
        ad("1", "2026-06-01T06:20:00Z", ["+47 412 34 567"], country="NO", city="Oslo"),
        ad("2", "2026-06-01T06:21:00Z", ["0047-98765432", "41234567"], country="NO", city="Bergen"),
        ad("3", "2026-06-01T06:22:00Z", ["070-123 45 67"], country="SE", city="Stockholm"),
        "{broken",
    ])
    write_snapshot(layout.root, SITE, "2026-06-04T0630Z", [
        ad("1", "2026-06-04T06:40:00Z", ["412.34.568"], country="NO", city="Trondheim"),  # the ad's number rotates
        ad("2", "2026-06-04T06:41:00Z", ["98765432"], country="NO", city="Bergen"),
    ])


def test_two_windows_give_the_contract_tables(layout):
    _market(layout)
    _materialize(layout, "2026-06-01", last="2026-06-04")  # both windows in one run, as `adnet run` does
    con = duckdb.connect(str(layout.database), read_only=True)
    con.execute("SET TimeZone='UTC'")
    assert con.execute("SELECT count(*), count(DISTINCT snapshot_id) FROM ad_observations").fetchone() == (5, 2)
    # contract columns exist with the promised names
    for table, cols in {
        "ad_observations": ["ad_key", "site", "ad_id", "snapshot_id", "seen_at", "country", "city", "phones_raw"],
        "ads": ["ad_key", "first_seen", "last_seen", "n_snapshots", "n_phones"],
        "phones": ["phone", "country", "n_ads", "first_seen", "last_seen"],
    }.items():
        have = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
        assert set(cols) <= set(have), (table, have)
    ads = {r[0]: r[1:] for r in con.execute(
        "SELECT ad_key, n_snapshots, n_phones, phones, last_city, n_cities FROM ads").fetchall()}
    assert ads[f"{SITE}:1"] == (2, 2, ["+4741234567", "+4741234568"], "Trondheim", 2)
    assert ads[f"{SITE}:2"] == (2, 2, ["+4798765432", "+4741234567"], "Bergen", 1)
    assert ads[f"{SITE}:3"] == (1, 1, ["+46701234567"], "Stockholm", 1)
    phones = {r[0]: r[1:] for r in con.execute("SELECT phone, country, n_ads, n_observations FROM phones").fetchall()}
    assert phones == {"+4741234567": ("NO", 2, 2), "+4741234568": ("NO", 1, 1),
                      "+4798765432": ("NO", 1, 2), "+46701234567": ("SE", 1, 1)}
    assert con.execute("SELECT level, line_no, reason FROM quarantine").fetchall() == [
        ("line", 4, "not JSON: the line is truncated or malformed")]
    assert con.execute("SELECT status, count(*) FROM snapshots GROUP BY ALL").fetchall() == [("loaded", 2)]
    con.close()


def test_rematerialising_is_idempotent_and_replaces_exactly_the_partition(layout):
    _market(layout)
    _materialize(layout, "2026-06-01")  # window by window, as the sensor's runs do
    _materialize(layout, "2026-06-04")
    once = _tables(layout)
    _materialize(layout, "2026-06-01", last="2026-06-04")  # both again in one run, as `adnet run` does
    assert _tables(layout) == once  # twice == once, table by table, row by row
    # the first window's crawl is replaced: its rows change, the other window's stay
    write_snapshot(layout.root, SITE, "2026-06-01T0614Z", [ad("9", "2026-06-01T06:20:00Z", ["41234599"])])
    _materialize(layout, "2026-06-01")
    con = duckdb.connect(str(layout.database), read_only=True)
    rows = con.execute('SELECT "window", ad_id FROM ad_observations ORDER BY ALL').fetchall()
    assert rows == [("2026-06-01", "9"), ("2026-06-04", "1"), ("2026-06-04", "2")]
    assert con.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM ads WHERE ad_key LIKE '%:3'").fetchone()[0] == 0
    con.close()


def test_checks_pass_and_metadata_reports_counts(layout):
    _market(layout)
    result = _materialize(layout, "2026-06-01")
    evaluations = result.get_asset_check_evaluations()
    assert evaluations and all(e.passed for e in evaluations)
    mats = {m.asset_key.to_user_string(): m.metadata for m in result.get_asset_materialization_events() and
            [e.event_specific_data.materialization for e in result.get_asset_materialization_events()]}
    assert mats["raw_snapshots"]["lines_quarantined"].value == 1
    assert mats["raw_snapshots"]["observations"].value == 3
    assert mats["ad_observations"]["dagster/row_count"].value == 3
    assert "Stockholm" in mats["ad_observations"]["preview"].value
