"""billing_roaming: days on foreign networks joined into periods per phone and country."""

from __future__ import annotations

from datetime import date

import duckdb

from adnet_assets.layout import DataLayout
from adnet_assets.lib.billing import COLUMNS, load_billing
from adnet_assets.lib.billing_roaming import build_billing_roaming


def _row(sub: str, day: int, hour: int, network: str, country: str, counterpart: str = "+4798765432") -> str:
    return f"{sub},2026-07-{day:02d}T{hour:02d}:15:00+02:00,in,sms,{counterpart},0,{network},{country}"


def test_periods_join_gaps_of_one_day_and_split_longer_ones(tmp_path):
    no, se = "+4741234567", "+46701234567"
    rows = [_row(no, 8, 12, "Telenor", "NO"), _row(no, 9, 12, "Telenor", "NO")]
    rows += [_row(no, d, h, "Bitė", "LT") for d in (10, 11, 13, 14) for h in (10, 22)]  # 12th: no event, joins
    rows += [_row(no, 14, 23, "Telia LT", "lt")]
    rows += [_row(no, d, 11, "Bitė", "LT") for d in (17, 18)]   # 15th and 16th away from LT: a new period
    rows += [_row(no, 20, 11, "Orange RO", "RO")]
    rows += [_row(no, 21, 11, "Telenor", "")]                   # no country: not used
    rows += [_row(se, 10, 11, "Telenor", "NO"), _row(se, 11, 11, "Telenor", "NO"), _row(se, 12, 11, "Telia", "SE")]
    layout = DataLayout.at(tmp_path)
    layout.billing.mkdir()
    (layout.billing / "b.csv").write_text("\n".join([",".join(COLUMNS)] + rows) + "\n", encoding="utf-8")
    con = duckdb.connect()
    report = load_billing(con, layout)
    assert report.rows_quarantined == 0
    assert build_billing_roaming(con) == 4
    cur = con.execute("SELECT * FROM billing_roaming ORDER BY subscriber, first_day")
    names = [d[0] for d in cur.description]
    got = [dict(zip(names, r)) for r in cur.fetchall()]
    lt1, lt2, ro, se_no = got[1], got[2], got[3], got[0]
    assert (lt1["subscriber"], lt1["home_country"], lt1["country"], lt1["period_no"]) == (no, "NO", "LT", 1)
    assert (lt1["first_day"], lt1["last_day"], lt1["n_days"], lt1["span_days"], lt1["n_events"]) == (
        date(2026, 7, 10), date(2026, 7, 14), 4, 5, 9)
    assert lt1["networks"] == ["Bitė", "Telia LT"] and lt1["source_files"] == ["billing/b.csv"]
    assert lt1["description"] == (f"{no} was on the Lithuanian networks Bitė, Telia LT from 2026-07-10 to 2026-07-14: "
                                  "9 events on 4 of 5 days, run from LT instead of NO")
    assert (lt2["period_no"], lt2["first_day"], lt2["last_day"], lt2["n_days"]) == (2, date(2026, 7, 17), date(2026, 7, 18), 2)
    assert (ro["country"], ro["first_day"], ro["last_day"], ro["n_events"]) == ("RO", date(2026, 7, 20), date(2026, 7, 20), 1)
    assert ro["description"] == f"{no} was on the Romanian network Orange RO on 2026-07-20: 1 event on 1 of 1 day, run from RO instead of NO"
    # a Swedish phone on Norwegian networks roams in Norway; its own network at home does not count
    assert (se_no["subscriber"], se_no["home_country"], se_no["country"]) == (se, "SE", "NO")
    assert (se_no["first_day"], se_no["last_day"], se_no["n_days"]) == (date(2026, 7, 10), date(2026, 7, 11), 2)


def test_no_roaming_gives_an_empty_table(tmp_path):
    layout = DataLayout.at(tmp_path)
    layout.billing.mkdir()
    (layout.billing / "b.csv").write_text(",".join(COLUMNS) + "\n" + _row("+4741234567", 8, 12, "Telenor", "NO") + "\n")
    con = duckdb.connect()
    load_billing(con, layout)
    assert build_billing_roaming(con) == 0
    assert con.execute("SELECT count(*) FROM billing_roaming").fetchone()[0] == 0
