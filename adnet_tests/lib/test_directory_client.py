"""directory_client against a fake directory service on 127.0.0.1: answers, retries, backoff, rate, key safety."""

from __future__ import annotations

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import duckdb
import pytest

from adnet_assets.lib.directory import record_lookups
from adnet_assets.lib.directory_client import (
    DirectoryAuthError,
    DirectoryClient,
    DirectoryServiceError,
    RateLimiter,
)

KEY = "sk-test-8c1f2e0a-never-print-me"
FOUND = "+4741234567"
RESERVED = "+4798765432"
MISSING = "+4790000000"
EMPTY = "+4790000001"
BUSY_TWICE = "+4741111111"   # 429 with Retry-After: 2, twice, then found
FLAKY_ONCE = "+4742222222"   # 503 once, no Retry-After, then found
DOWN = "+4743333333"         # always 503
WRONG_NUMBER = "+4744444444"  # answers for another number
ODD_VISIBILITY = "+4745555555"
ECHO_400 = "+4746666666"     # 400 whose body echoes the Authorization header
REDIRECT = "+4747777777"     # 302 to another path
LONG_WAIT = "+4748888888"    # 429 with Retry-After: 3600
NOT_JSON = "+4749999999"


class FakeClock:
    """time.monotonic and time.sleep for tests: sleeping moves the clock, and is recorded."""

    def __init__(self):
        self.t = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        if round(seconds, 6) > 0:  # the limiter's nanosecond waits at an unlimited rate are not interesting
            self.sleeps.append(round(seconds, 6))
        self.t += seconds


class FakeDirectory:
    """A directory service speaking the adapter protocol, counting hits per number."""

    def __init__(self, clock: FakeClock | None = None):
        self.hits: Counter[str] = Counter()
        self.paths: list[str] = []
        self.hit_times: list[float] = []
        self.clock = clock
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _send(self, code: int, body: object = None, headers: dict | None = None):
                data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # noqa: N802
                url = urlsplit(self.path)
                phone = parse_qs(url.query).get("phone", [""])[0]
                with outer.lock:
                    outer.paths.append(self.path)
                    outer.hits[phone] += 1
                    n = outer.hits[phone]
                    if outer.clock is not None:
                        outer.hit_times.append(outer.clock())
                if url.path != "/v1/lookup":
                    return self._send(404, {"error": "no such path"})
                if self.headers.get("Authorization") != f"Bearer {KEY}":
                    return self._send(401, {"error": "bad key " + str(self.headers.get("Authorization"))})
                listing = {"name": "Kari Hansen", "address": "Storgata 12 B", "postcode": "0150", "city": "Oslo",
                           "listed_at": "2025-03-01", "visibility": "public"}
                if phone == FOUND:
                    return self._send(200, {"phone": phone, "listings": [listing, {**listing, "name": "K. Hansen"}]})
                if phone == RESERVED:  # a careless service still sends the name: the client must drop it
                    return self._send(200, {"phone": phone, "listings": [{**listing, "visibility": "reserved"}]})
                if phone == ODD_VISIBILITY:
                    return self._send(200, {"phone": phone, "listings": [{**listing, "visibility": "secret"}]})
                if phone == EMPTY:
                    return self._send(200, {"phone": phone, "listings": []})
                if phone == BUSY_TWICE and n <= 2:
                    return self._send(429, {"error": "slow down"}, {"Retry-After": "2"})
                if phone == FLAKY_ONCE and n == 1:
                    return self._send(503, {"error": "maintenance"})
                if phone in (BUSY_TWICE, FLAKY_ONCE):
                    return self._send(200, {"phone": phone, "listings": [listing]})
                if phone == DOWN:
                    return self._send(503)
                if phone == WRONG_NUMBER:
                    return self._send(200, {"phone": FOUND, "listings": [listing]})
                if phone == ECHO_400:
                    return self._send(400, {"error": "bad request, you sent " + self.headers.get("Authorization")})
                if phone == REDIRECT:
                    return self._send(302, None, {"Location": "/elsewhere?phone=%2B4747777777"})
                if phone == LONG_WAIT:
                    return self._send(429, None, {"Retry-After": "3600"})
                if phone == NOT_JSON:
                    return self._send(200, b"<html>Service page</html>")
                return self._send(404, {"phone": phone, "listings": []})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def service(clock):
    with FakeDirectory(clock) as fake:
        yield fake


def _client(service, clock, **kw) -> DirectoryClient:
    kw.setdefault("rate_per_second", 1e9)  # no throttling unless a test asks for it
    return DirectoryClient(service.base_url, kw.pop("api_key", KEY), clock=clock, sleep=clock.sleep,
                           timeout_s=5, **kw)


def test_found_not_found_and_reserved(service, clock):
    client = _client(service, clock)
    found = client.lookup(FOUND)
    assert (found.status, found.phone, found.http_status, found.attempts) == ("found", FOUND, 200, 1)
    assert [(x.name, x.address, x.postcode, x.city, x.visibility) for x in found.listings] == [
        ("Kari Hansen", "Storgata 12 B", "0150", "Oslo", "public"), ("K. Hansen", "Storgata 12 B", "0150", "Oslo", "public")]
    assert found.service == client.service == f"127.0.0.1:{service.server.server_address[1]}"
    assert found.answer["listings"][0]["name"] == "Kari Hansen"
    assert found.looked_up_at.tzinfo is not None

    reserved = client.lookup(RESERVED)
    assert reserved.status == "found"
    (r,) = reserved.listings
    assert (r.visibility, r.name, r.address, r.postcode, r.city, r.listed_at) == ("reserved", None, None, None, None, "2025-03-01")
    assert "Kari" not in json.dumps(reserved.answer) and "Storgata" not in json.dumps(reserved.answer)

    odd = client.lookup(ODD_VISIBILITY)
    assert odd.listings[0].visibility == "hidden" and odd.listings[0].name is None

    for phone in (MISSING, EMPTY):
        res = client.lookup(phone)
        assert (res.status, res.listings) == ("not_found", [])
    assert clock.sleeps == []  # nothing retried, nothing throttled
    assert service.paths[0] == "/v1/lookup?phone=%2B4741234567"


def test_429_is_retried_after_retry_after(service, clock):
    client = _client(service, clock, backoff_s=0.5)
    res = client.lookup(BUSY_TWICE)
    assert (res.status, res.attempts) == ("found", 3)
    assert service.hits[BUSY_TWICE] == 3
    assert clock.sleeps == [2.0, 2.0]  # Retry-After: 2, honoured exactly, not the 0.5/1.0 backoff


def test_503_once_is_retried_with_backoff(service, clock):
    client = _client(service, clock, backoff_s=0.5)
    res = client.lookup(FLAKY_ONCE)
    assert (res.status, res.attempts, service.hits[FLAKY_ONCE]) == ("found", 2, 2)
    assert clock.sleeps == [0.5]


def test_exponential_backoff_then_error(service, clock):
    client = _client(service, clock, backoff_s=0.5, max_retries=3)
    res = client.lookup(DOWN)
    assert res.status == "error" and res.listings == []
    assert (res.attempts, service.hits[DOWN], res.http_status) == (4, 4, 503)
    assert clock.sleeps == [0.5, 1.0, 2.0]
    assert "gave up after 4 attempts" in res.answer["error"]


def test_retry_after_longer_than_max_wait_gives_up_without_sleeping(service, clock):
    client = _client(service, clock, max_wait_s=60)
    res = client.lookup(LONG_WAIT)
    assert res.status == "error" and "3600" in res.error
    assert clock.sleeps == [] and service.hits[LONG_WAIT] == 1


def test_rate_limit_spaces_requests(service, clock):
    client = _client(service, clock, rate_per_second=2.0)
    results = list(client.lookup_many([FOUND, MISSING, RESERVED, FOUND, EMPTY]))
    assert [r.status for r in results] == ["found", "not_found", "found", "found", "not_found"]
    assert clock.sleeps == [0.5, 0.5, 0.5, 0.5]
    starts = service.hit_times
    assert [round(b - a, 6) for a, b in zip(starts, starts[1:])] == [0.5, 0.5, 0.5, 0.5]


def test_rate_limit_counts_retries_too(service, clock):
    client = _client(service, clock, rate_per_second=1.0, backoff_s=0.25)
    client.lookup(FOUND)
    res = client.lookup(FLAKY_ONCE)
    assert res.status == "found"
    # first call free; second waits its 1 s slot; the retry after a 0.25 s backoff still waits the rest of its slot
    assert clock.sleeps == [1.0, 0.25, 0.75]
    starts = service.hit_times
    assert all(round(b - a, 6) >= 1.0 for a, b in zip(starts, starts[1:]))


def test_rate_limiter_is_thread_safe():
    waits: list[float] = []
    lock = threading.Lock()

    def sleep(s):
        with lock:
            waits.append(round(s, 6))

    limiter = RateLimiter(2.0, clock=lambda: 0.0, sleep=sleep)
    threads = [threading.Thread(target=limiter.acquire) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(waits) == [0.5 * i for i in range(1, 10)]  # ten distinct slots, 0.5 s apart (the first waits 0)


def test_wrong_key_raises_a_clear_error_without_the_key(service, clock):
    wrong = "sk-wrong-key-4711-also-secret"
    client = _client(service, clock, api_key=wrong)
    with pytest.raises(DirectoryAuthError) as info:
        client.lookup(FOUND)
    message = str(info.value)
    assert "ADNET_DIRECTORY_API_KEY" in message and "401" in message
    assert wrong not in message and wrong not in repr(info.value)
    assert service.hits[FOUND] == 1  # not retried
    assert clock.sleeps == []


def test_key_never_appears_in_errors_answers_or_repr(service, clock):
    client = _client(service, clock)
    assert KEY not in repr(client) and KEY not in str(vars(client).get("base_url"))
    echo = client.lookup(ECHO_400)
    assert echo.status == "error" and echo.http_status == 400 and service.hits[ECHO_400] == 1
    assert "***" in echo.answer.get("body", "")
    for res in (echo, client.lookup(WRONG_NUMBER), client.lookup(NOT_JSON), client.lookup(REDIRECT)):
        assert res.status == "error"
        assert KEY not in json.dumps(res.answer) and KEY not in (res.error or "") and KEY not in repr(res)
    with pytest.raises(ValueError) as info:
        client.lookup("41234567")  # not E.164
    assert KEY not in str(info.value)


def test_wrong_number_redirect_and_garbage_are_errors(service, clock):
    client = _client(service, clock)
    wrong = client.lookup(WRONG_NUMBER)
    assert wrong.status == "error" and "another number" in wrong.error and wrong.listings == []
    redirect = client.lookup(REDIRECT)
    assert redirect.status == "error" and redirect.http_status == 302 and "redirect" in redirect.error
    assert not any(p.startswith("/elsewhere") for p in service.paths)  # never followed
    assert client.lookup(NOT_JSON).error == "answer is not JSON"


def test_network_errors_are_retried_then_reported(clock):
    with FakeDirectory(clock) as fake:
        url = fake.base_url
    client = DirectoryClient(url, KEY, clock=clock, sleep=clock.sleep, max_retries=2, backoff_s=0.1, timeout_s=2)
    res = client.lookup(FOUND)  # the server is gone: connection refused
    assert res.status == "error" and res.attempts == 3 and res.http_status is None
    # backoff 0.1, then the rest of the 0.5 s rate slot; backoff 0.2, then the rest of the next slot
    assert clock.sleeps == [0.1, 0.4, 0.2, 0.3]
    assert "network error" in res.error and KEY not in res.error


def test_configuration_checks(monkeypatch):
    with pytest.raises(ValueError, match="plain http"):
        DirectoryClient("http://directory.example.org/api", KEY)
    DirectoryClient("http://directory.example.org/api", KEY, allow_insecure_http=True)
    with pytest.raises(DirectoryServiceError, match="ADNET_DIRECTORY_API_KEY"):
        DirectoryClient("https://directory.example.org/api", "")
    monkeypatch.delenv("ADNET_DIRECTORY_API_KEY", raising=False)
    monkeypatch.setenv("ADNET_DIRECTORY_URL", "https://directory.example.org/api")
    with pytest.raises(DirectoryServiceError, match="ADNET_DIRECTORY_API_KEY"):
        DirectoryClient.from_env()
    monkeypatch.setenv("ADNET_DIRECTORY_API_KEY", KEY)
    client = DirectoryClient.from_env()
    assert client.service == "directory.example.org" and KEY not in repr(client)


def test_answers_land_in_the_database(service, clock):
    client = _client(service, clock)
    results = list(client.lookup_many([FOUND, RESERVED, MISSING, EMPTY]))
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    assert record_lookups(con, results) == 4
    rows = con.execute("""SELECT listing_id, source, source_file, phone, name, address, visibility
                          FROM directory_listings ORDER BY listing_id""").fetchall()
    svc = client.service
    assert rows == [
        (f"{svc}:{FOUND}:0", "api", svc, FOUND, "Kari Hansen", "Storgata 12 B", "public"),
        (f"{svc}:{FOUND}:1", "api", svc, FOUND, "K. Hansen", "Storgata 12 B", "public"),
        (f"{svc}:{RESERVED}:0", "api", svc, RESERVED, None, None, "reserved"),
    ]
    assert con.execute("SELECT status, count(*) FROM directory_lookups GROUP BY 1 ORDER BY 1").fetchall() == [
        ("found", 2), ("not_found", 2)]
    assert KEY not in str(con.execute("SELECT list(answer) FROM directory_lookups").fetchone()[0])
