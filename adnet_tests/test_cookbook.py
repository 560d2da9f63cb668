"""The README's SQL cookbook, run as written against the analysts' copy of a freshly generated market.

Every query must run and answer; some answers are checked against the raw tables. The market is
the session's ``small_market`` (seed 11, after one ``adnet run``), shared with ``test_cli``.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from adnet_assets.layout import DataLayout
from adnet_assets.lib.views import VIEWS

README = Path(__file__).resolve().parents[1] / "README.md"


def cookbook() -> list[tuple[str, str]]:
    """(question, sql) for every ``#### question`` + ```sql block under ``### SQL cookbook``."""
    text = README.read_text(encoding="utf-8")
    heading = "\n### SQL cookbook\n"
    start = text.index(heading) + len(heading)
    following = re.search(r"^#{1,3} ", text[start:], re.M)  # the next heading above a question's level
    section = text[start: start + following.start()] if following else text[start:]
    parts = re.split(r"^#### (.+)$", section, flags=re.M)
    out = []
    for question, body in zip(parts[1::2], parts[2::2]):
        blocks = re.findall(r"^```sql\n(.*?)^```", body, re.S | re.M)
        assert len(blocks) == 1, f"{question!r}: expected one ```sql block, found {len(blocks)}"
        out.append((question.strip(), blocks[0]))
    return out


QUERIES = cookbook()


def test_the_cookbook_has_at_least_twelve_questions_each_asked_once():
    assert len(QUERIES) >= 12
    assert len({q for q, _ in QUERIES}) == len(QUERIES)


@pytest.fixture(scope="module")
def copy(small_market):
    root, _, done = small_market
    assert done.returncode == 0, done.stderr[-3000:]
    path = DataLayout.at(root).analyst_database
    assert path.is_file(), (f"{path} was not published: is adnet_assets.defs.analysts wired into "
                            "adnet_assets/definitions.py?")
    con = duckdb.connect(str(path), read_only=True)
    yield con
    con.close()


def _answer(con, question: str) -> tuple[list[str], list[tuple]]:
    sql = dict(QUERIES)[question]
    cursor = con.execute(sql)
    return [d[0] for d in cursor.description], cursor.fetchall()


def _question(fragment: str) -> str:
    found = [q for q, _ in QUERIES if fragment.lower() in q.lower()]
    assert len(found) == 1, (fragment, found)
    return found[0]


def test_the_copy_has_every_view(copy):
    views = {r[0] for r in copy.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    assert set(VIEWS) <= views


@pytest.mark.parametrize("question", [q for q, _ in QUERIES])
def test_each_cookbook_query_runs_and_answers(copy, question):
    columns, rows = _answer(copy, question)
    assert rows, f"no rows for {question!r}"
    assert len(set(columns)) == len(columns), columns


def _rows(con, sql, params=()):
    return con.execute(sql, list(params)).fetchall()


def test_every_phone_of_the_network_is_a_member_with_its_dates(copy):
    columns, rows = _answer(copy, _question("every phone of network"))
    got = {r[columns.index("phone")]: r for r in rows}
    members = {r[0] for r in _rows(copy, "SELECT member_key FROM network_members "
                                         "WHERE network_id = 'N-1' AND member_type = 'phone'")}
    assert set(got) == members
    dates = dict((p, (f, l)) for p, f, l in _rows(copy, "SELECT phone, first_seen, last_seen FROM phones"))
    for phone, row in got.items():
        assert (row[columns.index("first_seen")], row[columns.index("last_seen")]) == dates[phone]
        owners = {r[0] for r in _rows(copy, "SELECT o.name FROM directory_matches dm JOIN owners o USING (owner_id) "
                                            "WHERE dm.phone = ?", [phone])}
        assert set(row[columns.index("owners")]) == owners


def test_ads_that_moved_more_than_three_times(copy):
    columns, rows = _answer(copy, _question("moved city more than three times"))
    got = {r[columns.index("ad_key")]: r[columns.index("n_moves")] for r in rows}
    expected = dict(_rows(copy, """SELECT ad_key, count(*) - 1 FROM ad_itineraries
                                   GROUP BY ad_key HAVING count(*) - 1 > 3"""))
    assert got == expected
    # a move is a change of city: consecutive stays are in different cities
    for ad_key in got:
        route = [r[0] for r in _rows(copy, "SELECT city_key FROM ad_itineraries WHERE ad_key = ? ORDER BY stay_no",
                                     [ad_key])]
        assert all(a != b for a, b in zip(route, route[1:]))


def test_owners_with_phones_in_more_than_one_series_group(copy):
    columns, rows = _answer(copy, _question("more than one series group"))
    got = {r[columns.index("owner_id")]: set(r[columns.index("series_groups")]) for r in rows}
    expected = {}
    for owner_id, group_id in _rows(copy, """SELECT DISTINCT dm.owner_id, s.group_id FROM directory_matches dm
                                             JOIN series_groups s USING (phone) WHERE dm.owner_id IS NOT NULL"""):
        expected.setdefault(owner_id, set()).add(group_id)
    assert got == {o: g for o, g in expected.items() if len(g) > 1}


def test_rotation_ads_show_numbers_of_different_owners(copy):
    columns, rows = _answer(copy, _question("ID rotation"))
    for row in rows:
        ad_key = row[columns.index("ad_key")]
        owners = _rows(copy, """SELECT count(DISTINCT dm.owner_id) FROM observation_phones op
                                JOIN directory_matches dm ON dm.phone = op.phone WHERE op.ad_key = ?""", [ad_key])
        assert owners[0][0] >= 2, ad_key
        shown = {r[0] for r in _rows(copy, "SELECT DISTINCT phone FROM observation_phones "
                                           "WHERE ad_key = ? AND phone IS NOT NULL", [ad_key])}
        assert set(row[columns.index("numbers_in_order")]) == shown


def test_controller_like_numbers_talk_to_the_network_phones_they_name(copy):
    columns, rows = _answer(copy, _question("controller-like numbers"))
    controllers = {r[0] for r in _rows(copy, "SELECT counterpart FROM billing_counterparts WHERE role = 'controller-like'")}
    assert {r[columns.index("counterpart")] for r in rows} == controllers
    for row in rows:
        n = _rows(copy, "SELECT count(*) FROM billing_events WHERE counterpart = ? AND subscriber = ?",
                  [row[columns.index("counterpart")], row[columns.index("subscriber")]])[0][0]
        assert n == row[columns.index("n_events")] > 0
        member = _rows(copy, "SELECT network_id FROM network_members WHERE member_type = 'phone' AND member_key = ?",
                       [row[columns.index("subscriber")]])
        assert [r[0] for r in member] == ([row[columns.index("network_id")]] if row[columns.index("network_id")] else [])
