"""Addresses in the phone directory: one key per place, and whether the place can link people.

A directory writes one flat in many ways ("Storgata 12 B, H0201", "STORGATA 12B", "Storgt. 12 b",
"Storgata 12B, leil. 201") and one shopping centre in as many ("Storsenteret, Torget 1",
"Torget 1 (Storsenteret)", "STORSENTERET TORGET 1"). Networks register phones at such public
places on purpose: strangers share them. This module gives every spelling of one place the same
``address_key`` and classifies each key as *private* (people registered there may be linked) or
*generic* (never links anybody).

The key
-------
``normalise_address`` folds case and diacritics (ø→o, æ→ae, å→a, ö→o, ä→a, ü→u, é→e, any other
accent dropped; then the transliterations "oe", "aa", "ae", "ue" are collapsed so "Bjoerkeveien" =
"Bjørkeveien" and "Aasveien" = "Åsveien"), cuts the text into segments at commas, semicolons and
parentheses, and reads:

* the **street segment**: the first segment with words followed by a house number. Its street
  words get a canonical ending ("gate", "gata", "gaten", "gatan", "gt", "g." → "gata"; "veien",
  "vei", "vegen", "veg", "vn", "v." → "vei"; "alléen" → "alle"), the number keeps its letter
  ("12 B" = "12B" = "12b" → "12b");
* a **unit** (flat) anywhere after the number or in its own segment: Norwegian H/U/K/L-numbers
  ("H0201", "h0201", "leil. 201", "Leilighet H0201" → "h0201"), Swedish "lgh 1201", Danish
  "2. tv", Finnish "as. 12";
* a **postcode** (the ``postcode`` argument, else a "0150 Oslo" segment); the city is used only
  when there is no postcode;
* everything else is the **place name** ("Storsenteret", "Telebutikken", "c/o Hansen", "Firma AS"),
  including words *before* the street that name a shop or centre ("STORSENTERET TORGET 1"). Words
  before the street that do not look like a place stay part of the street ("Karl Johans gate").

Over a whole directory (``resolve_place_prefixes``), words written before the street without a
comma ("RING & SURF MARKENS GATE 30") are moved to the place name when another spelling of the
same number and postcode names exactly that place apart ("Markens gate 30 (Ring & Surf)").

``address_key`` = street + number + letter + (postcode, or city when there is no postcode), for
example ``"storgata 12b, 0150"``. A post office box is ``"postboks 123, 0150"``; an address with
no house number is its folded words plus postcode.

**Why the unit is not in the key.** The directory drops the flat number in about half of its
spellings of one flat ("STORGATA 12B" next to "Storgata 12 B, H0201"). With the unit in the key
those would be two places and every link through the flat would be lost. So the key is the
building entrance; the unit is returned separately (``AddressParts.unit``) and used by owner
resolution to *confirm, never to split*: two spellings with different units (H0201 / H0302) are
different flats and do not join on the address, a spelling without a unit joins either
(``adnet_assets.lib.owners``). The place name is not in the key either: "Torget 1 (Storsenteret)"
and "Torget 1" are one building.

Kinds
-----
For each key, from all its spellings, the first that applies:

``po_box``           a post office box ("Postboks", "Boks", "PB", "Postbox", "Box" + number)
``phone_shop``       a place name of an operator or phone/electronics shop (Telenor, Telia, Ice,
                     Talkmore, Elkjøp, Power, Telebutikken, "Phone House", any word starting with
                     "mobil" such as "MobilXpress", "Mobilsenteret")
``shopping_centre``  a place name with senter/senteret/storsenter/kjøpesenter/center/centre/
                     galleri/gallerian/arkaden/AMFI/"City Syd"/"Oslo City"/köpcentrum/mall
``business``         "c/o", or a place name ending in a company form (AS, ASA, ANS, DA, AB, ApS,
                     Oy, Ltd, GmbH, Inc, NUF)
``shared_by_many``   more than ``max_owners_private`` unrelated names registered there (below)
``private``          none of these

``generic`` = kind != private. Keywords are matched on the place name only, never on the street:
"Senterveien 3" is a street, not a centre.

``n_owners`` and ``n_phones`` count distinct *folded names* and distinct phones among the public
listings at the key: the addresses step runs before owner resolution, so n_owners counts spellings
(an upper bound of the owners there: "KARI HANSEN" and "Kari Hansen" fold to one, "K. Hansen"
does not).

Only public listings are read (reserved/hidden ones carry no name or address). Work in Python is
done once per distinct (address, postcode, city) triple and joined back in SQL.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import duckdb
import pandas as pd

from adnet_assets.lib.store import replace_table
from adnet_assets.schema import ADDRESSES

__all__ = [
    "AddressParams",
    "AddressParts",
    "KINDS",
    "build_addresses",
    "classify_addresses",
    "fold_text",
    "keyed_listings",
    "normalise_address",
    "parse_address",
    "place_kind",
    "resolve_place_prefixes",
    "skeleton",
    "temp_table",
]

KINDS = ("private", "shopping_centre", "phone_shop", "po_box", "business", "shared_by_many")


@dataclass(frozen=True)
class AddressParams:
    """How addresses are classified.

    ``max_owners_private`` (4): a place where more than this many *unrelated* names are registered
    is treated as generic (``shared_by_many``). Names count as related (one group) when they share
    a name word of three letters or more (a family's surname, spellings of one person) or a phone.
    Four is the size of a large household or a shared student flat; five or more unrelated adults
    each registering phones at one door is what a shop, a care-of address or a mail drop looks
    like, and the demo's shopping centres and phone shops carry six or seven. The cost of the
    rule is that a genuine shared flat of five strangers links nobody: a missed link, which the
    method prefers to a false one. Lower it for sparse directories, raise it for buildings
    without flat numbers.
    """

    max_owners_private: int = 4


# ----------------------------------------------------------------------------------- folding

_CHAR_MAP = str.maketrans({
    "ø": "o", "æ": "ae", "å": "a", "ö": "o", "ä": "a", "ü": "u", "é": "e", "ß": "ss", "ł": "l",
    "đ": "d", "ð": "d", "þ": "th", "œ": "oe", "ı": "i",
})


def fold_text(text: object) -> str:
    """Lower case with diacritics folded (ø→o, æ→ae, å→a, ö→o, ä→a, ü→u, é→e, other accents
    dropped). Punctuation and spacing are kept; callers tokenise."""
    if text is None:
        return ""
    s = unicodedata.normalize("NFC", str(text)).lower().translate(_CHAR_MAP)
    s = unicodedata.normalize("NFKD", s)
    return "".join(ch for ch in s if not unicodedata.combining(ch))


_SKELETON_RE = re.compile(r"aa|ae|oe|ue")
_SKELETON_MAP = {"aa": "a", "ae": "a", "oe": "o", "ue": "u"}


def skeleton(token: str) -> str:
    """Collapse the ASCII transliterations of Nordic/German letters: "soerensen" = "sorensen",
    "aasen" = "asen", "saether" = "sather" (æ is written "ae" or "a"), "mueller" = "muller"."""
    return _SKELETON_RE.sub(lambda m: _SKELETON_MAP[m.group(0)], token)


# ---------------------------------------------------------------------------------- parsing

@dataclass(frozen=True)
class AddressParts:
    key: str | None          # street + number + letter + postcode (or city): equal for one building
    street: str              # canonical street words ("storgata"), "postboks" for a PO box
    number: str              # house number ("12", "12-14"), "" when none
    letter: str              # house letter ("b"), "" when none
    unit: str                # flat ("h0201", "lgh1201", "2tv"), "" when none
    postcode: str            # digits only, "" when none
    city: str                # folded city, "" when none
    place: str               # place-name words (shop, centre, company, c/o), "" when none
    po_box: bool = False
    care_of: bool = False


_CARE_OF_RE = re.compile(r"\bc\s*/\s*o\b\.?")
_PO_BOX_RE = re.compile(
    r"\b(?:postboks|postbox|post\s+box|postfach|p\.?\s*o\.?\s*box|pob|boks|box|p\.?\s*b\.?)\s*(?:nr\.?\s*)?(\d+)\b")
_SEGMENT_RE = re.compile(r"[,;()\[\]{}]|\s[-–]\s")
_TOKEN_RE = re.compile(r"[a-z0-9]+(?:-\d+)?\.?")
_NUMBER_RE = re.compile(r"^(\d+(?:-\d+)?)([a-z]?)$")
_POSTCODE_SEG_RE = re.compile(r"^(\d{3}\s?\d{2}|\d{3,5})(?:\s+[a-z][a-z .-]*)?$")

# street-type endings, longest first; dotted abbreviations only when written with a dot
_SUFFIXES = (
    ("gatan", "gata"), ("gaten", "gata"), ("gata", "gata"), ("gate", "gata"), ("gt", "gata"),
    ("veien", "vei"), ("vegen", "vei"), ("vei", "vei"), ("veg", "vei"), ("vn", "vei"),
    ("alleen", "alle"),
)
_DOTTED_SUFFIXES = (("g", "gata"), ("v", "vei"))
_STREET_WORDS = {"gata", "vei", "alle", "plass", "vej", "gade", "vag", "tie", "katu", "torg", "bakke", "stien"}

_UNIT_PATTERNS = (
    (re.compile(r"(?:(?:leil|leilighet|leiligheit|leilh|bolig|bruksenhet|hnr)\s*)?([hulk])\s?(\d{4})"),
     lambda m: f"{m.group(1)}{m.group(2)}"),
    (re.compile(r"(?:leil|leilighet|leiligheit|leilh|bolig)\s*(?:nr\s*)?(\d{1,4})"),
     lambda m: f"h{int(m.group(1)):04d}"),
    (re.compile(r"(?:lgh|lagenhet)\s*(?:nr\s*)?(\d{1,5})"), lambda m: f"lgh{m.group(1)}"),
    (re.compile(r"(\d{1,2}|st|kl|kld)\s*(tv|th|mf|\d{1,2})"), lambda m: f"{m.group(1)}{m.group(2)}"),
    (re.compile(r"(?:as|asunto)\s*(\d{1,4})"), lambda m: f"as{m.group(1)}"),
    (re.compile(r"(?:apt|apartment|flat|unit|leil|lgh)\s*(?:nr\s*)?([a-z0-9]{1,6})"), lambda m: m.group(1)),
)

# place-name words (matched on folded tokens of the place name, never on the street)
_PHONE_SHOP_WORDS = {"telenor", "telia", "ice", "talkmore", "chilimobil", "mycall", "onecall", "elkjop",
                     "power", "expert", "lefdal", "komplett", "telekiosk", "telehuset", "teleshop", "phonehouse",
                     "tele2", "gsm"}
_PHONE_SHOP_PREFIXES = ("telebutikk", "mobil", "mobile", "telefonbutikk", "mobilbutikk")
_PHONE_SHOP_PHRASES = ("phone house", "phone shop", "mobile shop", "tele butikk")
_CENTRE_INFIXES = ("senter", "sentret", "center", "centre", "centret", "galleri", "kopcentrum", "kauppakeskus")
_CENTRE_WORDS = {"amfi", "arkaden", "mall", "storsenter", "kjopesenter"}
_CENTRE_PHRASES = ("city syd", "oslo city", "bergen storsenter", "sandvika storsenter", "shopping")
_COMPANY_FORMS = {"as", "asa", "ans", "da", "ab", "aps", "oy", "oyj", "ltd", "gmbh", "inc", "llc", "nuf", "ba", "sa"}


def _canonical_street_token(tok: str, dotted: bool) -> str:
    for suffix, canon in _SUFFIXES:
        if tok.endswith(suffix):
            return tok[: -len(suffix)] + canon
    if dotted:
        for suffix, canon in _DOTTED_SUFFIXES:
            if tok.endswith(suffix):
                return tok[: -len(suffix)] + canon
    return tok


def _tokens(segment: str) -> list[tuple[str, bool]]:
    return [(t.rstrip("."), t.endswith(".")) for t in _TOKEN_RE.findall(segment)]


def _parse_unit(tokens: list[str]) -> str | None:
    if not tokens:
        return None
    s = " ".join(tokens)
    for pattern, make in _UNIT_PATTERNS:
        m = pattern.fullmatch(s)
        if m:
            return make(m)
    return None


def _place_flags(words: list[str]) -> tuple[str, str] | None:
    """(kind, the word that decided it) for place-name words, or None."""
    text = " ".join(words)
    for w in words:
        if w in _PHONE_SHOP_WORDS or w.startswith(_PHONE_SHOP_PREFIXES):
            return "phone_shop", w
    for p in _PHONE_SHOP_PHRASES:
        if p in text:
            return "phone_shop", p
    for w in words:
        if w in _CENTRE_WORDS or any(i in w for i in _CENTRE_INFIXES):
            return "shopping_centre", w
    for p in _CENTRE_PHRASES:
        if p in text:
            return "shopping_centre", p
    if len(words) >= 2 and words[-1] in _COMPANY_FORMS:
        return "business", words[-1]
    return None


def _norm_postcode(postcode: object) -> str:
    if postcode is None or (isinstance(postcode, float) and postcode != postcode):
        return ""
    return re.sub(r"[^0-9a-z]", "", fold_text(postcode))


def _norm_city(city: object) -> str:
    if city is None or (isinstance(city, float) and city != city):
        return ""
    return " ".join(skeleton(t) for t in re.findall(r"[a-z0-9]+", fold_text(city)))


@lru_cache(maxsize=200_000)
def _parse(address: str, postcode: str, city: str) -> AddressParts:
    text = fold_text(address)
    care_of = bool(_CARE_OF_RE.search(text))
    text = _CARE_OF_RE.sub(" , ", text)
    pc, cty = postcode, city
    place_words: list[str] = []
    if care_of:
        place_words.append("c/o")

    box = _PO_BOX_RE.search(text)
    if box:
        rest = (text[: box.start()] + " , " + text[box.end():])
        for seg in _SEGMENT_RE.split(rest):
            toks = [t for t, _ in _tokens(seg)]
            if not toks:
                continue
            m = _POSTCODE_SEG_RE.fullmatch(" ".join(toks))
            if m and not pc:
                pc = re.sub(r"\D", "", m.group(1))
            elif not m:
                place_words.extend(toks)
        key = f"postboks {box.group(1)}" + (f", {pc}" if pc else (f", {cty}" if cty else ""))
        return AddressParts(key, "postboks", box.group(1), "", "", pc, cty, " ".join(place_words), True, care_of)

    segments = [s for s in (seg.strip() for seg in _SEGMENT_RE.split(text)) if s]
    street_tokens: list[tuple[str, bool]] = []
    number = letter = unit = ""
    street_found = False
    for seg in segments:
        toks = _tokens(seg)
        words = [t for t, _ in toks]
        if not words:
            continue
        if not street_found:
            idx = next((i for i, (t, _) in enumerate(toks)
                        if i > 0 and _NUMBER_RE.match(t) and not toks[i - 1][0].isdigit()), None)
            if idx is not None:
                street_found = True
                street_tokens = toks[:idx]
                m = _NUMBER_RE.match(toks[idx][0])
                number, letter = m.group(1), m.group(2)
                rest = words[idx + 1:]
                if not letter and rest and len(rest[0]) == 1 and rest[0].isalpha() and not toks[idx + 1][1]:
                    letter, rest = rest[0], rest[1:]
                if rest:
                    u = _parse_unit(rest)
                    if u is not None:
                        unit = unit or u
                    else:
                        # a unit followed by place words, or place words alone
                        for cut in range(len(rest) - 1, 0, -1):
                            u = _parse_unit(rest[:cut])
                            if u is not None:
                                unit = unit or u
                                place_words.extend(rest[cut:])
                                break
                        else:
                            place_words.extend(rest)
                continue
        joined = " ".join(words)
        m = _POSTCODE_SEG_RE.fullmatch(joined)
        if m and (street_found or len(segments) > 1):
            if not pc:
                pc = re.sub(r"\D", "", m.group(1))
            continue
        u = _parse_unit(words)
        if u is not None:
            unit = unit or u
            continue
        place_words.extend(words)

    if not street_found:
        words = [skeleton(w) for w in place_words if w != "c/o"]
        if not words:
            return AddressParts(None, "", "", "", "", pc, cty, "", False, care_of)
        key = " ".join(words) + (f", {pc}" if pc else (f", {cty}" if cty else ""))
        return AddressParts(key, "", "", "", "", pc, cty, " ".join(place_words), False, care_of)

    street = [skeleton(_canonical_street_token(t, dotted)) for t, dotted in street_tokens]
    # words before the street proper that name a shop or centre ("STORSENTERET TORGET 1")
    if len(street) >= 2:
        core = 2 if street[-1] in _STREET_WORDS else 1
        prefix = street[:-core]
        if prefix and _place_flags(prefix) is not None:
            place_words = prefix + place_words
            street = street[-core:]
    key = _make_key(" ".join(street), number, letter, pc, cty)
    return AddressParts(key, " ".join(street), number, letter, unit, pc, cty, " ".join(place_words), False, care_of)


def _make_key(street: str, number: str, letter: str, pc: str, cty: str) -> str:
    return f"{street} {number}{letter}" + (f", {pc}" if pc else (f", {cty}" if cty else ""))


def resolve_place_prefixes(parts: list[AddressParts]) -> list[AddressParts]:
    """Across the spellings of a directory: "RING & SURF MARKENS GATE 30" has no comma and no
    shop word to show where the place name ends, so it parses as the street "ring surf markens
    gata". When another spelling of the same number and postcode names that very place apart
    from the street ("Markens gate 30 (Ring & Surf)"), the leading words are that place name:
    the key becomes the other spelling's, the words move to the place name. Only an exact match
    of the words moves them, so "Nedre Storgata 5" never becomes "Storgata 5"."""
    places_at: dict[str, set[str]] = {}
    for p in parts:
        if p.key is not None and p.place and p.street:
            words = " ".join(skeleton(w) for w in re.findall(r"[a-z0-9]+", p.place))
            places_at.setdefault(p.key, set()).add(words)
    out = []
    for p in parts:
        words = p.street.split()
        if p.key is not None and not p.po_box and len(words) >= 2:
            for i in range(1, len(words)):
                cand = _make_key(" ".join(words[i:]), p.number, p.letter, p.postcode, p.city)
                if " ".join(words[:i]) in places_at.get(cand, ()):
                    p = AddressParts(cand, " ".join(words[i:]), p.number, p.letter, p.unit, p.postcode, p.city,
                                     " ".join(words[:i] + ([p.place] if p.place else [])), p.po_box, p.care_of)
                    break
        out.append(p)
    return out


def parse_address(address: object, postcode: object = None, city: object = None) -> AddressParts:
    """The parts of one written address (see the module docstring)."""
    if address is None or (isinstance(address, float) and address != address):
        address = ""
    return _parse(str(address), _norm_postcode(postcode), _norm_city(city))


def normalise_address(address: object, postcode: object = None, city: object = None) -> str | None:
    """The address key: equal for every spelling of one building entrance (None for no address).

    >>> normalise_address("Storgata 12 B, H0201", "0150", "Oslo") == normalise_address("STORGATA 12B", "0150")
    True
    """
    return parse_address(address, postcode, city).key


def place_kind(parts: AddressParts, written: str | None = None) -> tuple[str, str] | None:
    """(kind, reason) when the spelling itself says the place is generic, else None."""
    shown = f"'{written}'" if written else f"'{parts.place}'"
    if parts.po_box:
        return "po_box", f"post office box: {shown} is box {parts.number}, not a home"
    words = [w for w in parts.place.split() if w != "c/o"]
    flag = _place_flags(words) if words else None
    if flag is not None and flag[0] != "business":
        kind, word = flag
        what = "a phone shop" if kind == "phone_shop" else "a shopping centre"
        return kind, f"{what}: {shown} names one ('{word}'); strangers register phones there"
    if parts.care_of:
        return "business", f"care-of address: {shown} is someone else's door (c/o)"
    if flag is not None:
        return "business", f"business address: {shown} names a company ({flag[1].upper()})"
    return None


# ------------------------------------------------------------------------------ set-based work

_PRIORITY = {"po_box": 0, "phone_shop": 1, "shopping_centre": 2, "business": 3}


def keyed_listings(con: duckdb.DuckDBPyConnection, *, public_only: bool = True) -> pd.DataFrame:
    """directory_listings rows with address_key, unit and the spelling's own kind (None = no
    hint). Addresses are parsed once per distinct (address, postcode, city)."""
    where = "WHERE coalesce(visibility, 'public') = 'public'" if public_only else ""
    rows = con.execute(f"""
        SELECT listing_id, phone, name, address, postcode, city, listed_at, coalesce(visibility, 'public') AS visibility
        FROM directory_listings {where}""").df()
    triples = con.execute(f"""
        SELECT DISTINCT address, postcode, city FROM directory_listings {where}""").fetchall()
    keyed = []
    parsed = resolve_place_prefixes([parse_address(a, pc, c) for a, pc, c in triples])
    for (address, postcode, city), parts in zip(triples, parsed):
        hint = place_kind(parts, address) if parts.key is not None else None
        keyed.append((address, postcode, city, parts.key, parts.unit,
                       hint[0] if hint else None, hint[1] if hint else None))
    kdf = pd.DataFrame(keyed, columns=["address", "postcode", "city", "address_key", "unit", "hint_kind", "hint_reason"],
                       dtype=object)
    out = rows.astype(object).merge(kdf, how="left", on=["address", "postcode", "city"])
    return out.astype(object).where(out.notna(), None)


def _name_words(name: object) -> list[str]:
    # the one name folding rule (imported here, not at the top: directory.py imports this module)
    from adnet_assets.lib.directory import fold_name
    return fold_name(name).split()


def _unrelated_groups(names_phones: list[tuple[str, str | None]]) -> int:
    """Number of groups of names that share no name word (3+ letters) and no phone."""
    parent: dict[object, object] = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    names = set()
    for name, phone in names_phones:
        names.add(name)
        find(("n", name))
        for w in name.split():
            if len(w) >= 3:
                parent[find(("n", name))] = find(("w", w))
        if phone:
            parent[find(("n", name))] = find(("p", phone))
    return len({find(("n", n)) for n in names})


def classify_addresses(listings: pd.DataFrame, params: AddressParams = AddressParams()) -> pd.DataFrame:
    """One row per address_key: kind, generic, reason, n_owners (distinct folded names), n_phones.

    ``listings`` is ``keyed_listings``' output (public rows)."""
    cols = ["address_key", "kind", "generic", "reason", "n_owners", "n_phones"]
    df = listings[listings["address_key"].notna()]
    if df.empty:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})
    folded = {n: " ".join(_name_words(n)) for n in df["name"].dropna().unique()}
    df = df.assign(folded=df["name"].map(lambda n: folded.get(n) or None if n is not None else None))
    counts = df.groupby("address_key", sort=True).agg(n_owners=("folded", "nunique"), n_phones=("phone", "nunique"))
    # the strongest kind any spelling of the place names
    hints = df.loc[df["hint_kind"].notna(), ["address_key", "hint_kind", "hint_reason"]].drop_duplicates()
    hints = hints.assign(priority=hints["hint_kind"].map(_PRIORITY))
    hints = hints.sort_values(["address_key", "priority", "hint_reason"]).drop_duplicates("address_key")
    hint_of = {k: (kind, reason) for k, kind, reason in zip(hints["address_key"], hints["hint_kind"], hints["hint_reason"])}
    # unrelated name groups, only where there are more names than a household could have
    crowded = {k for k, n in zip(counts.index, counts["n_owners"]) if n > params.max_owners_private and k not in hint_of}
    pairs: dict[str, set] = {k: set() for k in crowded}
    sub = df[df["address_key"].isin(crowded) & df["folded"].notna()]
    for k, f, p in zip(sub["address_key"], sub["folded"], sub["phone"]):
        pairs[k].add((f, p))
    out = []
    for key, n_owners, n_phones in zip(counts.index, counts["n_owners"], counts["n_phones"]):
        if key in hint_of:
            kind, reason = hint_of[key]
        else:
            groups = (_unrelated_groups(sorted(pairs[key], key=lambda t: (t[0], t[1] or ""))) if key in crowded
                      else None)
            if groups is not None and groups > params.max_owners_private:
                kind = "shared_by_many"
                reason = (f"{groups} unrelated names (no common name word, no common phone) registered here, "
                          f"more than a household ({params.max_owners_private}): a shared or public address")
            else:
                kind = "private"
                reason = (f"private address: {n_owners} name(s) registered here" if groups is None else
                          f"private address: {n_owners} names registered here but only {groups} unrelated "
                          f"group(s) (families, spellings of one person)")
        out.append((key, kind, kind != "private", reason, int(n_owners), int(n_phones)))
    return pd.DataFrame(out, columns=cols, dtype=object)


def temp_table(con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame) -> None:
    """Copy a DataFrame into a temporary table (dropped by the caller with ``DROP TABLE``)."""
    _adnet_frame_df = frame  # noqa: F841 (read by DuckDB's replacement scan; no register(), which
    # duckdb 2 refuses while an earlier result on the connection is unfinished)
    con.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" AS SELECT * FROM _adnet_frame_df')


def build_addresses(con: duckdb.DuckDBPyConnection, params: AddressParams = AddressParams()) -> int:
    """Replace ``addresses`` from the public rows of ``directory_listings``; returns its row count."""
    listings = keyed_listings(con)
    classes = classify_addresses(listings, params)
    spell = listings[listings["address_key"].notna()][["address_key", "address", "postcode", "city", "listing_id"]]
    temp_table(con, "_adnet_addr_spellings", spell.astype(object))
    temp_table(con, "_adnet_addr_classes", classes.astype(object))
    try:
        return replace_table(con, ADDRESSES, """
            WITH s AS (SELECT CAST(address_key AS VARCHAR) AS address_key, CAST(address AS VARCHAR) AS address,
                              CAST(postcode AS VARCHAR) AS postcode, CAST(city AS VARCHAR) AS city
                       FROM _adnet_addr_spellings),
            best AS (  -- the most common spelling, ties broken by the spelling itself (deterministic)
                SELECT address_key, address FROM (SELECT address_key, address, count(*) AS n FROM s GROUP BY ALL)
                QUALIFY row_number() OVER (PARTITION BY address_key ORDER BY n DESC, address) = 1),
            pc AS (
                SELECT address_key, postcode FROM (SELECT address_key, postcode, count(*) AS n FROM s
                                                   WHERE postcode IS NOT NULL GROUP BY ALL)
                QUALIFY row_number() OVER (PARTITION BY address_key ORDER BY n DESC, postcode) = 1),
            ct AS (
                SELECT address_key, city FROM (SELECT address_key, city, count(*) AS n FROM s
                                               WHERE city IS NOT NULL GROUP BY ALL)
                QUALIFY row_number() OVER (PARTITION BY address_key ORDER BY n DESC, city) = 1),
            agg AS (SELECT address_key, list(DISTINCT address ORDER BY address) AS variants FROM s GROUP BY address_key)
            SELECT b.address_key, b.address, a.variants, pc.postcode, ct.city,
                   CAST(c.kind AS VARCHAR) AS kind, CAST(c.generic AS BOOLEAN) AS generic,
                   CAST(c.reason AS VARCHAR) AS reason,
                   CAST(c.n_owners AS BIGINT) AS n_owners, CAST(c.n_phones AS BIGINT) AS n_phones
            FROM best b JOIN agg a USING (address_key)
            LEFT JOIN pc USING (address_key) LEFT JOIN ct USING (address_key)
            JOIN _adnet_addr_classes c ON CAST(c.address_key AS VARCHAR) = b.address_key
            ORDER BY b.address_key""")
    finally:
        con.execute("DROP TABLE IF EXISTS _adnet_addr_spellings")
        con.execute("DROP TABLE IF EXISTS _adnet_addr_classes")
