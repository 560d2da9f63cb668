"""The evidence assets materialised on a hand-made market whose right answer is known."""

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import duckdb
import pytest

from adnet_assets.defs.resources import PhoneDirectory
from adnet_tests.conftest import ad, materialize_window, write_snapshot

SITE = "eskorte-annonser.example"
DIRECTORY = """phone,name,address,postcode,city,listed_at
+47 412 34 567,Kari Nordmann,Storgata 12 B,0150,Oslo,2026-05-01
41234569,NORDMANN KARI,STORGATA 12B,0150,Oslo,2026-05-02
+47 470 00 001,Eva Li,"Storsenteret, Torget 1",0151,Oslo,2026-05-03
47654321,Per Dahl,Torget 1 (Storsenteret),0151,Oslo,2026-05-03
+47 930 00 001,Anna Berg,Kløverveien 38,7073,Trondheim,2026-05-04
+47 930 55 555,Anna Berg,Søndre gate 30,0218,Oslo,2026-05-04
+47 980 00 001,Reservert,,,,2026-05-05
"""


def _market(root):
    snaps = ["2026-06-01T0614Z", "2026-06-04T0614Z", "2026-06-08T0614Z"]
    rotating = ["+47 412 34 567", "41234569", "4l2 34 567"]   # one ad cycles through the flat's numbers
    for i, snap in enumerate(snaps):
        t = f"{snap[:10]}T06:20:00Z"
        write_snapshot(root, SITE, snap, [
            ad("100", t, [rotating[i]], country="NO", city="Oslo"),
            ad("200", t, ["47000001"], country="NO", city="Oslo"),       # a stranger at the mall
            ad("300", t, ["47654321"], country="NO", city="Bergen"),     # another stranger at the mall
            ad("400", t, ["93000001"], country="NO", city="Trondheim"),  # Anna Berg in Trondheim
            ad("500", t, ["93055555"], country="NO", city="Oslo"),       # another Anna Berg in Oslo
            ad("600", t, ["98000001"], country="NO"),                     # a reserved number
        ])
    (root / "directory").mkdir(parents=True, exist_ok=True)
    (root / "directory" / "extract.csv").write_text(DIRECTORY, encoding="utf-8")


def _run(layout, directory=None):
    extra = {"directory": directory} if directory is not None else {}
    return materialize_window(layout, "2026-06-01", last="2026-06-08", **extra)  # the three windows in one run


def test_evidence_keeps_strangers_and_homonyms_apart_and_explains_every_link(layout):
    _market(layout.root)
    result = _run(layout)
    failed = [(e.check_name, dict(e.metadata)) for e in result.get_asset_check_evaluations() if not e.passed]
    assert not failed
    con = duckdb.connect(str(layout.database), read_only=True)
    owners = dict(con.execute("SELECT phone, owner_id FROM directory_matches WHERE owner_id IS NOT NULL").fetchall())
    # two spellings at one flat: one owner
    assert owners["+4741234567"] == owners["+4741234569"]
    # strangers at the shopping centre, and the two Anna Bergs: all different people
    assert owners["+4747000001"] != owners["+4747654321"]
    assert owners["+4793000001"] != owners["+4793055555"]
    assert con.execute("SELECT kind, generic FROM addresses WHERE address ILIKE '%torget 1%'").fetchall() == [
        ("shopping_centre", True)]
    # the reserved number is matched but names nobody
    assert con.execute("SELECT owner_id, name, visibility FROM directory_matches WHERE phone = '+4798000001'").fetchall() == [
        (None, None, "reserved")]
    links = con.execute("SELECT kind, a, b, evidence FROM links").fetchall()
    kinds = {(k, a, b) for k, a, b, _ in links}
    assert ("rotation", "phone:+4741234567", "phone:+4741234569") in kinds
    assert not any("47000001" in a + b and "47654321" in a + b for _, a, b in kinds)
    assert not any(k == "owner_address" and "torget" in b for k, _, b in kinds)
    rotation = next(e for k, a, b, e in links if k == "rotation")
    assert rotation.startswith("+4741234567 and +4741234569: same ad eskorte-annonser.example:100 in")
    con.close()


class _FakeDirectory(BaseHTTPRequestHandler):
    listings = {"+4793000001": [{"name": "Anna Berg", "address": "Kløverveien 38", "postcode": "7073", "city": "Trondheim",
                                 "listed_at": "2026-05-04", "visibility": "public"}],
                "+4798000001": [{"name": "Secret", "address": "x", "visibility": "reserved"}]}
    calls: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server's name
        if self.headers.get("Authorization") != "Bearer test-key":
            self.send_response(401)
            self.end_headers()
            return
        phone = self.path.split("phone=")[1].replace("%2B", "+")
        self.calls.append(phone)
        found = self.listings.get(phone)
        body = json.dumps({"phone": phone, "listings": found or []}).encode()
        self.send_response(200 if found else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_directory():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeDirectory)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _FakeDirectory.calls = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_directory_service_answers_are_cached_and_reserved_listings_respected(layout, fake_directory, monkeypatch):
    _market(layout.root)
    monkeypatch.setenv("TEST_DIRECTORY_KEY", "test-key")
    service = PhoneDirectory(base_url=fake_directory, api_key_env="TEST_DIRECTORY_KEY", rate_per_second=100)
    _run(layout, service)
    asked_first = sorted(_FakeDirectory.calls)
    assert "+4793000001" in asked_first and "+4798000001" in asked_first
    con = duckdb.connect(str(layout.database), read_only=True)
    assert con.execute("SELECT count(*) FROM directory_lookups").fetchone()[0] == len(asked_first)
    api = con.execute("SELECT phone, name, visibility FROM directory_listings WHERE source = 'api' ORDER BY phone").fetchall()
    assert api == [("+4793000001", "Anna Berg", "public"), ("+4798000001", None, "reserved")]
    # the look-ups are audited: who, when, which service, how many, and never which numbers
    audit = con.execute("SELECT actor, action, scope, run_id FROM audit_log").fetchall()
    assert audit and all(a[1] == "directory_lookup" and a[0] and a[3] for a in audit)  # one row per run that asked
    sent = [re.match(r"(\d+) number\(s\) sent to 127\.0\.0\.1:\d+: \d+ found, \d+ not found, 0 failed$", a[2]) for a in audit]
    assert all(sent) and sum(int(m.group(1)) for m in sent) == len(asked_first)
    assert not any(p in a[2] or p[3:] in a[2] for a in audit for p in asked_first)
    con.close()
    # a second run within max_age_days asks nothing again
    _FakeDirectory.calls = []
    _run(layout, service)
    assert _FakeDirectory.calls == []
