"""Pseudonymised tables for sharing: phones, people, names, addresses and ads replaced by keyed hashes.

Material shared with partners (another newsroom, an NGO, the police) must not carry the numbers,
names and addresses of people who may be victims, yet partners must still see the networks and be
able to join two deliveries. ``build_pseudonymised_tables`` therefore copies every table an export
reads from the investigation's database into a fresh in-memory DuckDB, column by column as the
registry ``REGISTRY`` says, and the ordinary export writers then write from that copy.

Pseudonyms
  ``<kind>-<12 hex>``: the first 12 hex digits of HMAC-SHA256(key, ``kind:canonical value``), e.g.
  ``phone-3fa9c2e1b0d4``. The same key gives the same pseudonym in every run and delivery (partners
  can join); another key gives unlinkable ones; without the key nobody can go back, not even by
  trying every Norwegian number (the hash is keyed). Kinds and what is hashed:

  * ``phone``: the number in E.164 (``+4741234567``);
  * ``person``: a directory owner by its ``owner_id``: one person is one ``person-…`` however the
    directory spells the name (``owner_id`` itself is an unkeyed hash of a name and an address, so it
    is replaced too);
  * ``name``: one spelling of a name (``name-…``): ``Kari Hansen`` and ``HANSEN KARI`` differ, spellings
    that differ only in spaces or Unicode composition do not (NFC, blanks collapsed);
  * ``address``: an address by its ``address_key``; an address *as written* gets the pseudonym of
    its key (so every spelling of one flat is one ``address-…``), or, where no key is known, its own;
  * ``ad``: an ad by its ``ad_key`` (``site:ad_id``), ``ad_id`` columns included;
  * ``adname``: an advertised name, whole (a keyed hash of the whole value cannot leak a number the
    name spells, unlike any replacement inside it);
  * ``photo`` (image keys), ``contact`` (Telegram handles), ``block`` (the 10,000-number block of a
    number series, a number's first digits).

  Typed keys keep their type: ``phone:+4741234567`` becomes ``phone:phone-3fa9c2e1b0d4`` and
  ``owner:O-…`` becomes ``owner:person-…``. Network ids, sites, cities, dates, counts, scores and
  kinds are kept. Two identifiers sharing a pseudonym (12 hex digits: about one chance in 500 at a
  million numbers) stop the build with :class:`PseudonymCollision` rather than merge two people.

Texts
  Evidence, explanations, reasons and notes are rewritten: every known identifier in them (from the
  shared tables and from the directory listings, owner variants, billing records and photos the
  texts quote) is replaced by its pseudonym. ``TextScrubber`` finds names, addresses (as written and
  as keys), owner ids, ad keys, image keys and ``@handles`` as literals (case-insensitive, at word
  boundaries, the longest first), and numbers in any common form (``+4741234567``, ``004741234567``,
  ``4741234567``, ``41234567``, ``412 34 567``, ``41 23 45 67``, ``412.34.567``, ``0047-41234567``, inside
  ``billing/4741234567_….csv``). A run of 8 or more digits that is not a known number (and not a
  date or a decimal) becomes ``[number]``, a URL ``[url]``. Advertised names are replaced only in
  red-flag evidence (the one text that quotes them, whole or cut with ``…``): elsewhere a name
  such as "Bergen" would eat the city. Texts are rewritten once per distinct value in Python; the
  tables are joined to the results in SQL.

Withheld
  Ad free text (titles, texts, raw lines, URLs, image lists, tours, contact objects, displayed phone
  strings) and postcodes become ``[withheld]`` (text columns) or NULL (lists, JSON): such text spells
  numbers in ways no replacement can be sure to catch. A column the registry does not classify is
  left out (and reported), never copied as it is.

The key
  From ``ADNET_PSEUDONYM_KEY`` only (:func:`key_from_env`), at least 16 characters. It is never
  written: SQL gets the two HMAC pads as parameters into a work table that is dropped with the
  identifier map before any writer runs. ``key_fingerprint`` (HMAC(key, "adnet key id"), 8 hex) says
  which key a delivery used without revealing it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from adnet_assets.lib.env_keys import checked_key
from adnet_assets.lib.red_flags import _clean as _red_flag_clean
from adnet_assets.lib.red_flags import _handle_sql as _telegram_handle_sql
from adnet_assets.lib.store import quote_ident, wait_for_lock

__all__ = ["KEY_ENV", "MIN_KEY_CHARS", "WITHHELD", "PseudonymKeyError", "PseudonymCollision", "Pseudonymiser",
           "Rule", "REGISTRY", "EXTRA_SOURCES", "EXPORT_TABLES", "TextScrubber", "SharedTables", "key_from_env",
           "key_fingerprint", "canonical", "build_pseudonymised_tables"]

KEY_ENV = "ADNET_PSEUDONYM_KEY"
MIN_KEY_CHARS = 16
HEX = 12
WITHHELD = "[withheld]"
NUMBER_MASK = "[number]"
URL_MASK = "[url]"
MAKE_KEY_HINT = (f"Make one with: python -c \"import secrets;print(secrets.token_hex(32))\", keep it in a password "
                 f"manager (the same key gives the same pseudonyms in every delivery), and `export {KEY_ENV}=<that "
                 f"key>` in the shell that runs adnet. Never store it in the data folder or send it with the files.")

# identifier kinds: the pseudonym's prefix, and the prefix of the hashed message
ID_KINDS = ("phone", "person", "name", "address", "ad", "adname", "photo", "contact", "block")
# typed keys (links.a, network_members.via) and member types: type -> identifier kind
TYPE_KINDS = {"phone": "phone", "ad": "ad", "owner": "person", "address": "address"}
KEPT_TYPES = ("network",)  # red_flags.entity_key of a network is its id: not personal
OTHER_KINDS = ("typed", "entity", "text", "withhold", "keep")

MIN_LITERAL = 3          # shorter names and spellings are not searched for in texts
MIN_NUMBER_DIGITS = 6    # shortest digit string looked up as a (national) number
MASK_DIGITS = 8          # an unknown run of this many digits is masked as [number]
MIN_CUT = 4              # red flags cut advertised names to max_chars (>= this) with "…"
_BATCH = 20_000


class PseudonymKeyError(ValueError):
    """``ADNET_PSEUDONYM_KEY`` is missing or unusable."""


class PseudonymCollision(RuntimeError):
    """Two different identifiers got the same pseudonym: sharing would merge them."""


# ------------------------------------------------------------------ the key

def key_from_env(environ: Mapping[str, str] | None = None) -> bytes:
    """The pseudonym key from ``ADNET_PSEUDONYM_KEY``; :class:`PseudonymKeyError` says how to make one."""
    environ = os.environ if environ is None else environ
    value = checked_key(KEY_ENV, environ.get(KEY_ENV), min_chars=MIN_KEY_CHARS, hint=MAKE_KEY_HINT,
                        error=PseudonymKeyError, missing="is not set: shared exports need a key to pseudonymise "
                                                         "phones, names and addresses.",
                        why_long="a short key can be guessed, and with it every pseudonym undone")
    return value.encode("utf-8")


def key_fingerprint(key: bytes) -> str:
    """8 hex digits naming the key (HMAC of a fixed label): which key a delivery used, not the key."""
    return hmac.new(key, b"adnet key id", hashlib.sha256).hexdigest()[:8]


def _pads(key: bytes) -> tuple[bytes, bytes]:
    """HMAC-SHA256's inner and outer padded keys (RFC 2104), so SQL can compute the same HMAC."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


# ------------------------------------------------------------------ canonical values

# what RE2's [\s\p{Z}] matches (the red flags' whitespace): ASCII blanks and the Unicode separators
_BLANKS = re.compile("[\t\n\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+")
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")


def canonical(kind: str, value: str | None) -> str | None:
    """The value that is hashed for ``kind``: a name NFC with single blanks, an advertised name as the
    red flags clean it, everything else as it is (phones are E.164, owners, addresses and ads keys)."""
    if value is None:
        return None
    if kind in ("name", "adname"):
        text = _BLANKS.sub(" ", _CONTROLS.sub("", value)).strip(" ")
        if kind == "name":
            text = unicodedata.normalize("NFC", text)
        return text or None
    return value


def _canonical_sql(kind: str, expr: str) -> str:
    """SQL of :func:`canonical` (the two must agree: a test checks them on awkward strings)."""
    if kind in ("name", "adname"):
        text = _red_flag_clean(expr, 10**9)  # the red flags' cleaning, never cut
        return f"nfc_normalize({text})" if kind == "name" else text
    return f"CAST({expr} AS VARCHAR)"


class Pseudonymiser:
    """``pseudonym(kind, value)``: ``<kind>-<first 12 hex of HMAC-SHA256(key, kind:canonical value)>``.

    The same function as the SQL the tables are built with; an analyst holding the key can use it to
    find a number or an owner in a partner's copy."""

    def __init__(self, key: bytes):
        if not isinstance(key, bytes) or not key:
            raise PseudonymKeyError("the pseudonym key must be non-empty bytes")
        self._key = key
        self.fingerprint = key_fingerprint(key)

    def pseudonym(self, kind: str, value: str | None) -> str | None:
        if kind not in ID_KINDS:
            raise ValueError(f"unknown identifier kind {kind!r}; one of {', '.join(ID_KINDS)}")
        value = canonical(kind, value)
        if value is None:
            return None
        digest = hmac.new(self._key, f"{kind}:{value}".encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
        return f"{kind}-{digest[:HEX]}"

    def __repr__(self) -> str:  # never the key
        return f"Pseudonymiser(key id {self.fingerprint})"


# ------------------------------------------------------------------ the registry

@dataclass(frozen=True)
class Rule:
    """How one column is shared.

    ``kind``: an identifier kind (hashed), ``typed`` (a typed key ``type:value``), ``entity`` (a key
    whose type is in the column ``via``), ``text`` (identifiers in it replaced), ``withhold`` or
    ``keep``. ``via``: for an identifier kind, the column whose value is hashed instead (``ad_id`` via
    ``ad_key``, an address as written via its ``address_key``). ``ad_names``: a text that quotes
    advertised names (red flags). ``sql``: for an extra source, the expression that extracts the value."""

    kind: str
    via: str | None = None
    ad_names: bool = False
    sql: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ID_KINDS + OTHER_KINDS:
            raise ValueError(f"unknown rule kind {self.kind!r}")
        if self.kind == "entity" and not self.via:
            raise ValueError("an entity rule names the column holding the type (via=)")


K, W, T = Rule("keep"), Rule("withhold"), Rule("text")
AD, PHONE, PERSON, NAME, ADDRESS = Rule("ad"), Rule("phone"), Rule("person"), Rule("name"), Rule("address")
AD_ID = Rule("ad", via="ad_key")
TYPED = Rule("typed")

#: table -> column -> rule, for every table an export reads (the workbook's tables are all of them)
REGISTRY: dict[str, dict[str, Rule]] = {
    "snapshots": {
        "window": K, "site": K, "snapshot_id": K, "status": K, "reason": T, "started_at": K, "finished_at": K,
        "manifest_ads": K, "manifest_sha256": K, "ads_sha256": K, "ads_bytes": K, "n_lines": K, "n_loaded": K,
        "n_quarantined": K},
    "ad_observations": {
        "window": K, "ad_key": AD, "site": K, "ad_id": AD_ID, "snapshot_id": K, "seen_at": K, "url": W,
        "country": K, "city": T, "title": W, "text": W, "name": Rule("adname"), "age": K, "phones_raw": W,
        "images": W, "tour": W, "contact": W, "problems": T, "source_file": T, "line_no": K, "raw_line": W},
    "quarantine": {
        "window": K, "level": K, "site": K, "snapshot_id": K, "source_file": T, "line_no": K, "reason": T,
        "raw_line": W},
    "ads": {
        "ad_key": AD, "site": K, "ad_id": AD_ID, "first_seen": K, "last_seen": K, "n_snapshots": K, "n_phones": K,
        "phones": PHONE, "country": K, "last_city": T, "n_cities": K, "last_name": Rule("adname"),
        "any_obfuscated": K},
    "phones": {
        "phone": PHONE, "country": K, "n_ads": K, "first_seen": K, "last_seen": K, "n_observations": K,
        "n_snapshots": K, "status": K, "number_type": K, "ever_obfuscated": K, "n_obfuscated": K, "raw_forms": W,
        "cities": T},
    "directory_matches": {
        "phone": PHONE, "owner_id": PERSON, "name": NAME, "address": Rule("address", via="address_key"),
        "address_key": ADDRESS, "address_generic": K, "postcode": W, "city": T, "listed_at": K, "listing_id": T,
        "visibility": K},
    "owners": {
        "owner_id": PERSON, "name": NAME, "n_phones": K, "n_listings": K, "variants": NAME, "address_keys": ADDRESS,
        "resolution": T},
    "addresses": {
        "address_key": ADDRESS, "address": Rule("address", via="address_key"), "variants": W, "postcode": W,
        "city": T, "kind": K, "generic": K, "reason": T, "n_owners": K, "n_phones": K},
    "series_groups": {
        "group_id": T, "phone": PHONE, "country": K, "block": Rule("block"), "n_in_group": K, "span": K,
        "block_seen": K, "expected_by_chance": K, "strength": K, "reason": T},
    "rotation_links": {
        "ad_key": AD, "phone_a": PHONE, "phone_b": PHONE, "n_snapshots": K, "n_snapshots_a": K, "n_snapshots_b": K,
        "first_seen": K, "last_seen": K, "n_switches": K, "together": K, "owners_differ": K, "snapshot_ids": K},
    "links": {
        "kind": K, "a": TYPED, "b": TYPED, "weight": K, "evidence": T, "a_type": K, "b_type": K, "source": T,
        "strength": K, "for_networks": K},
    "networks": {
        "network_id": K, "n_ads": K, "n_phones": K, "n_owners": K, "n_addresses": K, "first_seen": K,
        "last_seen": K, "cities": T, "owners": NAME, "strongest_evidence": T, "score": K},
    "network_members": {
        "network_id": K, "member_type": K, "member_key": Rule("entity", via="member_type"), "explanation": T,
        "via": TYPED, "link_kind": K, "weight": K},
    "network_travel": {
        "network_id": K, "from_city": T, "to_city": T, "from_city_key": T, "to_city_key": T, "n_moves": K,
        "n_ads": K, "first_move": K, "last_move": K},
    "network_movement": {
        "network_id": K, "n_ads": K, "n_ads_moved": K, "share_moved": K, "n_moves": K, "n_cities": K},
    "billing_counterparts": {
        "counterpart": PHONE, "n_subscribers": K, "n_events": K, "score": K, "rank": K, "role": K, "reason": T,
        "subscribers": PHONE, "subscriber_networks": K, "best_group": K, "group_size": K, "n_group_subscribers": K,
        "n_days": K, "n_days_possible": K, "n_contacts": K, "n_calls": K, "n_sms": K, "sms_share": K, "n_in": K,
        "n_out": K, "call_seconds": K, "regularity": K, "usual_times": K, "evening_share": K, "country": K,
        "foreign_number": K, "in_ads": K, "n_ads": K, "network_ids": K, "coverage": K, "persistence": K,
        "presence": K, "pattern_score": K, "first_event": K, "last_event": K},
    "billing_roaming": {
        "subscriber": PHONE, "home_country": K, "country": K, "period_no": K, "first_day": K, "last_day": K,
        "n_days": K, "span_days": K, "n_events": K, "networks": T, "source_files": T, "description": T},
    "red_flags": {
        "entity_type": K, "entity_key": Rule("entity", via="entity_type"), "flag": K, "category": K,
        "evidence": Rule("text", ad_names=True), "value": K, "source": K, "note": T},
}

#: every table the export writers read (a test checks the writers name no other)
EXPORT_TABLES: tuple[str, ...] = tuple(REGISTRY)

#: identifiers in tables that are not shared but that shared texts quote: found, never copied
EXTRA_SOURCES: dict[str, dict[str, Rule]] = {
    "directory_listings": {"phone": PHONE, "name": NAME, "name_norm": NAME, "address": ADDRESS},
    "directory_lookups": {"phone": PHONE},
    "owner_variants": {"owner_id": PERSON, "name": NAME, "name_norm": NAME, "matched_to": NAME,
                       "address_key": ADDRESS},
    "phone_strings": {"phone": PHONE},
    "billing_events": {"subscriber": PHONE, "counterpart": PHONE},
    "photos": {"image_key": Rule("photo"), "phash": Rule("photo")},
    "photo_links": {"image_a": Rule("photo"), "image_b": Rule("photo")},
    "ad_observations": {"contact": Rule("contact", sql=_telegram_handle_sql("{col}"))},
}

#: pairs kept in order after hashing (the contract's a < b, phone_a < phone_b): table -> (condition, swaps)
ORDERED_PAIRS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "links": ("a_type = b_type AND a > b", (("a", "b"), ("a_type", "b_type"))),
    "rotation_links": ("phone_a > phone_b", (("phone_a", "phone_b"), ("n_snapshots_a", "n_snapshots_b"))),
}


# ------------------------------------------------------------------ text scrubbing

_START = re.compile(r"(?<![^\W_])\S")                 # a character not preceded by a letter or digit
_RUN = re.compile(r"\+?\d(?:[ .\-]?\d)*+")            # digits with single blanks, dots or dashes between
_SEPARATOR = re.compile(r"([ .\-])")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DECIMAL = re.compile(r"\d+\.\d+")
_URL_START = ("http://", "https://", "www.")


def _alnum(ch: str) -> bool:
    return ch.isalnum()


class TextScrubber:
    """Replaces known identifiers in free text by their pseudonyms (see the module docstring).

    ``literals``: text form -> pseudonym (names, addresses, keys, ``@handles``); ``numbers``: E.164 ->
    pseudonym (looked up in every common form); ``plus_only``: ``+digits`` -> pseudonym for number
    prefixes (blocks) that are only recognised with their ``+``; ``ad_names``: forms of advertised names
    (whole and cut with ``…``), used only when ``scrub(text, ad_names=True)``."""

    def __init__(self, literals: Mapping[str, str], numbers: Mapping[str, str], *,
                 plus_only: Mapping[str, str] | None = None, ad_names: Mapping[str, str] | None = None):
        self._literals = _LiteralIndex(literals, fold=True)
        self._ad_names = _LiteralIndex(ad_names or {}, fold=False)
        self._e164: dict[str, str] = {}       # digits of the E.164 form -> pseudonym
        self._national: dict[str, str] = {}   # national significant number (and with trunk 0) -> pseudonym
        for e164, pseudo in sorted(numbers.items()):
            digits = e164.lstrip("+")
            self._e164.setdefault(digits, pseudo)
            for national in _national_forms(e164):
                self._national.setdefault(national, pseudo)
        self._plus_only = {k.lstrip("+"): v for k, v in (plus_only or {}).items()}

    def scrub(self, text: str, *, ad_names: bool = False) -> str:
        if not text:
            return text
        low = text.lower()
        if len(low) != len(text):  # a few characters change length when lowered: match case-sensitively
            low = None
        pieces: list[str] = []
        last = skip = 0
        for m in _START.finditer(text):
            start = m.start()
            if start < skip:
                continue
            hit = self._match(text, low, start, ad_names)
            if hit is None:
                continue
            end, replacement = hit
            skip = end
            if replacement is not None:  # None: a number left as it is (not re-read from its middle)
                pieces += [text[last:start], replacement]
                last = end
        if not pieces:
            return text
        pieces.append(text[last:])
        return "".join(pieces)

    def _match(self, text: str, low: str | None, start: int, ad_names: bool) -> tuple[int, str | None] | None:
        folded = low if low is not None else text
        if folded.startswith(_URL_START, start):
            end = start
            while end < len(text) and not text[end].isspace():
                end += 1
            return end, URL_MASK
        hit = self._literals.match(text, low, start)
        if hit is None and ad_names:
            hit = self._ad_names.match(text, None, start)
        if hit is not None:
            return hit
        run = _RUN.match(text, start)
        if run is None or (run.end() < len(text) and _alnum(text[run.end()])):
            return None  # no number here, or digits running into letters (a hash, 2026-06-01T0614Z)
        return run.end(), self._number(run.group())

    def _lookup(self, candidate: str) -> str | None:
        plus = candidate.startswith("+")
        digits = candidate.lstrip("+")
        if len(digits) < MIN_NUMBER_DIGITS:
            return None
        if plus:
            return self._e164.get(digits) or self._plus_only.get(digits)
        if digits.startswith("00"):
            found = self._e164.get(digits[2:])
            if found:
                return found
        return self._e164.get(digits) or self._national.get(digits)

    def _number(self, run: str) -> str | None:
        """The run with known numbers replaced (joining its digit groups as needed) and unknown long
        numbers masked; None when nothing changes."""
        parts = _SEPARATOR.split(run)
        if sum(len(g) for g in parts[0::2]) < min(MIN_NUMBER_DIGITS, MASK_DIGITS) + ("+" in run):
            return None  # too short to be a number we know, or to mask
        groups, seps = parts[0::2], parts[1::2] + [""]
        out: list[tuple[str, bool, str]] = []  # (text, known, separator after)
        i = 0
        while i < len(groups):
            for j in range(len(groups) - 1, i - 1, -1):
                written = "".join(groups[k] + seps[k] for k in range(i, j)) + groups[j]
                found = None if _DATE.fullmatch(written) else self._lookup("".join(groups[i:j + 1]))
                if found:
                    out.append((found, True, seps[j]))
                    i = j + 1
                    break
            else:
                out.append((groups[i], False, seps[i]))
                i += 1
        out = _mask_unknown(out)
        result = "".join(text + sep for text, _, sep in out)
        return None if result == run else result


def _mask_unknown(tokens: list[tuple[str, bool, str]]) -> list[tuple[str, bool, str]]:
    """Mask unknown long numbers in a run's tokens ``(text, known, separator after)``.

    Unknown digit groups joined by dots or dashes form a segment; segments joined by blanks form a
    chain; a known number, a date or a decimal ends a chain. A chain of 8+ digits becomes one
    ``[number]``: "41 23 45 67" is masked, "2026-06-22 23" (a date and an hour) is not."""
    segments: list[list[int] | None] = []   # token indexes; None: a known number
    current: list[int] = []
    for i, (_, known, sep) in enumerate(tokens):
        if known:
            if current:
                segments.append(current)
                current = []
            segments.append(None)
            continue
        current.append(i)
        if sep not in (".", "-"):
            segments.append(current)
            current = []
    if current:
        segments.append(current)
    chains: list[list[int]] = []
    chain: list[int] = []
    for seg in segments:
        text = "" if seg is None else "".join(tokens[k][0] + (tokens[k][2] if k != seg[-1] else "") for k in seg)
        if seg is None or _DATE.fullmatch(text) or _DECIMAL.fullmatch(text):
            if chain:
                chains.append(chain)
            chain = []
            continue
        chain += seg
    if chain:
        chains.append(chain)
    drop: set[int] = set()
    for chain in chains:
        if sum(len(tokens[k][0].lstrip("+")) for k in chain) >= MASK_DIGITS:
            tokens[chain[0]] = (NUMBER_MASK, True, tokens[chain[-1]][2])
            drop.update(chain[1:])
    return [t for k, t in enumerate(tokens) if k not in drop]


class _LiteralIndex:
    """Literal forms found by their first three characters (lower-cased when folding) and their
    lengths, longest first."""

    def __init__(self, forms: Mapping[str, str], *, fold: bool):
        self.fold = fold
        self.exact: dict[str, str] = {}
        self.folded: dict[str, str] = {}
        lengths: dict[str, set[int]] = defaultdict(set)
        for form, pseudo in sorted(forms.items()):
            if len(form) < MIN_LITERAL:
                continue
            self.exact.setdefault(form, pseudo)
            low = form.lower()
            if fold and len(low) == len(form):
                self.folded.setdefault(low, pseudo)
                lengths[low[:3]].add(len(form))
            else:
                lengths[form[:3]].add(len(form))
        self.lengths = {k: sorted(v, reverse=True) for k, v in lengths.items()}

    def match(self, text: str, low: str | None, start: int) -> tuple[int, str] | None:
        if not self.lengths:
            return None
        sizes = self.lengths.get(text[start:start + 3], ())
        if self.fold and low is not None:
            extra = self.lengths.get(low[start:start + 3], ())
            sizes = sorted({*sizes, *extra}, reverse=True) if sizes and extra else (sizes or extra)
        for size in sizes:
            end = start + size
            if end > len(text):
                continue
            if end < len(text) and _alnum(text[end]) and _alnum(text[end - 1]):
                continue  # "Ola" inside "Olav"
            found = self.exact.get(text[start:end])
            if found is None and self.fold and low is not None:
                found = self.folded.get(low[start:end])
            if found is not None:
                return end, found
        return None


def _national_forms(e164: str) -> list[str]:
    """How a number may be written inside its country: its national significant number, with the trunk 0."""
    import phonenumbers

    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return []
    national = phonenumbers.national_significant_number(number)
    return [national, "0" + national] if national else []


# ------------------------------------------------------------------ building the shared tables

@dataclass
class SharedTables:
    """What ``build_pseudonymised_tables`` made: rows per table, identifiers by kind, texts rewritten,
    columns left out because the registry does not classify them, and the key's fingerprint."""

    key_id: str
    tables: dict[str, int] = field(default_factory=dict)
    identifiers: dict[str, int] = field(default_factory=dict)
    texts_rewritten: int = 0
    left_out: dict[str, list[str]] = field(default_factory=dict)


_SRC = "adnet_source"
_WORK = "adnet_pseudonym_work"


def _attach(con: duckdb.DuckDBPyConnection, source_db: Path, source_key: str | None, lock_timeout_s: float) -> None:
    options = "READ_ONLY" if source_key is None else "ENCRYPTION_KEY ?, READ_ONLY"
    params = [str(source_db)] + ([] if source_key is None else [source_key])
    wait_for_lock(lambda: con.execute(f"ATTACH ? AS {_SRC} ({options})", params), source_db, key=source_key,
                  lock_timeout_s=lock_timeout_s, then="share again")


def _source_columns(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    """table -> column -> DuckDB type, in column order, of the attached source's main schema."""
    rows = con.execute(f"""SELECT table_name, column_name, data_type FROM information_schema.columns
                           WHERE table_catalog = '{_SRC}' AND table_schema = 'main'
                           ORDER BY table_name, ordinal_position""").fetchall()
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for table, column, dtype in rows:
        out[table][column] = dtype
    return dict(out)


def _is_list(dtype: str) -> bool:
    return dtype.endswith("[]")


def _pseudo(kind_sql: str, value_sql: str) -> str:
    return f"{_WORK}.pseudo({kind_sql}, {value_sql}, k.i, k.o)"


def _id_expr(kind: str, expr: str) -> str:
    return _pseudo(f"'{kind}'", _canonical_sql(kind, expr))


def _typed_kind_sql(type_sql: str) -> str:
    cases = " ".join(f"WHEN '{t}' THEN '{k}'" for t, k in TYPE_KINDS.items())
    return f"(CASE {type_sql} {cases} END)"


def _typed_expr(col: str) -> str:
    prefix = f"split_part({col}, ':', 1)"
    value = f"substr({col}, strpos({col}, ':') + 1)"
    known = ", ".join(f"'{t}'" for t in TYPE_KINDS)
    return (f"CASE WHEN {col} IS NULL THEN NULL WHEN {prefix} IN ({known}) AND strpos({col}, ':') > 0 "
            f"THEN {prefix} || ':' || {_pseudo(_typed_kind_sql(prefix), value)} ELSE '{WITHHELD}' END")


def _entity_expr(col: str, type_col: str) -> str:
    known = ", ".join(f"'{t}'" for t in TYPE_KINDS)
    kept = ", ".join(f"'{t}'" for t in KEPT_TYPES)
    return (f"CASE WHEN {col} IS NULL THEN NULL WHEN {type_col} IN ({known}) "
            f"THEN {_pseudo(_typed_kind_sql(type_col), col)} WHEN {type_col} IN ({kept}) THEN {col} "
            f"ELSE '{WITHHELD}' END")


def _withheld(col: str, dtype: str) -> str:
    if dtype == "VARCHAR":
        return f"CASE WHEN {col} IS NULL THEN NULL ELSE '{WITHHELD}' END"
    return f"CAST(NULL AS {dtype})"


def _identifier_sources(columns: dict[str, dict[str, str]]) -> list[str]:
    """SELECTs of (kind, form, value, priority): every identifier the shared tables hold or their texts quote."""
    selects: list[str] = []

    def add(kind: str, form: str, value: str, table: str, prio: int, unnest_col: str | None = None) -> None:
        src = f"{_SRC}.main.{quote_ident(table)}"
        if unnest_col is not None:
            selects.append(f"SELECT '{kind}' AS kind, x AS form, x AS value, {prio} AS prio "
                           f"FROM (SELECT unnest({quote_ident(unnest_col)}) AS x FROM {src})")
        else:
            selects.append(f"SELECT '{kind}' AS kind, CAST({form} AS VARCHAR) AS form, CAST({value} AS VARCHAR) AS value, "
                           f"{prio} AS prio FROM {src}")

    for registry in (REGISTRY, EXTRA_SOURCES):
        for table, rules in registry.items():
            have = columns.get(table, {})
            for col, rule in rules.items():
                if col not in have or (rule.via and rule.via not in have):
                    continue
                qc = quote_ident(col)
                if rule.sql is not None:
                    expr = rule.sql.replace("{col}", qc)
                    add(rule.kind, expr, expr, table, 1)
                elif rule.kind in ID_KINDS and rule.via:
                    add(rule.kind, qc, quote_ident(rule.via), table, 0)
                elif rule.kind in ID_KINDS:
                    if _is_list(have[col]):
                        add(rule.kind, "", "", table, 1, unnest_col=col)
                    else:
                        add(rule.kind, qc, qc, table, 1)
                elif rule.kind == "typed":
                    for t, kind in TYPE_KINDS.items():
                        value = f"substr({qc}, {len(t) + 2})"
                        selects.append(f"SELECT '{kind}', {value}, {value}, 1 FROM {_SRC}.main.{quote_ident(table)} "
                                       f"WHERE starts_with({qc}, '{t}:')")
                elif rule.kind == "entity":
                    for t, kind in TYPE_KINDS.items():
                        selects.append(f"SELECT '{kind}', {qc}, {qc}, 1 FROM {_SRC}.main.{quote_ident(table)} "
                                       f"WHERE {quote_ident(rule.via)} = '{t}'")
    return selects


def _build_identifiers(con: duckdb.DuckDBPyConnection, columns: dict[str, dict[str, str]]) -> dict[str, int]:
    selects = _identifier_sources(columns)
    if not selects:
        con.execute(f"CREATE TABLE {_WORK}.ids (kind VARCHAR, form VARCHAR, canonical VARCHAR, prio INTEGER, "
                    f"pseudonym VARCHAR)")
        return {}
    canon = "CASE kind " + " ".join(f"WHEN '{k}' THEN {_canonical_sql(k, 'value')}" for k in ID_KINDS) + " END"
    con.execute(f"""
        CREATE TABLE {_WORK}.ids AS
        SELECT kind, form, canonical, prio, {_pseudo('kind', 'canonical')} AS pseudonym
        FROM (SELECT DISTINCT kind, form, {canon} AS canonical, prio
              FROM ({' UNION ALL '.join(selects)}) WHERE form IS NOT NULL AND value IS NOT NULL),
             {_WORK}.key AS k
        WHERE canonical IS NOT NULL""")
    clash = con.execute(f"""SELECT kind, pseudonym, count(DISTINCT canonical) FROM {_WORK}.ids
                            GROUP BY ALL HAVING count(DISTINCT canonical) > 1 ORDER BY ALL LIMIT 1""").fetchall()
    if clash:
        kind, pseudo, n = clash[0]
        raise PseudonymCollision(
            f"{n} different {kind} identifiers share the pseudonym {pseudo}: sharing would merge them. This is "
            f"rare chance ({HEX} hex digits); make a new key ({KEY_ENV}) for this delivery.")
    return dict(con.execute(f"SELECT kind, count(DISTINCT canonical) FROM {_WORK}.ids GROUP BY 1 ORDER BY 1").fetchall())


def _scrubber(con: duckdb.DuckDBPyConnection) -> TextScrubber:
    """The text scrubber over every identifier in ``ids``: forms as found, canonical forms, ``@handles``,
    number forms, and advertised names whole and cut as the red flags cut them."""
    literals: dict[str, str] = {}
    numbers: dict[str, str] = {}
    plus_only: dict[str, str] = {}
    rows = con.execute(f"""SELECT kind, form, canonical, pseudonym FROM {_WORK}.ids
                           WHERE kind NOT IN ('adname') ORDER BY prio, kind, form, canonical""").fetchall()
    for kind, form, canon, pseudo in rows:  # best priority first: a written address keeps its key's pseudonym
        if kind == "phone":
            numbers.setdefault(canon, pseudo)
        elif kind == "block":
            plus_only.setdefault(canon, pseudo)
        elif kind == "contact":
            literals.setdefault("@" + canon, pseudo)
        else:
            literals.setdefault(form, pseudo)
            literals.setdefault(canon, pseudo)
    longest = con.execute(f"SELECT coalesce(max(length(canonical)), 0) FROM {_WORK}.ids "
                          f"WHERE kind = 'adname'").fetchall()[0][0]
    ad_names = dict(con.execute(f"""
        WITH n AS (SELECT DISTINCT canonical AS c, pseudonym FROM {_WORK}.ids WHERE kind = 'adname')
        SELECT c, pseudonym FROM n
        UNION ALL  -- cut as the red flags cut a name longer than their max_chars m
        SELECT left(c, m - 1) || '…', pseudonym FROM n, range({MIN_CUT}, {int(longest) + 1}) AS r(m)
        WHERE length(c) > m
        ORDER BY 1 DESC, 2 DESC""").fetchall())
    return TextScrubber(literals, numbers, plus_only=plus_only, ad_names=ad_names)


def _text_columns(columns: dict[str, dict[str, str]]) -> list[tuple[str, str, bool, bool]]:
    """(table, column, is a list, quotes advertised names) of every shared text column present."""
    out = []
    for table, rules in REGISTRY.items():
        have = columns.get(table, {})
        for col, rule in rules.items():
            if rule.kind == "text" and col in have:
                out.append((table, col, _is_list(have[col]), rule.ad_names))
    return out


def _build_texts(con: duckdb.DuckDBPyConnection, scrubber: TextScrubber,
                 text_cols: list[tuple[str, str, bool, bool]]) -> int:
    import pandas as pd

    con.execute(f"CREATE TABLE {_WORK}.texts (original VARCHAR, ad_names BOOLEAN, scrubbed VARCHAR)")
    if not text_cols:
        return 0
    selects = []
    for table, col, is_list, names in text_cols:
        value = f"unnest({quote_ident(col)})" if is_list else quote_ident(col)
        selects.append(f"SELECT CAST({value} AS VARCHAR) AS original, {str(names).lower()} AS ad_names "
                       f"FROM {_SRC}.main.{quote_ident(table)}")
    con.execute(f"""CREATE TABLE {_WORK}.text_in AS SELECT DISTINCT original, ad_names
                    FROM ({' UNION ALL '.join(selects)}) WHERE original IS NOT NULL AND original <> ''""")
    reader = con.cursor()  # a second connection to the same database: reads while this one inserts
    try:
        reader.execute(f"SELECT original, ad_names FROM {_WORK}.text_in")
        changed = 0
        while batch := reader.fetchmany(_BATCH):
            rows = [(text, names, new) for text, names in batch
                    if (new := scrubber.scrub(text, ad_names=names)) != text]
            if rows:
                frame = pd.DataFrame(rows, columns=["original", "ad_names", "scrubbed"], dtype=object)
                con.register("adnet_scrubbed_batch", frame)
                try:
                    con.execute(f"INSERT INTO {_WORK}.texts SELECT CAST(original AS VARCHAR), "
                                f"CAST(ad_names AS BOOLEAN), CAST(scrubbed AS VARCHAR) FROM adnet_scrubbed_batch")
                finally:
                    con.unregister("adnet_scrubbed_batch")
                changed += len(rows)
    finally:
        reader.close()
    return changed


def _select_table(table: str, have: dict[str, str]) -> tuple[str, list[str]]:
    """The SELECT building one shared table from the source, and the columns it leaves out."""
    rules = REGISTRY[table]
    exprs: list[str] = []
    joins: list[str] = []
    left_out: list[str] = []
    src = f"{_SRC}.main.{quote_ident(table)}"
    for col, dtype in have.items():
        rule = rules.get(col)
        c = f"s.{quote_ident(col)}"
        if rule is None:
            left_out.append(col)
            continue
        if rule.kind == "keep":
            expr = c
        elif rule.kind == "withhold":
            expr = _withheld(c, dtype)
        elif rule.kind in ID_KINDS and rule.via:
            if rule.via not in have:
                expr = _withheld(c, dtype)
            else:
                expr = (f"CASE WHEN s.{quote_ident(rule.via)} IS NULL THEN {_withheld(c, dtype)} "
                        f"ELSE {_id_expr(rule.kind, f's.{quote_ident(rule.via)}')} END")
        elif rule.kind in ID_KINDS:
            expr = (f"list_transform({c}, lambda x: {_id_expr(rule.kind, 'x')})" if _is_list(dtype)
                    else _id_expr(rule.kind, c))
        elif rule.kind == "typed":
            expr = _typed_expr(c)
        elif rule.kind == "entity":
            expr = _entity_expr(c, f"s.{quote_ident(rule.via)}") if rule.via in have else _withheld(c, dtype)
        else:  # text
            alias = f"t{len(joins)}"
            names = str(rule.ad_names).lower()
            if _is_list(dtype):
                joins.append(f"""LEFT JOIN (SELECT e.rid, list(coalesce(m.scrubbed, e.x) ORDER BY e.i) AS v
                    FROM (SELECT rowid AS rid, unnest({quote_ident(col)}) AS x, unnest(range(1, len({quote_ident(col)}) + 1)) AS i
                          FROM {src}) AS e
                    LEFT JOIN {_WORK}.texts AS m ON m.original = e.x AND m.ad_names = {names}
                    GROUP BY e.rid) AS {alias} ON {alias}.rid = s.rowid""")
                expr = f"CASE WHEN {c} IS NULL OR len({c}) = 0 THEN {c} ELSE {alias}.v END"
            else:
                joins.append(f"LEFT JOIN {_WORK}.texts AS {alias} ON {alias}.original = CAST({c} AS VARCHAR) "
                             f"AND {alias}.ad_names = {names}")
                expr = f"coalesce({alias}.scrubbed, {c})"
        exprs.append(f"{expr} AS {quote_ident(col)}")
    if not exprs:
        return "", left_out
    sql = (f"SELECT {', '.join(exprs)} FROM {src} AS s CROSS JOIN {_WORK}.key AS k "
           f"{' '.join(joins)} ORDER BY s.rowid")
    return sql, left_out


def _order_pairs(con: duckdb.DuckDBPyConnection, table: str, have: Iterable[str]) -> None:
    if table not in ORDERED_PAIRS:
        return
    condition, swaps = ORDERED_PAIRS[table]
    have = set(have)
    if not all(a in have and b in have for a, b in swaps):
        return
    sets = ", ".join(f"{quote_ident(a)} = {quote_ident(b)}, {quote_ident(b)} = {quote_ident(a)}" for a, b in swaps)
    con.execute(f"UPDATE main.{quote_ident(table)} SET {sets} WHERE {condition}")


def build_pseudonymised_tables(source_db: Path, key: bytes, con: duckdb.DuckDBPyConnection, *,
                               source_key: str | None = None, lock_timeout_s: float = 600.0) -> SharedTables:
    """Create every registered table of ``source_db`` in ``con``'s main schema, pseudonymised.

    ``con`` is a fresh in-memory connection (its ``temp_directory`` inside the data folder): the
    export writers then read the shared tables from it by their usual names. ``source_db`` is
    ATTACHed read-only (with ``source_key`` when the database is encrypted) and DETACHed again; the
    key's pads and the identifier map live in a work schema that is dropped before returning."""
    pseudonymiser = Pseudonymiser(key)  # checks the key
    report = SharedTables(key_id=pseudonymiser.fingerprint)
    source_db = Path(source_db)
    if not source_db.is_file():
        raise FileNotFoundError(f"{source_db}: no database to share; run `adnet run` first")
    _attach(con, source_db, source_key, lock_timeout_s)
    try:
        con.execute(f"CREATE SCHEMA {_WORK}")
        ipad, opad = _pads(key)
        con.execute(f"CREATE TABLE {_WORK}.key AS SELECT CAST(? AS BLOB) AS i, CAST(? AS BLOB) AS o", [ipad, opad])
        con.execute(f"""CREATE MACRO {_WORK}.pseudo(kind, v, i, o) AS
                        CASE WHEN v IS NULL THEN NULL
                             ELSE kind || '-' || left(sha256(o || unhex(sha256(i || encode(kind || ':' || v)))), {HEX})
                        END""")
        columns = _source_columns(con)
        report.identifiers = _build_identifiers(con, columns)
        scrubber = _scrubber(con)
        report.texts_rewritten = _build_texts(con, scrubber, _text_columns(columns))
        for table in REGISTRY:
            if table not in columns:
                continue
            sql, left_out = _select_table(table, columns[table])
            if left_out:
                report.left_out[table] = left_out
            if not sql:
                continue
            con.execute(f"DROP TABLE IF EXISTS main.{quote_ident(table)}")
            con.execute(f"CREATE TABLE main.{quote_ident(table)} AS {sql}")
            _order_pairs(con, table, columns[table])
            report.tables[table] = con.execute(f"SELECT count(*) FROM main.{quote_ident(table)}").fetchall()[0][0]
    finally:
        con.execute(f"DROP SCHEMA IF EXISTS {_WORK} CASCADE")
        con.execute(f"DETACH DATABASE IF EXISTS {_SRC}")
    return report
