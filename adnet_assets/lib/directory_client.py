"""A small HTTP client for JSON phone-directory services (owner look-ups by number). No Dagster.

The adapter's expected API
--------------------------
adnet talks to any directory service that speaks (or is wrapped to speak) this generic JSON
protocol::

    GET {base_url}/lookup?phone=%2B4741234567
    Authorization: Bearer <api_key>
    Accept: application/json

    200  {"phone": "+4741234567",
          "listings": [{"name": "Kari Hansen", "address": "Storgata 12 B", "postcode": "0150",
                        "city": "Oslo", "listed_at": "2025-03-01", "visibility": "public"}]}
         visibility is "public", "reserved" or "hidden"; every listing field is optional.
         An empty "listings" list means the number is not listed ("not_found").
    404  the number is not listed ("not_found")
    429, 5xx
         busy or broken: retried with exponential backoff (``backoff_s`` * 2^(attempt-1)), or
         after exactly ``Retry-After`` seconds when the answer carries that header (seconds or an
         HTTP date), at most ``max_retries`` times
    401, 403
         the API key was refused: ``DirectoryAuthError`` is raised at once ("check the API key in
         ADNET_DIRECTORY_API_KEY"), because every further call would fail the same way
    other 4xx, 3xx
         an "error" result, no retry (redirects are never followed: the bearer key would travel
         to the other address)

What the client guarantees
--------------------------
* **Rate**: a minimum interval of ``1 / rate_per_second`` between the starts of any two requests
  made through one client (retries included), shared by every thread that uses it. Slots are
  reserved under a lock and slept outside it, on ``time.monotonic`` (clock and sleep are
  injectable for tests).
* **The key never leaks**: it is sent only in the Authorization header of requests to
  ``base_url`` (plain ``http://`` is refused except on the loopback interface, redirects are
  not followed), it is not in ``repr(client)``, and it is masked ("***") in every error message
  and stored answer even when a service echoes it back. Nothing logs headers.
* **Withheld owners stay withheld**: listings marked reserved or hidden, and listings with a
  visibility the client does not know (treated as hidden), are returned without name, address,
  postcode and city, and the stored ``answer`` has them removed too.
* **No wrong number**: an answer whose ``phone`` is not the number asked for is an error, not
  a listing of the asked number.
* ``lookup`` never raises for a bad answer or a network failure (status "error", with the reason
  in ``answer["error"]``); it raises only for a refused key (``DirectoryAuthError``) and for a
  phone that is not E.164 (``ValueError``).
"""

from __future__ import annotations

import email.utils
import http.client
import ipaddress
import json
import logging
import os
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone

from adnet_assets.lib.directory import ServiceListing, VISIBILITIES

__all__ = [
    "API_KEY_ENV",
    "URL_ENV",
    "DirectoryAuthError",
    "DirectoryClient",
    "DirectoryServiceError",
    "LookupResult",
    "RateLimiter",
    "ServiceListing",
]

API_KEY_ENV = "ADNET_DIRECTORY_API_KEY"
URL_ENV = "ADNET_DIRECTORY_URL"
#: Largest answer body read (a listing answer is a few kB; anything bigger is not this protocol).
MAX_BODY_BYTES = 2_000_000
_E164_RE = re.compile(r"^\+[1-9][0-9]{6,14}$")
_LISTING_FIELDS = ("name", "address", "postcode", "city", "listed_at")
_WITHHELD_FIELDS = ("name", "address", "postcode", "city")

log = logging.getLogger("adnet.directory_client")


class DirectoryServiceError(RuntimeError):
    """The directory service cannot be used (configuration or refused key)."""


class DirectoryAuthError(DirectoryServiceError):
    """The service refused the API key (HTTP 401/403)."""


@dataclass(frozen=True)
class LookupResult:
    """One look-up of one number.

    ``status``: found (at least one listing) | not_found (404, or 200 with no listings) | error.
    ``answer``: the service's JSON answer with withheld fields removed, or ``{"error": ...}``.
    """

    phone: str
    status: str
    listings: list[ServiceListing]
    answer: dict
    looked_up_at: datetime
    service: str = ""
    http_status: int | None = None
    attempts: int = 1
    error: str | None = None


class RateLimiter:
    """At least ``1 / rate_per_second`` seconds between the starts of two calls; thread-safe.

    ``acquire`` reserves the next free slot under a lock and sleeps until it outside the lock, so
    concurrent callers get distinct, evenly spaced slots in the order they asked.
    """

    def __init__(self, rate_per_second: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        if not rate_per_second > 0:
            raise ValueError("rate_per_second must be positive")
        self.interval = 1.0 / rate_per_second
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next: float | None = None

    def acquire(self) -> float:
        """Wait for this caller's slot; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            slot = now if self._next is None else max(now, self._next)
            self._next = slot + self.interval
        wait = slot - now
        if wait > 0:
            self._sleep(wait)
        return wait


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D102
        return None  # urllib then raises HTTPError for the 3xx


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class DirectoryClient:
    """Look up E.164 numbers in one JSON directory service (see the module docstring)."""

    def __init__(self, base_url: str, api_key: str, *, rate_per_second: float = 2.0, max_retries: int = 5,
                 backoff_s: float = 0.5, timeout_s: float = 10, user_agent: str = "adnet",
                 service: str | None = None, max_wait_s: float = 120.0, allow_insecure_http: bool = False,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        """``max_wait_s`` (120): the longest single wait before a retry; a service asking for more
        (``Retry-After: 3600``) gets an "error" result instead of stalling a whole batch, and the
        number stays due for the next run. ``service`` names the service in the cache and in
        ``listing_id`` (default: the host of ``base_url``)."""
        parsed = urllib.parse.urlsplit(base_url)
        if parsed.scheme not in ("https", "http") or not parsed.hostname:
            raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
        loopback = _is_loopback(parsed.hostname)
        if parsed.scheme == "http" and not (loopback or allow_insecure_http):
            raise ValueError("base_url uses plain http: the API key would travel unencrypted; use https "
                             "(or allow_insecure_http=True for a service on a trusted network)")
        if not api_key:
            raise DirectoryServiceError(f"no API key: set {API_KEY_ENV}")
        if max_retries < 0 or backoff_s < 0 or timeout_s <= 0:
            raise ValueError("max_retries and backoff_s must be >= 0, timeout_s > 0")
        self.base_url = base_url.rstrip("/")
        self.service = service or (parsed.hostname + (f":{parsed.port}" if parsed.port else ""))
        self.max_retries = int(max_retries)
        self.backoff_s = float(backoff_s)
        self.timeout_s = float(timeout_s)
        self.max_wait_s = float(max_wait_s)
        self.user_agent = user_agent
        self._api_key = api_key
        self._sleep = sleep
        self._now = now
        self.limiter = RateLimiter(rate_per_second, clock=clock, sleep=sleep)
        handlers: list[urllib.request.BaseHandler] = [_NoRedirect()]
        if loopback:
            handlers.append(urllib.request.ProxyHandler({}))  # a local service is never behind a proxy
        self._opener = urllib.request.build_opener(*handlers)

    @classmethod
    def from_env(cls, base_url: str | None = None, **kwargs) -> "DirectoryClient":
        """A client configured from ``ADNET_DIRECTORY_URL`` and ``ADNET_DIRECTORY_API_KEY``."""
        url = base_url or os.environ.get(URL_ENV)
        if not url:
            raise DirectoryServiceError(f"no directory service URL: set {URL_ENV}")
        return cls(url, os.environ.get(API_KEY_ENV, ""), **kwargs)

    def __repr__(self) -> str:
        return f"DirectoryClient({self.base_url!r}, service={self.service!r}, api_key=***)"

    # ------------------------------------------------------------------ helpers

    def _redact(self, text: object) -> str:
        s = str(text)
        return s.replace(self._api_key, "***") if self._api_key else s

    def _redact_obj(self, obj):
        if isinstance(obj, str):
            return self._redact(obj)
        if isinstance(obj, list):
            return [self._redact_obj(x) for x in obj]
        if isinstance(obj, dict):
            return {self._redact(k): self._redact_obj(v) for k, v in obj.items()}
        return obj

    def _error(self, phone: str, reason: str, *, http_status: int | None, attempts: int,
               body: str | None = None) -> LookupResult:
        reason = self._redact(reason)
        answer: dict = {"error": reason}
        if http_status is not None:
            answer["http_status"] = http_status
        if body:
            answer["body"] = self._redact(body[:500])
        log.warning("directory %s: look-up failed after %d attempt(s): %s", self.service, attempts, reason)
        return LookupResult(phone, "error", [], answer, self._now(), self.service, http_status, attempts, reason)

    def _retry_after(self, headers) -> float | None:
        value = headers.get("Retry-After") if headers is not None else None
        if value is None:
            return None
        value = value.strip()
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        return max(0.0, (when - self._now()).total_seconds())

    def _request(self, phone: str) -> tuple[int, dict, bytes]:
        url = f"{self.base_url}/lookup?phone={urllib.parse.quote(phone, safe='')}"
        req = urllib.request.Request(url, method="GET", headers={
            "Authorization": f"Bearer {self._api_key}", "Accept": "application/json",
            "User-Agent": self.user_agent})
        try:
            with self._opener.open(req, timeout=self.timeout_s) as resp:
                return resp.status, resp.headers, resp.read(MAX_BODY_BYTES + 1)
        except urllib.error.HTTPError as exc:
            try:
                body = exc.read(MAX_BODY_BYTES + 1)
            except Exception:  # noqa: BLE001 - the body is only for the error message
                body = b""
            finally:
                exc.close()
            return exc.code, exc.headers, body

    # ---------------------------------------------------------------- the API

    def lookup(self, phone_e164: str) -> LookupResult:
        """Look up one number (E.164, e.g. "+4741234567"). See the module docstring."""
        if not isinstance(phone_e164, str) or not _E164_RE.match(phone_e164):
            raise ValueError(f"not an E.164 number: {phone_e164!r}")
        phone = phone_e164
        attempt = 0
        while True:
            attempt += 1
            self.limiter.acquire()
            wait: float | None = None
            try:
                status, headers, body = self._request(phone)
            except (urllib.error.URLError, http.client.HTTPException, OSError, socket.timeout) as exc:
                reason = getattr(exc, "reason", None) or exc
                problem, status, headers, body = f"network error: {reason}", None, None, b""
            else:
                if status in (401, 403):
                    raise DirectoryAuthError(
                        f"directory service {self.service} refused the API key (HTTP {status}): "
                        f"check the API key in {API_KEY_ENV}")
                if status == 200 or status == 404:
                    return self._answer(phone, status, body, attempt)
                if status == 429 or 500 <= status <= 599:
                    problem = f"HTTP {status}" + (" (too many requests)" if status == 429 else " (service error)")
                    wait = self._retry_after(headers)
                else:
                    text = body[:500].decode("utf-8", errors="replace")
                    what = "redirect not followed (the API key is only sent to base_url)" if 300 <= status < 400 \
                        else "request refused"
                    return self._error(phone, f"HTTP {status}: {what}", http_status=status, attempts=attempt,
                                       body=text)
            if attempt > self.max_retries:
                return self._error(phone, f"{problem}; gave up after {attempt} attempts", http_status=status,
                                   attempts=attempt)
            if wait is None:
                wait = self.backoff_s * (2 ** (attempt - 1))
            if wait > self.max_wait_s:
                return self._error(phone, f"{problem}; the service asked to wait {wait:.0f}s, more than "
                                          f"max_wait_s={self.max_wait_s:.0f}s", http_status=status, attempts=attempt)
            log.info("directory %s: %s, retry %d/%d in %.2fs", self.service, self._redact(problem), attempt,
                     self.max_retries, wait)
            if wait > 0:
                self._sleep(wait)

    def lookup_many(self, phones: Iterable[str]) -> Iterator[LookupResult]:
        """Look up numbers one after the other (the rate limit applies)."""
        for phone in phones:
            yield self.lookup(phone)

    def _answer(self, phone: str, status: int, body: bytes, attempts: int) -> LookupResult:
        if len(body) > MAX_BODY_BYTES:
            return self._error(phone, f"answer larger than {MAX_BODY_BYTES} bytes", http_status=status,
                               attempts=attempts)
        text = body.decode("utf-8", errors="replace").strip()
        if status == 404:
            try:
                answer = json.loads(text) if text else {}
            except ValueError:
                answer = {}
            if not isinstance(answer, dict):
                answer = {}
            answer = self._redact_obj(answer)
            return LookupResult(phone, "not_found", [], answer, self._now(), self.service, status, attempts)
        try:
            answer = json.loads(text)
        except ValueError:
            return self._error(phone, "answer is not JSON", http_status=status, attempts=attempts, body=text)
        if not isinstance(answer, dict):
            return self._error(phone, "answer is not a JSON object", http_status=status, attempts=attempts,
                               body=text)
        answered_for = answer.get("phone")
        if answered_for is not None and re.sub(r"[\s\-().]", "", str(answered_for)) != phone:
            return self._error(phone, f"answer is for another number ({self._redact(answered_for)}), not {phone}",
                               http_status=status, attempts=attempts)
        raw_listings = answer.get("listings", [])
        if raw_listings is None:
            raw_listings = []
        if not isinstance(raw_listings, list) or not all(isinstance(x, dict) for x in raw_listings):
            return self._error(phone, "'listings' is not a list of objects", http_status=status,
                               attempts=attempts, body=text)
        listings: list[ServiceListing] = []
        clean_items: list[dict] = []
        for item in raw_listings:
            visibility = str(item.get("visibility") or "public").strip().lower()
            if visibility not in VISIBILITIES:
                visibility = "hidden"  # unknown: withhold rather than show
            values = {}
            for name in _LISTING_FIELDS:
                v = item.get(name)
                values[name] = None if v is None or isinstance(v, (dict, list)) else str(v)
            clean = dict(item)
            if visibility != "public":
                for name in _WITHHELD_FIELDS:
                    values[name] = None
                    clean.pop(name, None)
            clean["visibility"] = visibility
            clean_items.append(clean)
            listings.append(ServiceListing(service=self.service, phone=phone, visibility=visibility, **values))
        answer = self._redact_obj({**answer, "listings": clean_items})
        return LookupResult(phone, "found" if listings else "not_found", listings, answer, self._now(),
                            self.service, status, attempts)
