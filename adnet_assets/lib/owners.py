"""Directory owners: one per person, not per spelling, and never one for two people.

Networks register their phones in the names of front persons and identity-theft victims, and the
phone directory spells each name many ways: upper case, first and last name swapped ("HANSEN
KARI", "Hansen, Kari"), initials ("K. Hansen"), doubled spaces, transposed, missing or extra
letters ("Kari Hnasen", "Kari Hansn"), with or without diacritics ("Sørensen", "Sorensen",
"Soerensen"). ``resolve_owners`` turns the public listings of ``directory_listings`` into
``owners`` (one row per person), ``owner_variants`` (how each spelling at each address was
resolved, with its rule and score) and ``directory_matches`` (every listing of a phone seen in
ads, reserved and hidden ones included with no owner).

A false link between two people is worse than a missed one, so a similar name is never enough.

Rules
-----
**0. Folding.** ``fold_name`` (``adnet_assets.lib.directory``'s, the one folding rule): lower
case, diacritics folded (ø→o, æ→ae, å→a, ö→o, ä→a, ü→u, é→e, other accents dropped),
punctuation removed, single spaces, letters of every script kept. For comparing, every word is
also reduced to its *skeleton*: the transliterations "oe", "aa", "ae", "ue" become "o", "a",
"a", "u", so "Soerensen" = "Sørensen" = "Sorensen" and "Sæther" = "Saether" = "Sather".
"jr"/"sr"/"junior"/"senior" are kept aside: two names join only when these agree.

**1. Name compatibility** (two folded names may be one person). The words of the shorter name
must each pair with a distinct word of the longer one, order free (so "HANSEN KARI" = "Kari
Hansen"), where a pair is

* equal;
* one typing error apart (``rapidfuzz.distance.OSA`` = 1, both words 3+ letters): an adjacent
  transposition when the words have ``min_len_edit`` (4) letters ("Kari"/"Krai",
  "Hansen"/"Hnasen"); a missing or extra letter when the shorter word has ``min_len_indel`` (6)
  letters ("Nyström"/"Nytröm", "Sørensen"/"Sørensn"), in shorter words only a doubled letter
  ("Ewa"/"Ewwa"), because a letter more or less at that length is usually another name
  ("Kari"/"Karin", "Mari"/"Marie", "Berg"/"Berge", "Hauge"/"Haugen"); a *substituted* letter
  only in words of ``min_len_substitution`` (7) letters ("Sorensen"/"Sorenson"), never in
  "Kari"/"Karl", "Anne"/"Anna", "Hansen"/"Jansen";
* an initial and a word starting with it ("K." / "Kari").

At least two words must pair and at least one pair must be equal (an anchor), so a name of one
word joins nothing, and words left over on the longer side are middle names ("Kari Hansen" /
"Kari Marie Hansen"). The rule recorded is ``exact`` (same words, same order), ``swapped``
(same words), ``fuzzy`` (an edit or a dropped middle name) or ``initials``.

Two names **conflict** (are certainly two people) when, pairing words more loosely (two words
may also be two typing errors of one common word: "Bråthn" and "Båthen" are both one error from
"Bråthen", "Krai" and "Karri" from "Kari"; "Kari" and "Karl" have no such common word), both
names keep an unpaired word ("Kari Hansen" / "Knut Hansen", "Kari Marie Hansen" / "Kari Louise
Hansen", "K. Hansen" / "P. Hansen"), or their jr/sr markers differ.

**2. Evidence beyond the name (the address rule).** Compatible names join only inside an
*evidence group*:

* the same **private** address key (``adnet_assets.lib.addresses``), with compatible flat units
  (equal, or one of them unknown: "Storgata 12 B, H0201" and "STORGATA 12B" join, H0201 and
  H0302 do not), or
* the same **phone** (at any addresses: a person who moved keeps her number).

The same or a similar name at two different private addresses with nothing else in common is
two people (homonyms, reported in ``OwnerReport.homonym_splits``). A generic address (shopping
centre, phone shop, PO box, business, shared by many: ``addresses``) is no evidence at all: even
the *same* name written twice at a mall with two different phones stays two owners.

The groups are the blocks: comparisons happen only inside one address or one phone, so they grow
with the number of listings, not its square. A group with more than ``max_block_names`` names
(only possible at a phone listed under very many names) is sub-blocked by name keys (every
skeleton word of 3+ letters and its one-letter deletions). Inside a block,
``rapidfuzz.process.cdist`` with ``token_set_ratio`` (cut at ``prefilter``, 60) prunes pairs
before the rules above are checked.

**Ambiguity.** Inside one group, a name compatible with two names that conflict with each other
(or, at one address, with two different flats) joins neither: "K. Hansen" at a flat where both
"Kari Hansen" and "Knut Hansen" are registered stays apart, and so does "Kari Hansen" between
"Kari Marie Hansen" and "Kari Louise Hansen".

**Union-find.** Nodes are (folded name, address key, unit) (plus the phone at generic or unknown
addresses). Joins are applied in a fixed order (alias, exact, swapped, fuzzy, initials; address
before phone; higher score first; then by node), so the result does not depend on row order, and
every join is checked first against the cannot-links: an automatic join is refused when it would
put two conflicting names, two different flats of one address (address joins only) or an analyst's
``not_same_as`` pair into one owner.

**3. Analysts' aliases** (``aliases.csv``, optional, columns ``name,same_as`` and optionally
``not_same_as``). Spellings are matched by their skeleton words in any order ("Hansen, Kari"
matches "KARI HANSEN"). ``same_as`` joins every listing of the two spellings wherever they occur,
overriding the address rule and the name rules (``name,same_as`` with the same spelling twice
says all its homonyms are one person); a row with ``not_same_as`` filled keeps the two spellings
apart even when the automatic rules, or another alias row, would join them (a false link is worse
than a missed one, so the split wins; refused alias joins are listed in
``OwnerReport.alias_conflicts``). The rules recorded are ``alias`` and ``alias_split``.

**4. Owner ids.** ``"O-" + the first 12 hex digits of sha1`` of the owner's smallest node
(folded name, address key, unit). It depends only on the owner's own listings, so adding or
removing unrelated owners never changes it, and it survives re-runs, new phones of the owner
(networks add numbers all the time, while a person's name and address change rarely) and new
spellings that sort after the anchor. When two owners merge the id of one of them survives. Six
hex digits collide with even odds at about 4,800 owners; twelve keep the chance below 1 in 50,000
at 100,000 owners, and a collision is still resolved deterministically (both ids lengthened).

Only *distinct* names, addresses and (name, address) nodes are handled in Python; reading the
listings and writing the tables is set-based SQL.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import duckdb
import pandas as pd
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from adnet_assets.lib.addresses import AddressParams, classify_addresses, keyed_listings, skeleton, temp_table
from adnet_assets.lib.directory import fold_name as _directory_fold_name
from adnet_assets.lib.store import replace_table, table_exists
from adnet_assets.schema import DIRECTORY_MATCHES, OWNER_VARIANTS, OWNERS

__all__ = [
    "OwnerParams",
    "OwnerReport",
    "compatible_names",
    "conflicting_names",
    "fold_name",
    "name_key",
    "read_aliases",
    "resolve_owners",
]


@dataclass(frozen=True)
class OwnerParams:
    """Parameters of owner resolution.

    ``min_len_edit`` (4): a word may have two neighbouring letters swapped when it has at least
    four letters ("Kari"/"Krai"); in three letters a swap makes another word.
    ``min_len_indel`` (6): a letter may be missing or extra when the shorter spelling has at
    least six letters ("Nytröm"/"Nyström", "Sørensn"/"Sørensen"). Below six, Nordic first names
    and surnames come in pairs one final letter apart (Kari/Karin, Mari/Marie, Tor/Tore,
    Berg/Berge, Lund/Lunde, Hauge/Haugen, Bakke/Bakken: all four surname pairs occur in the
    demo's surname list), so only a doubled letter is tolerated there ("Ewwa"/"Ewa"). The price:
    a dropped letter in a five-letter surname ("Jenen" for "Jensen") is a missed join; in the
    demo that costs 5 of 650 listed persons one extra owner each, and no false one.
    ``min_len_substitution`` (7): one *substituted* letter is tolerated only in words of seven
    letters or more ("Sorensen"/"Sorenson"), because shorter names one substitution apart are
    usually other names ("Kari"/"Karl", "Hansen"/"Jansen", "Marit"/"Maria"); the demo's
    directory never substitutes, real ones rarely do.
    ``prefilter`` (60): ``token_set_ratio`` below which a pair inside a block is not examined;
    every pair the rules can accept shares a word or differs by a few letters and scores well
    above it, so it only saves work.
    ``max_block_names`` (50): an evidence group with more names than this is sub-blocked by
    name keys before comparing (a private address with that many names is generic anyway).
    ``id_hex`` (12): hex digits of the owner id (see the module docstring).
    ``addresses``: the classification used when the ``addresses`` table does not exist yet.
    """

    min_len_edit: int = 4
    min_len_indel: int = 6
    min_len_substitution: int = 7
    prefilter: float = 60.0
    max_block_names: int = 50
    id_hex: int = 12
    addresses: AddressParams = AddressParams()


@dataclass
class OwnerReport:
    n_listings: int = 0                      # public named listings resolved
    n_owners: int = 0
    n_joined_by_rule: dict[str, int] = field(default_factory=dict)   # spellings (name x address) per rule
    homonym_splits: list[str] = field(default_factory=list)          # names kept apart: different private addresses
    n_matches: int = 0                       # rows of directory_matches
    n_joined_by_evidence: dict[str, int] = field(default_factory=dict)  # accepted joins: address / phone / alias
    ambiguous: list[str] = field(default_factory=list)               # spellings left alone: compatible with two people
    refused: dict[str, int] = field(default_factory=dict)            # joins refused by a cannot-link, per reason
    alias_conflicts: list[tuple[str, str]] = field(default_factory=list)  # same_as joins refused by a not_same_as


# ------------------------------------------------------------------------------- names

_GENERATIONAL = {"jr": "jr", "junior": "jr", "sr": "sr", "senior": "sr"}


@lru_cache(maxsize=500_000)
def fold_name(text: object) -> str:
    """``adnet_assets.lib.directory.fold_name`` (the one name folding rule: lower case, diacritics
    folded, punctuation removed, single spaces), cached: names repeat."""
    return _directory_fold_name(text)


@lru_cache(maxsize=500_000)
def _form(folded: str) -> tuple[tuple[str, ...], str]:
    """(skeleton words without jr/sr markers, the marker or "")."""
    words, gen = [], ""
    split = folded.split()
    for w in split:
        if w in _GENERATIONAL and len(split) > 1:
            gen = _GENERATIONAL[w]
        else:
            words.append(skeleton(w))
    return tuple(words), gen


def name_key(text: object) -> str:
    """Skeleton words in sorted order: equal for spellings that differ only in case, diacritics,
    transliteration, punctuation and word order (used for aliases and homonym reports)."""
    words, gen = _form(fold_name(text))
    return " ".join(sorted(words) + ([gen] if gen else []))


def _one_edit(x: str, y: str, lens: tuple[int, int, int]) -> bool:
    """x and y (different words of 2+ letters) are one *plausible typing error* apart (rule 1)."""
    min_edit, min_indel, min_sub = lens
    lo, hi = sorted((len(x), len(y)))
    if lo < 3 or hi - lo > 1 or OSA.distance(x, y, score_cutoff=1) > 1:
        return False
    if lo == hi:
        if sorted(x) == sorted(y):                 # adjacent transposition
            return hi >= min_edit
        return lo >= min_sub                       # substituted letter
    short, long_ = (x, y) if len(x) < len(y) else (y, x)
    if lo >= min_indel:                            # missing / extra letter
        return True
    # short words: only a doubled letter ("Ewwa"/"Ewa", "Idda"/"Ida"); "Kari"/"Karin",
    # "Berg"/"Berge", "Mari"/"Marie" are different names
    return any(long_[i] == long_[i - 1] and long_[:i] + long_[i + 1:] == short for i in range(1, len(long_)))


@lru_cache(maxsize=500_000)
def _pair_strict(x: str, y: str, lens: tuple[int, int, int]) -> str | None:
    """'eq', 'edit', 'init' or None: how two words may be one (rule 1)."""
    if x == y:
        return "eq"
    if len(x) == 1 or len(y) == 1:
        if len(x) == 1 and len(y) == 1:
            return None
        return "init" if x[0] == y[0] else None
    return "edit" if _one_edit(x, y, lens) else None


def _neighbours(x: str, alphabet: str) -> set[str]:
    out = {x[:i] + x[i + 1:] for i in range(len(x))}
    out |= {x[:i] + x[i + 1] + x[i] + x[i + 2:] for i in range(len(x) - 1)}
    out |= {x[:i] + c + x[i:] for i in range(len(x) + 1) for c in alphabet}
    out |= {x[:i] + c + x[i + 1:] for i in range(len(x)) for c in alphabet}
    out.discard(x)
    return out


@lru_cache(maxsize=500_000)
def _pair_relaxed(x: str, y: str, lens: tuple[int, int, int]) -> bool:
    """May two words still be spellings of one word (for conflicts)? Yes when they are one typing
    error apart, or both one typing error away from a common word ("Bråthn" and "Båthen" from
    "Bråthen", "Krai" and "Karri" from "Kari"); "Kari"/"Karl", "Anne"/"Anna", "Kari"/"Knut" are not."""
    if x == y:
        return True
    if len(x) == 1 or len(y) == 1:
        return x[0] == y[0] and not (len(x) == 1 and len(y) == 1)
    if _one_edit(x, y, lens):
        return True
    if OSA.distance(x, y, score_cutoff=2) > 2:
        return False
    alphabet = "".join(sorted(set(x) | set(y)))
    return any(_one_edit(z, y, lens) for z in _neighbours(x, alphabet) if len(z) >= 2 and _one_edit(x, z, lens))


def _lens(params: "OwnerParams") -> tuple[int, int, int]:
    return (params.min_len_edit, params.min_len_indel, params.min_len_substitution)


@lru_cache(maxsize=500_000)
def _compatible(fa: str, fb: str, lens: tuple[int, int, int]) -> tuple[str, float] | None:
    wa, ga = _form(fa)
    wb, gb = _form(fb)
    if ga != gb:
        return None
    if wa == wb:
        return ("exact", 100.0)
    if sorted(wa) == sorted(wb):
        return ("swapped", 100.0)
    if len(wa) > len(wb):
        wa, wb = wb, wa
    if len(wa) < 2:
        return None
    wa6, wb6 = wa[:6], wb[:6]          # names of more than six words are cut (harder to join, never easier)
    best = None
    for perm in itertools.permutations(range(len(wb6)), len(wa6)):
        kinds = []
        for i, j in enumerate(perm):
            k = _pair_strict(wa6[i], wb6[j], lens)
            if k is None:
                break
            kinds.append((k, wa6[i]))
        else:
            if not any(k == "eq" and len(x) > 1 for k, x in kinds):
                continue               # an anchor: one whole word spelled the same
            rank = (sum(k == "init" for k, _ in kinds), sum(k == "edit" for k, _ in kinds))
            if best is None or rank < best:
                best = rank
    if best is None:
        return None
    rule = "initials" if best[0] else "fuzzy"
    return (rule, float(fuzz.token_sort_ratio(" ".join(wa), " ".join(wb))))


@lru_cache(maxsize=500_000)
def _spelling_style(written: str) -> tuple:
    """Smaller is a more usual way of writing a name ("Kari Sørensen" before "SØRENSEN, KARI")."""
    letters = [c for c in written if c.isalpha()]
    mixed = any(c.isupper() for c in letters) and any(c.islower() for c in letters)
    words = fold_name(written).split()
    return (not mixed, "," in written, written.isascii(), sum(len(w) == 1 for w in words), "  " in written)


def compatible_names(a: str, b: str, params: OwnerParams = OwnerParams()) -> tuple[str, float] | None:
    """(rule, score) when two names may be one person (rule 1), else None."""
    return _compatible(fold_name(a), fold_name(b), _lens(params))


@lru_cache(maxsize=500_000)
def _conflict(fa: str, fb: str, lens: tuple[int, int, int]) -> bool:
    if fa == fb:
        return False
    wa, ga = _form(fa)
    wb, gb = _form(fb)
    if ga != gb:
        return True
    if len(wa) > len(wb):
        wa, wb = wb, wa
    if not wa:
        return False
    wa, wb = wa[:6], wb[:6]
    best = 0
    for perm in itertools.permutations(range(len(wb)), len(wa)):
        n = sum(1 for i, j in enumerate(perm) if _pair_relaxed(wa[i], wb[j], lens))
        if n > best:
            best = n
            if best == len(wa):
                return False
    # both names keep a word the other cannot account for
    return best < len(wa) and best < len(wb)


def conflicting_names(a: str, b: str, params: OwnerParams = OwnerParams()) -> bool:
    """True when two names are certainly two people (see "conflict" in the module docstring)."""
    return _conflict(fold_name(a), fold_name(b), _lens(params))


# ------------------------------------------------------------------------------- aliases

def read_aliases(path: str | Path | None) -> tuple[list[tuple[str, str, str, str]], list[tuple[str, str, str, str]]]:
    """(same_as pairs, not_same_as pairs) from aliases.csv, each (key_a, key_b, written_a, written_b)."""
    same, apart = [], []
    if path is None or not Path(path).is_file():
        return same, apart
    with open(path, newline="", encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
            name, same_as, not_same = row.get("name", ""), row.get("same_as", ""), row.get("not_same_as", "")
            if not name:
                continue
            if same_as and name_key(name) and name_key(same_as):
                same.append((name_key(name), name_key(same_as), name, same_as))
            if not_same and name_key(name) and name_key(not_same):
                apart.append((name_key(name), name_key(not_same), name, not_same))
    return same, apart


# ------------------------------------------------------------------------------- union-find

_RULE_ORDER = {"alias": 0, "exact": 1, "swapped": 2, "fuzzy": 3, "initials": 4}
_EVIDENCE_ORDER = {"alias": 0, "address": 1, "phone": 2}


class _Components:
    """Union-find whose components carry what the cannot-links need."""

    def __init__(self, nodes, name_of, nkey_of, unit_at):
        self.parent = {n: n for n in nodes}
        self.names = {n: {name_of[n]} for n in nodes}
        self.nkeys = {n: {nkey_of[n]} for n in nodes}
        self.units = {n: ({unit_at[n][0]: {unit_at[n][1]}} if unit_at[n][1] else {}) for n in nodes}
        self.size = {n: 1 for n in nodes}

    def find(self, x):
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, x, y) -> None:
        rx, ry = self.find(x), self.find(y)
        if rx == ry:
            return
        if (self.size[rx], rx) < (self.size[ry], ry):
            rx, ry = ry, rx
        self.parent[ry] = rx
        self.size[rx] += self.size.pop(ry)
        self.names[rx] |= self.names.pop(ry)
        self.nkeys[rx] |= self.nkeys.pop(ry)
        for k, us in self.units.pop(ry).items():
            self.units[rx].setdefault(k, set()).update(us)


# ------------------------------------------------------------------------------- the step



def _generic_keys(con, listings: pd.DataFrame, params: OwnerParams) -> dict[str, bool]:
    """address_key -> generic, from the ``addresses`` table when it exists (what analysts see),
    else classified here with the same rules."""
    if table_exists(con, "addresses"):
        got = dict(con.execute("SELECT address_key, generic FROM addresses WHERE address_key IS NOT NULL").fetchall())
        missing = {k for k in listings["address_key"].dropna().unique() if k not in got}
        if not missing:
            return {k: bool(v) for k, v in got.items()}
    classes = classify_addresses(listings, params.addresses)
    return {k: bool(g) for k, g in zip(classes["address_key"], classes["generic"])}


def _name_block_keys(folded: str) -> set[str]:
    keys = set()
    for w in _form(folded)[0]:
        if len(w) >= 3:
            keys.add(w)
            if len(w) >= 4:
                keys.update(w[:i] + w[i + 1:] for i in range(len(w)))
    return keys


def resolve_owners(con: duckdb.DuckDBPyConnection, params: OwnerParams = OwnerParams(),
                   aliases_path: str | Path | None = None) -> OwnerReport:
    """Replace ``owners``, ``owner_variants`` and ``directory_matches`` from ``directory_listings``.
    See the module docstring for the rules.

    Generic addresses are read from ``addresses`` when it exists and covers every key (so owners
    follow the classification analysts see), else classified here with ``params.addresses``.
    ``directory_matches`` holds every listing, of any visibility, whose phone is in ``phones``
    (the numbers seen in ads); without a ``phones`` table it is left empty. ``aliases_path`` is
    the analysts' ``aliases.csv`` (``DataLayout.aliases``); None or a missing file means none.
    """
    report = OwnerReport()
    listings = keyed_listings(con)
    generic_of = _generic_keys(con, listings, params)
    names = listings[listings["name"].notna()].copy()
    folded_of = {n: fold_name(n) for n in names["name"].unique()}
    names["name_norm"] = names["name"].map(folded_of)
    names = names[names["name_norm"] != ""]
    report.n_listings = len(names)

    # ---- nodes: (folded name, address key, unit, phone-or-listing at generic/unknown addresses)
    key = names["address_key"]
    generic = key.map(lambda k: True if k is None else generic_of.get(k, False))
    solo = names["phone"].where(names["phone"].notna(), "listing:" + names["listing_id"].astype(str))
    names["node"] = list(zip(names["name_norm"], key.fillna(""), names["unit"].fillna(""),
                             solo.where(generic.astype(bool), "")))
    names["generic"] = generic.astype(bool)
    nodes = sorted(set(names["node"]))
    name_of = {n: n[0] for n in nodes}
    nkey_of = {n: name_key(n[0]) for n in nodes}
    unit_at = {n: (n[1], n[2]) for n in nodes}

    # ---- evidence groups (the blocks): one private address, one phone
    by_address: dict[str, set] = defaultdict(set)
    private = names[~names["generic"]]
    for k, n in set(zip(private["address_key"], private["node"])):
        by_address[k].add(n)
    by_phone: dict[str, set] = defaultdict(set)
    phoned = names[names["phone"].notna()]
    for p, n in set(zip(phoned["phone"], phoned["node"])):
        by_phone[p].add(n)
    groups: list[tuple[str, str, list]] = (
        [("address", k, sorted(ns)) for k, ns in sorted(by_address.items()) if len(ns) > 1]
        + [("phone", p, sorted(ns)) for p, ns in sorted(by_phone.items()) if len(ns) > 1])

    lens = _lens(params)
    edges = []            # (rule order, evidence order, -score, a, b, rule, evidence, value, score)
    ambiguous: set[str] = set()
    for evidence, value, members in groups:
        if len(members) > params.max_block_names:
            by_key = defaultdict(list)
            for i, n in enumerate(members):
                for bk in _name_block_keys(n[0]):
                    by_key[bk].append(i)
            blocks = [ix for ix in by_key.values() if len(ix) > 1]
        else:
            blocks = [list(range(len(members)))]
        partners: dict[int, dict[int, tuple[str, float]]] = defaultdict(dict)
        for ix in blocks:
            texts = [" ".join(_form(members[i][0])[0]) for i in ix]
            scores = process.cdist(texts, texts, scorer=fuzz.token_set_ratio, score_cutoff=params.prefilter)
            for u in range(len(ix)):
                for v in range(u + 1, len(ix)):
                    if scores[u, v] <= 0:
                        continue
                    i, j = ix[u], ix[v]
                    a, b = members[i], members[j]
                    if evidence == "address" and a[2] and b[2] and a[2] != b[2]:
                        continue  # two flats of one building
                    got = ("exact", 100.0) if a[0] == b[0] else _compatible(a[0], b[0], lens)
                    if got is not None:
                        partners[i][j] = got
                        partners[j][i] = got
        # ambiguity: a spelling compatible with two people joins neither
        dropped = set()
        for i, ps in partners.items():
            cand = sorted(ps)
            for y, z in itertools.combinations(cand, 2):
                a, b = members[y], members[z]
                if _conflict(a[0], b[0], lens) or (evidence == "address" and a[2] and b[2] and a[2] != b[2]):
                    dropped.add(i)
                    ambiguous.add(members[i])
                    break
        for i, ps in partners.items():
            for j, (rule, score) in ps.items():
                if i < j and i not in dropped and j not in dropped:
                    a, b = members[i], members[j]
                    edges.append((_RULE_ORDER[rule], _EVIDENCE_ORDER[evidence], -score, a, b, rule, evidence, value, score))

    # ---- aliases
    same, apart = read_aliases(aliases_path)
    nodes_by_nkey = defaultdict(list)
    for n in nodes:
        nodes_by_nkey[nkey_of[n]].append(n)
    for ka, kb, wa, wb in same:
        members = sorted(set(nodes_by_nkey.get(ka, [])) | set(nodes_by_nkey.get(kb, [])))
        for a, b in zip(members, members[1:]):
            edges.append((0, 0, -100.0, a, b, "alias", "alias", f"{wa} = {wb}", 100.0))
    opposed = defaultdict(set)
    for ka, kb, wa, wb in apart:
        opposed[ka].add(kb)
        opposed[kb].add(ka)
    apart_written = {}
    for ka, kb, wa, wb in apart:
        apart_written.setdefault((ka, kb), wb)      # the spelling a name key was kept apart from
        apart_written.setdefault((kb, ka), wa)

    # ---- union-find with cannot-links, in a fixed order
    comps = _Components(nodes, name_of, nkey_of, unit_at)
    edges.sort(key=lambda e: e[:5])
    refused = defaultdict(int)
    split_pairs: set[tuple[str, str]] = set()
    for _r, _e, _s, a, b, rule, evidence, value, score in edges:
        ra, rb = comps.find(a), comps.find(b)
        if ra == rb:
            continue
        hit = next(((x, y) for x in comps.nkeys[ra] if x in opposed for y in comps.nkeys[rb] if y in opposed[x]), None)
        if hit is not None:
            refused["not_same_as"] += 1
            split_pairs.add(hit)
            if rule == "alias":
                report.alias_conflicts.append((name_of[a], name_of[b]))
            continue
        if rule != "alias":
            if any(_conflict(x, y, lens) for x in comps.names[ra] for y in comps.names[rb]):
                refused["name_conflict"] += 1
                continue
            if evidence == "address":
                ua, ub = comps.units[ra].get(value, set()), comps.units[rb].get(value, set())
                if ua and ub and ua.isdisjoint(ub):
                    refused["different_flats"] += 1
                    continue
        comps.union(a, b)
        report.n_joined_by_evidence[evidence] = report.n_joined_by_evidence.get(evidence, 0) + 1
    report.refused = dict(sorted(refused.items()))
    # spellings a not_same_as row actually kept apart: node -> the spelling it was kept apart from
    split_nodes: dict[tuple, str] = {}
    for x, y in sorted(split_pairs):
        for kx, ky in ((x, y), (y, x)):
            for n in nodes_by_nkey.get(kx, []):
                split_nodes.setdefault(n, apart_written.get((kx, ky), ky))

    # ---- owners: ids, canonical spelling, variants
    members_of = defaultdict(list)
    for n in nodes:
        members_of[comps.find(n)].append(n)
    owner_of_node: dict[tuple, str] = {}
    anchors = {root: min(ms) for root, ms in members_of.items()}
    digests = {root: hashlib.sha1("\x1f".join(anchor).encode("utf-8")).hexdigest() for root, anchor in anchors.items()}
    width = {root: params.id_hex for root in digests}
    while True:
        seen = defaultdict(list)
        for root, d in digests.items():
            seen[d[: width[root]]].append(root)
        clashes = [rs for rs in seen.values() if len(rs) > 1]
        if not clashes:
            break
        for rs in clashes:
            for r in rs:
                width[r] += 4
    owner_id = {root: "O-" + digests[root][: width[root]] for root in digests}
    for root, ms in members_of.items():
        for n in ms:
            owner_of_node[n] = owner_id[root]

    names["owner_id"] = names["node"].map(owner_of_node)
    spell = (names.groupby(["owner_id", "name"], sort=True).size().rename("n").reset_index())
    # canonical: the most common spelling, counted first by its words (case, accents, order
    # aside), then as written; ties go to the spelling that looks most like a written name
    # (mixed case, no comma, diacritics kept, fewest initials, single spaces), then alphabetical
    spell["nkey"] = spell["name"].map(name_key)
    spell["n_key"] = spell.groupby(["owner_id", "nkey"])["n"].transform("sum")
    spell["style"] = spell["name"].map(_spelling_style)
    spell = spell.sort_values(["owner_id", "n_key", "n", "style", "name"], ascending=[True, False, False, True, True])
    canonical = spell.drop_duplicates("owner_id").set_index("owner_id")["name"].to_dict()

    # representative written spelling of each node (most listings, then alphabetical)
    node_index = {n: i for i, n in enumerate(nodes)}
    names["nid"] = names["node"].map(node_index)
    node_spell = names.groupby(["nid", "name"], sort=False).size().rename("n").reset_index()
    node_spell["style"] = node_spell["name"].map(_spelling_style)
    node_spell = node_spell.sort_values(["n", "style", "name"], ascending=[False, True, True]).drop_duplicates("nid")
    written_of_node = {nodes[i]: w for i, w in zip(node_spell["nid"], node_spell["name"])}
    report.ambiguous = sorted({written_of_node[n] for n in ambiguous})

    # the seed: the node holding most listings of the canonical spelling
    is_canon = names["name"] == names["owner_id"].map(canonical)
    seeds = (names[is_canon].groupby(["owner_id", "nid"]).size().rename("n").reset_index()
             .sort_values(["owner_id", "n", "nid"], ascending=[True, False, True]).drop_duplicates("owner_id"))
    seed_of = {oid: nodes[i] for oid, i in zip(seeds["owner_id"], seeds["nid"])}

    # every evidence edge that ended inside one owner (not only those that joined): node -> edges
    accepted = defaultdict(list)
    for _r, _e, negscore, a, b, rule, evidence, value, score in edges:
        if comps.find(a) == comps.find(b):
            accepted[a].append((_r, _e, negscore, b, rule, evidence, value))
            accepted[b].append((_r, _e, negscore, a, rule, evidence, value))

    # BFS from the seed node of each owner over those edges: each node's rule and match
    how: dict[tuple, tuple[str, str | None, str]] = {}
    for root, ms in members_of.items():
        oid = owner_id[root]
        seed = seed_of[oid]
        how[seed] = ("seed", None, "")
        frontier = [seed]
        while frontier:
            nxt = []
            for x in frontier:
                for _r, _e, _s, y, rule, evidence, value in sorted(accepted[x]):
                    if y not in how:
                        how[y] = (rule, canonical[oid] if x == seed else written_of_node[x], evidence)
                        nxt.append(y)
            frontier = nxt

    # ---- owner_variants rows: one per (owner, spelling as written, address key)
    rows = []
    akey = names["address_key"].fillna("\x00")       # (None sorts and groups as one value)
    n_of = names.groupby([names["owner_id"], names["name"], akey], sort=True).size()
    nodes_of: dict[tuple, list] = defaultdict(list)
    for oid, written, k, nid in sorted(set(zip(names["owner_id"], names["name"], akey, names["nid"]))):
        nodes_of[(oid, written, k)].append(nodes[nid])
    by_rule: dict[str, int] = defaultdict(int)
    for (oid, written, k), n_listings in n_of.items():
        ns = nodes_of[(oid, written, k)]
        canon = canonical[oid]
        wf = fold_name(written)
        if any(n in split_nodes for n in ns):
            rule, matched = "alias_split", split_nodes[next(n for n in ns if n in split_nodes)]
        elif written == canon and seed_of[oid] in ns:
            rule, matched = "seed", None
        elif wf == fold_name(canon):
            rule, matched = "exact", canon
        else:
            # the strongest rule among the spelling's nodes (each reached from the seed)
            options = [how[n] for n in ns if n in how] or [("exact", canon, "")]
            rule, matched, _ev = min(options, key=lambda t: (_RULE_ORDER.get(t[0], 9), t[1] or ""))
            if rule == "seed":
                rule, matched = "exact", canon
        score = float(fuzz.token_sort_ratio(" ".join(_form(wf)[0]), " ".join(_form(fold_name(canon))[0])))
        if rule != "seed":
            by_rule[rule] += 1
        rows.append((oid, written, wf, None if k == "\x00" else k, int(n_listings), rule, score, matched))
    variants = pd.DataFrame(rows, columns=["owner_id", "name", "name_norm", "address_key", "n_listings", "rule",
                                           "score", "matched_to"])
    report.n_joined_by_rule = dict(sorted(by_rule.items()))

    # ---- owners: how each was resolved, in words
    n_spellings = spell.groupby("owner_id").size().to_dict()
    info = []
    for root, ms in members_of.items():
        oid = owner_id[root]
        counts: dict[str, int] = defaultdict(int)
        rules: dict[str, int] = defaultdict(int)
        for n in ms:
            h = how.get(n)
            if h and h[0] != "seed":
                counts[h[2]] += 1
                rules[h[0]] += 1
        n_sp = n_spellings[oid]
        if not counts:
            text = "one spelling" if n_sp == 1 else f"{n_sp} ways of writing one name at one address"
        else:
            parts = []
            if counts.get("address"):
                parts.append(f"{counts['address']} by the same private address")
            if counts.get("phone"):
                parts.append(f"{counts['phone']} by a shared phone")
            if counts.get("alias"):
                parts.append(f"{counts['alias']} by the analysts' aliases.csv")
            text = (f"{n_sp} spellings in {len(ms)} name-address nodes; joined {', '.join(parts)}; rules: "
                    + ", ".join(f"{r} {c}" for r, c in sorted(rules.items())))
        kept = sorted({split_nodes[n] for n in ms if n in split_nodes})
        if kept:
            text += "; kept apart from " + ", ".join(f"'{k}'" for k in kept) + " by aliases.csv (not_same_as)"
        info.append((oid, canonical[oid], text))
    owner_info = pd.DataFrame(sorted(info), columns=["owner_id", "name", "resolution"], dtype=object)
    report.n_owners = len(owner_info)

    # ---- homonyms kept apart: one name key in several owners at different private addresses
    private_keys: dict[str, set] = defaultdict(set)
    priv = names[~names["generic"]]
    for oid, k in set(zip(priv["owner_id"], priv["address_key"])):
        private_keys[oid].add(k)
    owners_by_nkey = defaultdict(set)
    shown: dict[str, str] = {}
    for n in nodes:
        owners_by_nkey[nkey_of[n]].add(owner_of_node[n])
        w, nk = written_of_node[n], nkey_of[n]
        if nk not in shown or (_spelling_style(w), w) < (_spelling_style(shown[nk]), shown[nk]):
            shown[nk] = w
    hom = set()
    for nk, oids in owners_by_nkey.items():
        if len(oids) < 2:
            continue
        oids = sorted(oids)
        if all(private_keys[o] for o in oids) and all(
                private_keys[a].isdisjoint(private_keys[b]) for a, b in itertools.combinations(oids, 2)):
            hom.add(shown[nk])
    report.homonym_splits = sorted(hom)

    # ---- write (set-based: the per-listing work is joins)
    listing_owner = names[["listing_id", "owner_id"]]
    keys = listings[["listing_id", "address_key"]].copy()
    keys["address_generic"] = keys["address_key"].map(lambda k: None if k is None else generic_of.get(k, False))
    temp_table(con, "_adnet_owner_info", owner_info)
    temp_table(con, "_adnet_variants", variants.astype(object))
    temp_table(con, "_adnet_listing_owner", listing_owner.astype(object))
    temp_table(con, "_adnet_listing_keys", keys.astype(object))
    try:
        replace_table(con, OWNERS, """
            SELECT CAST(lo.owner_id AS VARCHAR) AS owner_id, any_value(CAST(i.name AS VARCHAR)) AS name,
                   count(DISTINCT d.phone) AS n_phones, count(*) AS n_listings,
                   list(DISTINCT d.name ORDER BY d.name) AS variants,
                   coalesce(list(DISTINCT CAST(k.address_key AS VARCHAR) ORDER BY CAST(k.address_key AS VARCHAR))
                            FILTER (WHERE k.address_key IS NOT NULL), []::VARCHAR[]) AS address_keys,
                   any_value(CAST(i.resolution AS VARCHAR)) AS resolution
            FROM _adnet_listing_owner lo
            JOIN directory_listings d ON d.listing_id = CAST(lo.listing_id AS VARCHAR)
            JOIN _adnet_listing_keys k ON CAST(k.listing_id AS VARCHAR) = d.listing_id
            JOIN _adnet_owner_info i ON CAST(i.owner_id AS VARCHAR) = CAST(lo.owner_id AS VARCHAR)
            GROUP BY lo.owner_id ORDER BY owner_id""")
        replace_table(con, OWNER_VARIANTS, """
            SELECT CAST(owner_id AS VARCHAR) AS owner_id, CAST(name AS VARCHAR) AS name,
                   CAST(name_norm AS VARCHAR) AS name_norm, CAST(address_key AS VARCHAR) AS address_key,
                   CAST(n_listings AS BIGINT) AS n_listings, CAST(rule AS VARCHAR) AS rule,
                   CAST(score AS DOUBLE) AS score, CAST(matched_to AS VARCHAR) AS matched_to
            FROM _adnet_variants ORDER BY owner_id, name, address_key""")
        phones_filter = ("WHERE d.phone IN (SELECT phone FROM phones)" if table_exists(con, "phones") else "WHERE false")
        report.n_matches = replace_table(con, DIRECTORY_MATCHES, f"""
            SELECT d.phone,
                   CASE WHEN coalesce(d.visibility, 'public') = 'public' THEN CAST(o.owner_id AS VARCHAR) END AS owner_id,
                   d.name, d.address, CAST(k.address_key AS VARCHAR) AS address_key,
                   CAST(k.address_generic AS BOOLEAN) AS address_generic,
                   d.postcode, d.city, d.listed_at, d.listing_id, coalesce(d.visibility, 'public') AS visibility
            FROM directory_listings d
            LEFT JOIN _adnet_listing_owner o ON CAST(o.listing_id AS VARCHAR) = d.listing_id
            LEFT JOIN _adnet_listing_keys k ON CAST(k.listing_id AS VARCHAR) = d.listing_id
            {phones_filter}
            ORDER BY d.phone, d.listing_id""")
    finally:
        for table in ("_adnet_owner_info", "_adnet_variants", "_adnet_listing_owner", "_adnet_listing_keys"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
    return report
