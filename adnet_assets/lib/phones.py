"""Read phone numbers as they are displayed in ads, obfuscations included.

Every phone number adnet extracts becomes an edge between ads (and, through
them, between the people behind the ads). A wrongly read number links
strangers, so this module is deliberately conservative: it would rather say
"unparseable" than guess.

Pipeline for one raw string (``parse_phone``):

1. **Normalise markup** (silently, not counted as obfuscation): NFC, HTML
   entities, HTML tags.
2. **Deobfuscate** (``deobfuscate``), recording which *kinds* of obfuscation
   were undone, per output character, so each number found can say whether
   *it* was obfuscated:

   ``unicode_digits``
       Any Unicode decimal digit (full-width ``４``, Arabic-Indic, maths bold
       ...) plus circled / dingbat digits (``①``, ``❶``) and keycap emoji
       (``4️⃣``) become ASCII digits. Superscripts (``m²``) are left alone.
       Unicode spaces (NBSP, thin space), dashes (en dash, minus) and dots
       (middle dot, bullet) become `` ``, ``-`` and ``.`` silently: they are
       what word processors and HTML produce, not obfuscation.
   ``lookalike_letters``
       ``O o`` -> ``0``, ``I l |`` -> ``1`` (plus Cyrillic/Greek O and
       Cyrillic I), and upper-case ``S`` -> ``5``, ``Z`` -> ``2``, ``B`` -> ``8``. Only inside *number-like runs*: tokens (letters, digits,
       pipes) containing no other letter, joined by ordinary separators, with
       at least as many digits as look-alikes in the run. Within such a run a
       token converts if it holds a real digit ("4l2", "3O", "9OO 12 345") or
       is two or more look-alikes between two such tokens ("41 OO 45 67"). So
       "tlf", "Ring Ola", "mobil", "I kveld", "lol" are never touched.
       Pipes between digit groups of two or more ("41|23|45|67") are read as
       odd separators, otherwise ``|`` is a 1 ("4|234567").
   ``number_words``
       Digits spelled out in Norwegian, Swedish, Danish, English and Finnish,
       case-insensitive, separated by spaces, commas, dots, dashes or nothing
       ("firetoen"). Many of these are ordinary words ("en", "to", "sex",
       "ni", "fire", "one"), so only *runs* count: a run is a sequence of
       number words and digit groups joined only by those separators. A
       single number word at either end of a run, next to a block of 3+
       digits, is dropped from it ("sex 4123 4567 ..." keeps "sex"). The
       run converts only when it holds at least
       ``min_word_run`` (default 4) number words and at least
       ``MIN_RUN_LENGTH`` (8) digits-or-words in total, so "ring to ganger",
       "en to tre fire" (4 words, nothing number-like) and any "sex" in prose
       stay words. Mixed runs convert: "41 to tre 45 seks sju" -> "41 23 45
       67" (separators between two words are dropped, or become one space
       if they hold a comma; separators next to digit groups are kept).
   ``odd_separators``
       Separators meant to break scrapers: a gap between two digits that
       contains stars, underscores, ``#``, ``~``, ``=``, emoji or other
       symbols, or invisible characters (zero-width space...) becomes a single
       space ("41*23*45*67", "41🔥23"); four or more single digits split by
       spaces/dots/dashes ("4 1 2 3 4 5 6 7") are joined. Ordinary grouping
       ("41 23 45 67", "412.34.567", "070-123 45 67", "(+47)") is *not*
       obfuscation.

3. **Mask things that look like numbers but are not**: dates ("24.12.2024"
   would otherwise be the valid Oslo number 24122024), time ranges
   ("22.00-03.00" would be 22000300), "kl 10-22", and prices next to a
   currency marker ("1 500 kr", "kr 2500", "1500,-").
4. **Find chains**: digit groups joined by at most three ordinary separator
   characters (space, ``.``, ``-``, parentheses), optionally led by ``+``,
   ``(+`` or ``+(``. A ``+`` right after a letter/digit ("18+") is not an
   international prefix. ``/``, ``,``, ``:`` and letters end a chain.
   "+46 (0)70..." drops the "(0)".
5. **Split each chain into numbers** with a small dynamic programme over its
   digit groups (groups are never cut): each run of consecutive groups is
   read with ``phonenumbers.parse`` (digits only, so phonenumbers' vanity
   letter conversion never kicks in), leftover groups are ignored
   ("412 34 567 24/7"). The best split maximises (valid numbers, possible
   numbers, digits covered), so "+47 412 34 567" is read whole and
   "41 23 45 67 98 76 54 32" as two numbers. If two *different* splits tie
   ("41 23 45 67 89": 41234567 or 23456789?) the chain is ambiguous and
   yields nothing.

A reading is accepted as

* ``valid``: ``phonenumbers.is_valid_number``;
* ``possible``: only ``is_possible_number``, and *plausible*: either inside a
  known range the library's metadata lags behind (Norway's official 4x/9x
  mobile ranges: phonenumbers rejects 42, 43, 44, 49 and 4536), or some valid
  number of the same country and length starts with the same two digits.
  This keeps "42 12 34 56" (flagged) but rejects "10002200" (no Norwegian
  number starts with 1).

and in both cases only when the national significant number has at least
``MIN_NSN_LENGTH`` (7) digits (short codes, postcodes and prices are not
people's phones; every NO/DK number has 8, SE/FI subscriber numbers 7+) and,
for a national reading in a country with a trunk prefix (SE, FI: "0"), when
the digits start with that prefix ("070 ..." yes, "70 ..." or a time "10
002 200" no). phonenumbers' own "country code without plus" reading
("4741234567" in NO) is kept.

Output: one ``ParsedPhone`` per distinct number, in order of appearance, or a
single ``unparseable`` one with a reason. ``obfuscation`` is the sorted kinds
that touched *that* number, comma-joined ("" if none); for an unparseable
row it is every kind found in the string.

phonenumbers quirks this works around (9.0.43):

* ``parse`` converts letters to keypad digits: ``parse("Ring 41234567 etter
  kl 10", "NO")`` gives +4741234567388375510; we only ever parse digits.
* ``PhoneNumberMatcher`` (``Leniency.POSSIBLE``) finds nothing in
  "412 34 567 24/7" or "41 23 45 67 98 76 54 32", and returns
  "22.00-03.00" (+4722000300, valid) and "24.12.2024" (+4724122024, valid
  even at ``Leniency.VALID``) as phones; hence the own chain finder.
* ``is_possible_number`` only checks lengths: "10002200" is "possible" in
  NO and "12345" too (NO has 5-digit numbers).
* The NO metadata rejects parts of the 4x/9x mobile ranges (42, 43, 44, 49,
  4536), so real new numbers come back "possible", never "valid".
* DK numbers are portable between fixed and mobile and the DK metadata's
  fixed/mobile patterns overlap: phonenumbers returns
  ``fixed_line_or_mobile`` for most DK numbers (20123456, 50123456), plain
  ``mobile`` for some sub-ranges (43123456, 34412345) and never
  ``fixed_line``. number_type cannot tell a DK mobile from a landline.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, fields
from functools import lru_cache

import pandas as pd
import phonenumbers
from phonenumbers import (
    CountryCodeSource,
    NumberParseException,
    PhoneNumber,
    PhoneNumberFormat,
    PhoneNumberType,
)
from phonenumbers.phonenumberutil import ValidationResult

__all__ = [
    "KINDS",
    "MIN_NSN_LENGTH",
    "MIN_RUN_LENGTH",
    "MIN_WORD_RUN",
    "ParsedPhone",
    "TABLE_DTYPES",
    "deobfuscate",
    "parse_phone",
    "parse_phone_table",
]

# --------------------------------------------------------------------------
# Tunables
# --------------------------------------------------------------------------

#: Minimum number words in a run before it is converted to digits.
MIN_WORD_RUN = 4
#: Minimum digits-or-words in a word run (a Nordic number has >= 8 digits).
MIN_RUN_LENGTH = 8
#: Longer strings are not a displayed number: unparseable at once, never a minutes-long parse.
MAX_RAW_CHARS = 2000
#: Minimum national significant number length accepted as a person's phone.
MIN_NSN_LENGTH = 7
#: Longest digit string read as one number (E.164 max 15 + "00").
MAX_DIGITS = 17

# --------------------------------------------------------------------------
# Obfuscation kinds (bit flags per output character)
# --------------------------------------------------------------------------

LOOKALIKE_LETTERS = "lookalike_letters"
NUMBER_WORDS = "number_words"
ODD_SEPARATORS = "odd_separators"
UNICODE_DIGITS = "unicode_digits"

#: Every obfuscation kind, sorted.
KINDS: tuple[str, ...] = (LOOKALIKE_LETTERS, NUMBER_WORDS, ODD_SEPARATORS, UNICODE_DIGITS)
_BIT = {kind: 1 << i for i, kind in enumerate(KINDS)}


def _kinds(bits: int) -> tuple[str, ...]:
    return tuple(kind for kind in KINDS if bits & _BIT[kind])


# --------------------------------------------------------------------------
# Word tables
# --------------------------------------------------------------------------

_WORDS_BY_DIGIT: dict[str, tuple[str, ...]] = {
    # Norwegian (bokmål + nynorsk), Swedish, Danish, English, Finnish.
    "0": ("null", "noll", "nul", "zero", "oh", "nolla"),
    "1": ("en", "ein", "én", "eitt", "ett", "et", "one", "yksi"),
    "2": ("to", "två", "two", "kaksi"),
    "3": ("tre", "three", "kolme"),
    "4": ("fire", "fyra", "four", "neljä"),
    "5": ("fem", "five", "viisi"),
    "6": ("seks", "sex", "six", "kuusi"),
    "7": ("sju", "syv", "seven", "seitsemän"),
    "8": ("åtte", "åtta", "otte", "eight", "kahdeksan"),
    "9": ("ni", "nio", "nine", "yhdeksän"),
}
_NUMBER_WORDS: dict[str, str] = {
    word: digit for digit, words in _WORDS_BY_DIGIT.items() for word in words
}
_WORD_LENGTHS = tuple(sorted({len(w) for w in _NUMBER_WORDS}, reverse=True))

_LOOKALIKES: dict[str, str] = {
    "O": "0", "o": "0", "\u041e": "0", "\u043e": "0", "\u039f": "0", "\u03bf": "0",
    "I": "1", "l": "1", "|": "1", "\u0406": "1", "\u04c0": "1",
    # Upper-case S, Z, B stand in for 5, 2, 8 ("98B75OZ4"); like the others they convert only
    # inside number-like runs, never in words ("SMS", "BBW" hold no digit and stay letters).
    "S": "5", "Z": "2", "B": "8",
}

# --------------------------------------------------------------------------
# Regexes (compiled once)
# --------------------------------------------------------------------------

_TAG_RE = re.compile(r"<[a-zA-Z/!][^<>]{0,500}>")
_KEYCAP_RE = re.compile("([0-9])\ufe0f?\u20e3")
_LOOKALIKE_TOKEN_RE = re.compile(r"(?:[^\W_]|\|)+")
_PIPE_SEPARATED_RE = re.compile(r"\d{2,}(?:\|\d{2,})+(?:\|\d)?")
_ORDINARY_GAP_RE = re.compile(r"[ \t.\-]{1,3}")
_WORD_TOKEN_RE = re.compile(r"[^\W\d_]+|\d+")
_RUN_GAP_RE = re.compile(r"[ \t,.\-]*")
_DIGIT_GAP_RE = re.compile(r"(?<=\d)(?:[^\w\n]|_){1,16}(?=\d)")
_SPLIT_DIGITS_RE = re.compile(r"(?<!\d)\d(?:(?:[ \t]{1,3}|[ \t]?[.\-][ \t]?)\d(?!\d)){3,}")
_NON_DIGIT_RE = re.compile(r"\D+")

_AMOUNT = r"(?:\d{1,3}(?:[ .]\d{3}){1,2}|\d{1,6})(?!\d)"  # <= 6 digits: not a phone
_CURRENCY = r"(?:kr|nok|sek|dkk|eur|euro|usd|kroner|kronor)"
_MASK_RES = (
    # Dates: 24.12.2024, 1/5-2024, 2024-12-24.
    re.compile(
        r"(?<![\d+])(?:(?:0?[1-9]|[12]\d|3[01])([./\-])(?:0?[1-9]|1[0-2])\1(?:19|20)\d\d"
        r"|(?:19|20)\d\d-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01]))(?!\d)"
    ),
    # Time ranges: 10.00-22.00, 22:00 - 03:00.
    re.compile(
        r"(?<![\d+])(?:[01]?\d|2[0-4])[.:][0-5]\d\s*-\s*(?:[01]?\d|2[0-4])[.:][0-5]\d(?!\d)"
    ),
    # "kl 10", "kl. 10.30-22".
    re.compile(
        r"\bkl\b\.?\s*\d{1,2}(?:[.:]\d\d)?(?:\s*-\s*\d{1,2}(?:[.:]\d\d)?)?(?!\d)",
        re.IGNORECASE,
    ),
    # Prices: "1 500 kr", "1500,-", "2000:-", "150 €".
    re.compile(
        rf"(?<![\d+]){_AMOUNT}(?:[.,]\d{{1,2}})?(?:\s*{_CURRENCY}\b|,-|:-|\s*[€$£])",
        re.IGNORECASE,
    ),
    # Prices: "kr 1500", "NOK 2 000", "pris: 1500", "€150".
    re.compile(
        rf"(?:\b(?:{_CURRENCY}|pris|price)\b\.?:?|[€$£])\s*{_AMOUNT}(?!\d)", re.IGNORECASE
    ),
)
_ZERO_TRUNK_RE = re.compile(r"(\+\s?\(?\s?\d{1,3}\)?)\s?\(0\)")
_CHAIN_RE = re.compile(
    r"(?P<plus>(?<![\w+])(?:\(\s?\+\s?|\+\s?\(?\s?))?(?P<body>\d+(?:[ \t.\-()]{1,3}\d+)*)"
)
_DIGITS_RE = re.compile(r"\d+")

_ODD_ASCII = frozenset("*_#~^=\\`'\"!?")
_SEPARATOR_ASCII = frozenset(" \t.-/(),;")
_ODD_CATEGORIES = frozenset({"So", "Sk", "Sm", "Cf", "Co", "Mn", "Me"})
_DOTS = frozenset("\u00b7\u2022\u2024\u2027\u2219\u22c5\u30fb\uff0e\u3002\uff65")


# --------------------------------------------------------------------------
# Marked text: a string plus one obfuscation bitmask per character
# --------------------------------------------------------------------------

_Edit = tuple[int, int, str, int]  # start, end, replacement, kind bit


def _apply_edits(text: str, marks: list[int], edits: list[_Edit]) -> tuple[str, list[int]]:
    """Apply sorted, non-overlapping edits; replacements inherit the marks
    of what they replace, plus their own kind bit."""
    if not edits:
        return text, marks
    parts: list[str] = []
    new_marks: list[int] = []
    pos = 0
    for start, end, replacement, bit in edits:
        parts.append(text[pos:start])
        new_marks.extend(marks[pos:start])
        inherited = bit
        for mark in marks[start:end]:
            inherited |= mark
        parts.append(replacement)
        new_marks.extend([inherited] * len(replacement))
        pos = end
    parts.append(text[pos:])
    new_marks.extend(marks[pos:])
    return "".join(parts), new_marks


@lru_cache(maxsize=8192)
def _map_char(ch: str) -> tuple[str, int]:
    """ASCII replacement for one non-ASCII character, and its kind bit."""
    if ch.isdecimal():
        return str(unicodedata.decimal(ch)), _BIT[UNICODE_DIGITS]
    category = unicodedata.category(ch)
    if category == "No":
        digit = unicodedata.digit(ch, None)
        if digit is not None and not unicodedata.decomposition(ch).startswith(("<super>", "<sub>")):
            return str(digit), _BIT[UNICODE_DIGITS]
        return ch, 0
    if category == "Zs":
        return " ", 0
    if category == "Pd" or ch == "\u2212":
        return "-", 0
    if ch in _DOTS:
        return ".", 0
    if "\uff01" <= ch <= "\uff5e":  # full-width ASCII forms: ＋ （ ｌ Ｏ
        return unicodedata.normalize("NFKC", ch), 0
    return ch, 0


@lru_cache(maxsize=8192)
def _is_odd(ch: str) -> bool:
    """A character that has no business between the digits of a phone."""
    if ch in _ODD_ASCII:
        return True
    if ch.isascii():
        return False
    return unicodedata.category(ch) in _ODD_CATEGORIES


@lru_cache(maxsize=65536)
def _number_word_digits(word: str) -> str | None:
    """Digits for a word made only of number words ("fire", "firetoen"),
    else None. Segmentation is greedy-longest with backtracking (a DP)."""
    w = word.casefold()
    if w in _NUMBER_WORDS:
        return _NUMBER_WORDS[w]
    if len(w) > 80:
        return None
    tail: list[str | None] = [None] * (len(w) + 1)
    tail[len(w)] = ""
    for i in range(len(w) - 1, -1, -1):
        for length in _WORD_LENGTHS:
            rest = tail[i + length] if i + length <= len(w) else None
            if rest is not None and w[i : i + length] in _NUMBER_WORDS:
                tail[i] = _NUMBER_WORDS[w[i : i + length]] + rest
                break
    return tail[0]


# --------------------------------------------------------------------------
# Deobfuscation passes
# --------------------------------------------------------------------------


def _normalise_markup(raw: str) -> str:
    text = unicodedata.normalize("NFC", raw)
    if "&" in text:
        text = html.unescape(text)
    if "<" in text:
        text = _TAG_RE.sub(" ", text)
    return text


def _pass_unicode(text: str, marks: list[int]) -> tuple[str, list[int]]:
    if text.isascii():
        return text, marks
    bit = _BIT[UNICODE_DIGITS]
    edits: list[_Edit] = [(m.start(), m.end(), m.group(1), bit) for m in _KEYCAP_RE.finditer(text)]
    text, marks = _apply_edits(text, marks, edits)
    edits = []
    for i, ch in enumerate(text):
        if not ch.isascii():
            replacement, kind = _map_char(ch)
            if replacement != ch:
                edits.append((i, i + 1, replacement, kind))
    return _apply_edits(text, marks, edits)


_DROP_ASCII_DIGITS = str.maketrans("", "", "0123456789")
assert all(len(key) == 1 for key in _LOOKALIKES)  # a deletion table needs single characters
_DROP_LOOKALIKES = str.maketrans("", "", "".join(_LOOKALIKES))


def _pass_lookalikes(text: str, marks: list[int]) -> tuple[str, list[int]]:
    if not any(ch in text for ch in _LOOKALIKES):
        return text, marks
    # Tokens: (start, end, digits, lookalikes, other letters). Tokens without
    # other letters, joined by ordinary separators, form number-like runs.
    runs: list[list[tuple[int, int, int, int, int]]] = []
    for m in _LOOKALIKE_TOKEN_RE.finditer(text):
        tok = m.group()
        # Counting by deletion (str.translate) is the same count as a per-character
        # membership test, without a Python loop per character (the profile's hot spot).
        digits = len(tok) - len(tok.translate(_DROP_ASCII_DIGITS))
        looks = len(tok) - len(tok.translate(_DROP_LOOKALIKES))
        token = (m.start(), m.end(), digits, looks, len(tok) - digits - looks)
        if token[4]:
            runs.append([])  # a real word ends the run
            continue
        if runs and runs[-1] and _ORDINARY_GAP_RE.fullmatch(text, runs[-1][-1][1], token[0]):
            runs[-1].append(token)
        else:
            runs.append([token])

    bit = _BIT[LOOKALIKE_LETTERS]
    edits: list[_Edit] = []
    for run in runs:
        run_digits = sum(t[2] for t in run)
        run_looks = sum(t[3] for t in run)
        if not run_looks or run_digits < run_looks:
            continue  # not mostly digits: leave "lol", "I", "OO" alone
        for i, (start, end, digits, looks, _) in enumerate(run):
            if not looks:
                continue
            if _PIPE_SEPARATED_RE.fullmatch(text, start, end):
                # "41|23|45|67": pipes between digit groups are separators, not 1s.
                edits.extend(
                    (j, j + 1, " ", _BIT[ODD_SEPARATORS]) for j in range(start, end) if text[j] == "|"
                )
                continue
            sandwiched = (
                looks >= 2 and 0 < i < len(run) - 1 and run[i - 1][2] > 0 and run[i + 1][2] > 0
            )
            if digits or sandwiched:
                edits.extend(
                    (j, j + 1, _LOOKALIKES[text[j]], bit)
                    for j in range(start, end)
                    if text[j] in _LOOKALIKES
                )
    return _apply_edits(text, marks, edits)


def _pass_number_words(text: str, marks: list[int], min_word_run: int) -> tuple[str, list[int]]:
    if text.isdigit() or not any(c.isalpha() for c in text):
        return text, marks
    # Items: (start, end, digits, word_count); word_count 0 for digit groups.
    runs: list[list[tuple[int, int, str, int]]] = []
    current: list[tuple[int, int, str, int]] = []
    for m in _WORD_TOKEN_RE.finditer(text):
        tok = m.group()
        if tok.isdigit():
            item = (m.start(), m.end(), tok, 0)
        else:
            digits = _number_word_digits(tok)
            if digits is None:
                if current:
                    runs.append(current)
                current = []
                continue
            item = (m.start(), m.end(), digits, len(digits))
        if current and _RUN_GAP_RE.fullmatch(text, current[-1][1], item[0]) is None:
            runs.append(current)
            current = []
        current.append(item)
    if current:
        runs.append(current)

    bit = _BIT[NUMBER_WORDS]
    edits: list[_Edit] = []
    for run in runs:
        run = _trim_lone_words(run)
        words = sum(item[3] for item in run)
        total = sum(len(item[2]) for item in run)
        groups = [item[2] for item in run if not item[3]]
        # Words alone need a long run ("ring to ganger" stays words); words interleaved with at
        # least two short digit groups ("4 6 3 en 3 ni fem 5") are a number spelled half out,
        # while words trailing real blocks ("4123 4567 to tre fire") stay words.
        mixed = words >= 1 and len(groups) >= 2 and max(map(len, groups)) <= 3
        if total < MIN_RUN_LENGTH or (words < min_word_run and not mixed):
            continue
        parts = [run[0][2]]
        for prev, item in zip(run, run[1:]):
            gap = text[prev[1] : item[0]]
            if not (prev[3] and item[3]):  # keep separators next to digit groups
                parts.append(gap)
            elif "," in gap:  # "fire en, to tre" groups; "..., ni åtte" may start a new number
                parts.append(" ")
            parts.append(item[2])
        edits.append((run[0][0], run[-1][1], "".join(parts), bit))
    return _apply_edits(text, marks, edits)


def _trim_lone_words(run: list[tuple[int, int, str, int]]) -> list[tuple[int, int, str, int]]:
    """Drop a single number word at either end of a run when its neighbour is
    a real block of digits ("sex 4123 4567 ...", "... 41234567 to"), or when
    it is all the run has. Alternations like "fire 1 to 3" are kept."""

    def lone(word: tuple[int, int, str, int], neighbour: tuple[int, int, str, int] | None) -> bool:
        return word[3] == 1 and (neighbour is None or (not neighbour[3] and len(neighbour[2]) >= 3))

    while run and lone(run[0], run[1] if len(run) > 1 else None):
        run = run[1:]
    while run and lone(run[-1], run[-2] if len(run) > 1 else None):
        run = run[:-1]
    return run


def _pass_separators(text: str, marks: list[int]) -> tuple[str, list[int]]:
    bit = _BIT[ODD_SEPARATORS]
    edits: list[_Edit] = []
    for m in _DIGIT_GAP_RE.finditer(text):
        gap = m.group()
        if gap.count("/") >= 2 and set(gap) <= {"/", " "}:  # "40//23//14//24"
            edits.append((m.start(), m.end(), " ", bit))
        elif any(_is_odd(c) for c in gap) and all(
            _is_odd(c) or c in _SEPARATOR_ASCII or c.isspace() for c in gap
        ):
            edits.append((m.start(), m.end(), " ", bit))
    text, marks = _apply_edits(text, marks, edits)
    edits = [
        (m.start(), m.end(), _NON_DIGIT_RE.sub("", m.group()), bit)
        for m in _SPLIT_DIGITS_RE.finditer(text)
    ]
    return _apply_edits(text, marks, edits)


def _deobfuscate_marked(raw: str, min_word_run: int = MIN_WORD_RUN) -> tuple[str, list[int]]:
    text = _normalise_markup(raw)
    marks = [0] * len(text)
    text, marks = _pass_unicode(text, marks)
    text, marks = _pass_lookalikes(text, marks)
    text, marks = _pass_number_words(text, marks, min_word_run)
    text, marks = _pass_separators(text, marks)
    return text, marks


def deobfuscate(raw: str, *, min_word_run: int = MIN_WORD_RUN) -> tuple[str, tuple[str, ...]]:
    """Undo display obfuscations in ``raw``.

    Returns the cleaned text and the sorted kinds of obfuscation undone
    (names from ``KINDS``). See the module docstring for the rules; in short:
    look-alike letters only inside digit-dominated tokens, number words only
    in runs of >= ``min_word_run`` words and >= 8 digits-or-words, any
    Unicode decimal digit, and odd separators (symbols, emoji, invisible
    characters, every-digit splits) between digits.

    >>> deobfuscate("4l2 3O 567")
    ('412 30 567', ('lookalike_letters',))
    >>> deobfuscate("ring to ganger")
    ('ring to ganger', ())
    """
    text, marks = _deobfuscate_marked(raw, min_word_run)
    bits = 0
    for mark in marks:
        bits |= mark
    return text, _kinds(bits)


# --------------------------------------------------------------------------
# Reading digit strings with phonenumbers
# --------------------------------------------------------------------------

_TYPE_NAMES: dict[int, str] = {
    value: name.lower() for name, value in vars(PhoneNumberType).items() if name.isupper()
}
_POSSIBLE_REASONS: dict[int, str] = {
    ValidationResult.TOO_SHORT: "too short",
    ValidationResult.TOO_LONG: "too long",
    ValidationResult.INVALID_LENGTH: "invalid length",
    ValidationResult.INVALID_COUNTRY_CODE: "invalid country code",
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "only possible as a local number",
}
# Official ranges the library's metadata lags behind, by country code:
# Nkom allocates all of 4x and 9x (8 digits) to mobiles in Norway, but
# phonenumbers rejects 42, 43, 44, 49 and 4536.
_LAGGING_RANGES: dict[int, re.Pattern[str]] = {47: re.compile(r"[49]\d{7}")}


@dataclass(frozen=True, slots=True)
class _Reading:
    status: str  # "valid", "possible" or "unparseable"
    phone: str | None = None
    region: str | None = None
    number_type: str | None = None
    reason: str | None = None


@lru_cache(maxsize=4096)
def _prefix_has_valid_number(country_code: int, length: int, prefix: str) -> bool:
    """Whether some valid number of this country and NSN length starts with
    ``prefix``. Probes a handful of fills, which is enough for the patterns
    in the metadata; only used to vet "possible" readings."""
    fills = [d * length for d in "0123456789"] + ["1" + "0" * length, "123456789" * 2]
    for fill in fills:
        nsn = (prefix + fill)[:length]
        zeros = len(nsn) - len(nsn.lstrip("0"))
        number = PhoneNumber(
            country_code=country_code,
            national_number=int(nsn),
            italian_leading_zero=zeros > 0 or None,
            number_of_leading_zeros=zeros if zeros > 1 else None,
        )
        if phonenumbers.is_valid_number(number):
            return True
    return False


def _plausible(country_code: int, nsn: str) -> bool:
    lagging = _LAGGING_RANGES.get(country_code)
    if lagging is not None and lagging.fullmatch(nsn):
        return True
    return _prefix_has_valid_number(country_code, len(nsn), nsn[:2])


def _region_name(region: str | None) -> str | None:
    return None if region in (None, "ZZ", "001") else region


@lru_cache(maxsize=262144)
def _read(digits: str, international: bool, region: str | None) -> _Reading:
    """Read one digit string (no letters, no separators)."""
    if not international and region is None:
        if not digits.startswith("00"):
            return _Reading("unparseable", reason="no default country to read a national number")
        digits, international = digits[2:], True
    try:
        number = phonenumbers.parse(
            "+" + digits if international else digits,
            None if international else region,
            keep_raw_input=True,
        )
    except NumberParseException as exc:
        return _Reading("unparseable", reason=f"not a phone number: {exc._msg}")
    national_reading = number.country_code_source == CountryCodeSource.FROM_DEFAULT_COUNTRY
    where = region if national_reading else phonenumbers.region_code_for_country_code(number.country_code)
    if where in ("ZZ", "001"):
        where = f"+{number.country_code}"
    check = phonenumbers.is_possible_number_with_reason(number)
    if check != ValidationResult.IS_POSSIBLE:
        return _Reading(
            "unparseable",
            reason=f"not a possible number for {where}: {_POSSIBLE_REASONS.get(check, 'invalid')}"
            f" ({len(phonenumbers.national_significant_number(number))} digits)",
        )
    nsn = phonenumbers.national_significant_number(number)
    if len(nsn) < MIN_NSN_LENGTH:
        return _Reading(
            "unparseable",
            reason=f"too short for a subscriber number in {where} ({len(nsn)} digits)",
        )
    if national_reading:
        trunk = phonenumbers.PhoneMetadata.metadata_for_region(region).national_prefix
        if trunk and not digits.startswith(trunk):
            return _Reading(
                "unparseable", reason=f"national numbers in {region} are written with a leading {trunk}"
            )
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    if phonenumbers.is_valid_number(number):
        return _Reading(
            "valid",
            phone=e164,
            region=_region_name(phonenumbers.region_code_for_number(number)),
            # Note: phonenumbers cannot tell Danish mobiles from landlines;
            # DK numbers come back "fixed_line_or_mobile" (or, for some
            # sub-ranges, "mobile"), never "fixed_line".
            number_type=_TYPE_NAMES.get(phonenumbers.number_type(number), "unknown"),
        )
    if _plausible(number.country_code, nsn):
        return _Reading(
            "possible",
            phone=e164,
            region=_region_name(
                phonenumbers.region_code_for_number(number)
                or phonenumbers.region_code_for_country_code(number.country_code)
            ),
            # number_type is "unknown" for anything is_valid_number rejects.
            number_type=_TYPE_NAMES.get(phonenumbers.number_type(number), "unknown"),
            reason=f"possible number for {where}, but not in phonenumbers' valid ranges",
        )
    return _Reading(
        "unparseable",
        reason=f"not a valid number for {where}: no {len(nsn)}-digit number there starts with {nsn[:2]}",
    )


# --------------------------------------------------------------------------
# Finding numbers in cleaned text
# --------------------------------------------------------------------------


def _mask(text: str) -> str:
    """Blank out dates, time ranges and prices (length-preserving)."""
    if not any(c.isdigit() for c in text):
        return text
    for pattern in _MASK_RES:
        text = pattern.sub(lambda m: "_" * len(m.group()), text)
    return text


def _looks_like_price_range(groups: list[str]) -> bool:
    """"4000-7000", "2000 3000": round amounts, not a phone grouping."""
    return len(groups) > 1 and all(len(g) >= 3 and g.endswith("00") for g in groups)


_Found = tuple[_Reading, int, int]  # reading, span start, span end
_Score = tuple[int, int, int]  # valid, possible, digits covered


def _split_chain(
    groups: list[tuple[int, int, str]], plus_start: int | None, region: str | None
) -> tuple[list[_Found], frozenset[str], _Reading]:
    """Best split of one chain into numbers.

    Returns (numbers, alternatives, reading of the whole chain). A non-empty
    ``alternatives`` means two different splits scored the same: the chain
    is ambiguous and the caller must not trust ``numbers``.
    """
    n = len(groups)
    all_digits = "".join(g[2] for g in groups)
    empty: frozenset[str] = frozenset()
    whole: _Reading | None = None
    if len(all_digits) <= MAX_DIGITS:
        whole = _read(all_digits, plus_start is not None, region)
        # Fast path: a valid reading of everything cannot be beaten, and with
        # fewer than 2 * MIN_NSN_LENGTH digits no split holds two numbers.
        if (
            whole.status == "valid"
            and len(all_digits) < 2 * MIN_NSN_LENGTH
            and not _looks_like_price_range([g[2] for g in groups])
        ):
            start = plus_start if plus_start is not None else groups[0][0]
            return [(whole, start, groups[-1][1])], empty, whole
    # best[i]: (score, numbers, alternatives) for groups[i:]
    best: list[tuple[_Score, list[_Found], frozenset[str]]] = [((0, 0, 0), [], empty)] * (n + 1)
    for i in range(n - 1, -1, -1):
        international = plus_start is not None and i == 0
        if i == 0 and (international or groups[0][2].startswith("00")):
            # A displayed "+47 ..." or "0047 ..." binds: the chain's first number starts at the
            # prefix. Dropping
            # the prefix to read the rest nationally ("+47 499 84 422" read in DK as +4549984422)
            # would swap a number's country; rather nothing than that.
            score, found, alternatives = (-1, 0, 0), [], empty
        else:
            score, found, alternatives = best[i + 1]  # group i left out
        digits = ""
        for j in range(i, n):
            digits += groups[j][2]
            if len(digits) > MAX_DIGITS:
                break
            if len(digits) < MIN_NSN_LENGTH:
                continue  # too short to hold a subscriber number
            reading = _read(digits, international, region)
            if reading.status == "unparseable" or _looks_like_price_range(
                [g[2] for g in groups[i : j + 1]]
            ):
                continue
            rest_score, rest_found, rest_alternatives = best[j + 1]
            cand_score = (
                rest_score[0] + (reading.status == "valid"),
                rest_score[1] + (reading.status == "possible"),
                rest_score[2] + len(digits),
            )
            start = plus_start if international and plus_start is not None else groups[i][0]
            cand_found = [(reading, start, groups[j][1]), *rest_found]
            if cand_score > score:
                score, found, alternatives = cand_score, cand_found, rest_alternatives
            elif cand_score == score:
                phones = [f[0].phone or "" for f in found]
                cand_phones = [f[0].phone or "" for f in cand_found]
                if phones != cand_phones:
                    alternatives = alternatives | rest_alternatives | {*phones, *cand_phones}
        best[i] = (score, found, alternatives)
    if whole is None:
        whole = _Reading(
            "unparseable", reason=f"too long for a phone number ({len(all_digits)} digits)"
        )
    _, found, alternatives = best[0]
    return found, alternatives, whole


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ParsedPhone:
    """One phone number read from one raw string.

    ``status`` is "valid", "possible" (kept and flagged: plausible but
    outside the library's ranges) or "unparseable" (``phone`` is None).
    ``number_type`` is the lowercase ``phonenumbers.PhoneNumberType`` name;
    note phonenumbers cannot tell most DK mobiles from landlines (they come
    back "fixed_line_or_mobile"). ``obfuscation`` is the comma-joined,
    sorted kinds that touched this number ("" when none).
    """

    raw: str
    default_country: str | None
    index: int
    phone: str | None
    region: str | None
    status: str
    number_type: str | None
    obfuscated: bool
    obfuscation: str
    reason: str | None


def _unparseable(raw: str, default_country: str | None, bits: int, reason: str) -> list[ParsedPhone]:
    kinds = _kinds(bits)
    return [
        ParsedPhone(
            raw=raw,
            default_country=default_country,
            index=0,
            phone=None,
            region=None,
            status="unparseable",
            number_type=None,
            obfuscated=bool(kinds),
            obfuscation=",".join(kinds),
            reason=reason,
        )
    ]


def parse_phone(
    raw: str, default_country: str | None = "NO", *, min_word_run: int = MIN_WORD_RUN
) -> list[ParsedPhone]:
    """Every phone number in ``raw``, in order, one ``ParsedPhone`` each.

    National numbers are read in ``default_country`` (ISO alpha-2, any case;
    None reads only "+"/"00" numbers). Duplicates within the string are
    reported once. When nothing can be read, returns a single
    ``status="unparseable"`` entry with a reason. Never raises on str input.
    """
    if not isinstance(raw, str) or not raw.strip():
        return _unparseable(raw, default_country, 0, "empty string")
    if len(raw) > MAX_RAW_CHARS:  # the chain splitter is quadratic in the text's length
        return _unparseable(raw, default_country, 0, f"too long for a displayed number (over {MAX_RAW_CHARS:,} characters)")
    region = default_country.strip().upper() if isinstance(default_country, str) else None
    if region is not None and region not in phonenumbers.SUPPORTED_REGIONS:
        region = None  # unknown market: only international forms can be read

    text, marks = _deobfuscate_marked(raw, min_word_run)
    all_bits = 0
    for mark in marks:
        all_bits |= mark
    text, marks = _apply_edits(
        text, marks, [(m.start(), m.end(), m.group(1), 0) for m in _ZERO_TRUNK_RE.finditer(text)]
    )
    masked = _mask(text)

    results: list[tuple[_Reading, int]] = []
    failure: tuple[int, str] | None = None  # (digits in chain, reason)
    for chain in _CHAIN_RE.finditer(masked):
        body_start, body_end = chain.span("body")
        groups = [
            (m.start(), m.end(), m.group()) for m in _DIGITS_RE.finditer(masked, body_start, body_end)
        ]
        plus_start = chain.start("plus") if chain.group("plus") else None
        found, alternatives, whole = _split_chain(groups, plus_start, region)
        if alternatives:
            found, whole = [], _Reading(
                "unparseable",
                reason=f"ambiguous digit grouping: {' or '.join(sorted(alternatives))}",
            )
        for reading, start, end in found:
            bits = 0
            for mark in marks[start:end]:
                bits |= mark
            results.append((reading, bits))
        n_digits = sum(len(g[2]) for g in groups)
        if not found and whole.reason and (failure is None or n_digits > failure[0]):
            failure = (n_digits, whole.reason)

    out: list[ParsedPhone] = []
    seen: set[str] = set()
    for reading, bits in results:
        if reading.phone in seen:
            continue
        seen.add(reading.phone)  # type: ignore[arg-type]
        kinds = _kinds(bits)
        out.append(
            ParsedPhone(
                raw=raw,
                default_country=default_country,
                index=len(out),
                phone=reading.phone,
                region=reading.region,
                status=reading.status,
                number_type=reading.number_type,
                obfuscated=bool(kinds),
                obfuscation=",".join(kinds),
                reason=reading.reason,
            )
        )
    if out:
        return out
    if failure is not None:
        return _unparseable(raw, default_country, all_bits, failure[1])
    if any(c.isdigit() for c in text):
        return _unparseable(raw, default_country, all_bits, "only dates, times or prices found")
    return _unparseable(raw, default_country, all_bits, "no digits found")


#: Output schema of ``parse_phone_table`` (same for empty and full frames).
TABLE_DTYPES: dict[str, str] = {
    "raw": "string",
    "default_country": "string",
    "index": "int64",
    "phone": "string",
    "region": "string",
    "status": "string",
    "number_type": "string",
    "obfuscated": "bool",
    "obfuscation": "string",
    "reason": "string",
}
assert tuple(TABLE_DTYPES) == tuple(f.name for f in fields(ParsedPhone))


def _as_text(value: object) -> str | None:
    """None for missing values (None, NA, NaN), else the value as str."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    return value if isinstance(value, str) else str(value)


def parse_phone_table(pairs: pd.DataFrame) -> pd.DataFrame:
    """Parse each distinct (raw, default_country) pair once.

    Input columns ``raw`` and ``default_country`` (missing values allowed).
    Output: one row per (raw, default_country, index), columns and dtypes as
    in ``TABLE_DTYPES`` (pandas "string" for text, NA for missing; ``index``
    int64; ``obfuscated`` bool), in order of first appearance.
    """
    columns: dict[str, list[object]] = {name: [] for name in TABLE_DTYPES}
    if len(pairs):
        raws = [_as_text(v) for v in pairs["raw"].tolist()]
        countries = [_as_text(v) for v in pairs["default_country"].tolist()]
        for raw, country in dict.fromkeys(zip(raws, countries)):
            for parsed in parse_phone(raw, country):  # type: ignore[arg-type]
                for name, values in columns.items():
                    values.append(getattr(parsed, name))
    return pd.DataFrame(
        {name: pd.array(values, dtype=TABLE_DTYPES[name]) for name, values in columns.items()}
    )
