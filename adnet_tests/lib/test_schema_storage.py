"""schema: how the big tables' long texts are stored, and that tables made by an earlier version still work."""

import duckdb

from adnet_assets.lib.store import ensure_table
from adnet_assets.schema import AD_OBSERVATIONS, LONG_TEXT, QUARANTINE


def test_long_texts_are_stored_with_zstd():
    assert {c.name for c in AD_OBSERVATIONS.columns if c.compression == LONG_TEXT} == {"text", "images", "raw_line"}
    assert [c.name for c in QUARANTINE.columns if c.compression] == ["raw_line"]


def test_a_new_table_stores_them_with_zstd(tmp_path):
    con = duckdb.connect(str(tmp_path / "new.duckdb"))
    ensure_table(con, AD_OBSERVATIONS)
    con.execute("INSERT INTO ad_observations (ad_key, raw_line, text) "
                "SELECT 'a:' || i, repeat('{\"ad_id\": ' || i || '}', 40), repeat('tekst ', 30) FROM range(5000) r(i)")
    con.execute("CHECKPOINT")
    stored = dict(con.execute("SELECT column_name, list(DISTINCT compression) FROM pragma_storage_info('ad_observations') "
                              "WHERE column_name IN ('raw_line', 'text') GROUP BY 1").fetchall())
    assert set(stored) == {"raw_line", "text"} and all("ZSTD" in kinds for kinds in stored.values()), stored


def test_a_table_an_earlier_version_made_gets_the_new_columns(tmp_path):
    con = duckdb.connect(str(tmp_path / "old.duckdb"))  # plain VARCHARs, fewer columns
    con.execute('CREATE TABLE ad_observations ("window" VARCHAR, ad_key VARCHAR, raw_line VARCHAR)')
    con.execute("INSERT INTO ad_observations VALUES ('2026-06-01', 's:1', '{}')")
    ensure_table(con, AD_OBSERVATIONS)
    names = [r[0] for r in con.execute("SELECT column_name FROM (DESCRIBE ad_observations)").fetchall()]
    assert sorted(names) == sorted(AD_OBSERVATIONS.column_names)
    assert con.execute("SELECT ad_key, raw_line, text FROM ad_observations").fetchall() == [("s:1", "{}", None)]
