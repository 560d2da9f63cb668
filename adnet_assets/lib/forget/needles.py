"""The search strings that give the target away (``Needles``), and ``REPLACEMENT``, what scrubbing
puts in their place.

For a number: its digits with or without country code and with any of `` .-/\\`` between them, and
every displayed form the inputs hold that read as it; for a person: every written spelling,
case-insensitive, in any word order, also JSON-escaped. They are one Python pattern; inside DuckDB a
cheaper RE2 prefilter chooses the rows, which the Python pattern confirms (RE2 compiles
case-insensitive Unicode classes too slowly to run the exact pattern there; see ``sql.confirm``)."""

from __future__ import annotations

import itertools
import json
import re
import unicodedata
from dataclasses import dataclass

import phonenumbers

from adnet_assets.lib.directory import fold_name

REPLACEMENT = "[forgotten]"
_MAX_PERMUTED_WORDS = 4  # a name of up to 4 words is searched in every word order
_SEP = "[ .\\-/\\\\]{0,3}"  # between the digits of a number: space . - / and markdown's backslash


def _lit(text: str, re2: bool) -> str:
    """``text`` as a literal in a Python or an RE2 pattern (the two escape control characters differently)."""
    out = []
    for ch in text:
        if ch.isascii() and ch.isalnum():
            out.append(ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{{{ord(ch):02x}}}" if re2 else f"\\x{ord(ch):02x}")
        elif ch.isascii():
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def _digits(digits: str) -> str:
    return _SEP.join(digits)


def _json_escaped(text: str) -> str:
    return json.dumps(text)[1:-1]


@dataclass(frozen=True)
class Needles:
    """The strings that give the target away.

    ``search``/``scrub`` use one Python pattern: a number's digits (country code optional, any of
    `` .-/\\`` between digits, no digit on either side), every displayed form that read as it, and
    each spelling of a name as words in any order (up to 4 words) separated by up to 4 non-letters,
    case-insensitive, also with its letters JSON-escaped (``S\\u00f8ren``) or folded (``soren``).
    Inside DuckDB, ``prefilter_sql`` is a cheaper RE2 pattern that matches at least everything the
    Python pattern matches (a name by its longest word alone: RE2 compiles case-insensitive Unicode
    classes very slowly); the rows it lets through are confirmed with ``search``."""

    phones: tuple[str, ...] = ()
    raw_strings: tuple[str, ...] = ()
    spellings: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.phones or self.raw_strings or self.spellings)

    def _number_parts(self, re2: bool) -> list[str]:
        left, right = ("(?:^|[^0-9])", "(?:[^0-9]|$)") if re2 else ("(?<![0-9])", "(?![0-9])")
        parts = []
        for e164 in self.phones:
            number = phonenumbers.parse(e164)
            nsn = phonenumbers.national_significant_number(number)
            national = re.sub(r"\D", "", phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL))
            parts.append(f"{left}(?:(?:\\+|00)?{number.country_code}{_SEP})?{_digits(nsn)}{right}")
            if national and national != nsn:
                parts.append(f"{left}{_digits(national)}{right}")
        parts += ["(?i:" + _lit(raw, re2) + ")" for raw in sorted(set(self.raw_strings)) if raw and raw.strip()]
        return parts

    def _words(self) -> list[list[set[str]]]:
        """Per spelling, per word: the forms it may be written in."""
        out = []
        for spelling in sorted(set(self.spellings)):
            words = re.findall(r"[^\W_]+", unicodedata.normalize("NFC", spelling))
            spelled = []
            for word in words:
                forms = {word, word.lower(), word.upper(), word.title(), fold_name(word)}
                forms |= {_json_escaped(f) for f in list(forms)}  # \u00f8 and \u00d8 differ in more than case
                spelled.append({f.lower(): f for f in sorted(forms) if f}.values())
            if spelled:
                out.append([set(forms) for forms in spelled])
        return out

    def python_pattern(self) -> re.Pattern | None:
        parts = self._number_parts(re2=False)
        for words in self._words():
            alts = ["(?:" + "|".join(_lit(f, False) for f in sorted(forms)) + ")" for forms in words]
            orders = itertools.permutations(alts) if len(alts) <= _MAX_PERMUTED_WORDS else [alts]
            parts += ["(?i:(?<![^\\W_])" + "[\\W_]{1,4}".join(order) + "(?![^\\W_]))" for order in orders]
        parts = list(dict.fromkeys(parts))
        return re.compile("|".join(parts)) if parts else None

    def prefilter_re2(self) -> str | None:
        """For DuckDB's ``regexp_matches``: matches whatever ``search`` matches (and a little more)."""
        parts = self._number_parts(re2=True)
        for words in self._words():
            longest = max(words, key=lambda forms: max(len(f) for f in forms))
            parts.append("(?i:" + "|".join(_lit(f, True) for f in sorted(longest)) + ")")
        parts = list(dict.fromkeys(parts))
        return "|".join(parts) if parts else None

    def prefilter_sql(self, column_sql: str) -> str:
        """SQL boolean: the text of ``column_sql`` may hold a search string (confirm with ``search``)."""
        pattern = self.prefilter_re2()
        if pattern is None:
            return "false"
        return f"coalesce(regexp_matches({column_sql}, '" + pattern.replace("'", "''") + "'), false)"

    def search(self, text: str) -> bool:
        pattern = _compiled(self)
        return bool(pattern and pattern.search(text))

    def scrub(self, text: str) -> str:
        """``text`` with every search string replaced by ``[forgotten]``."""
        pattern = _compiled(self)  # boundaries are look-arounds: only the number or name itself goes
        return text if pattern is None else pattern.sub(REPLACEMENT, text)


_PATTERNS: dict[Needles, re.Pattern | None] = {}


def _compiled(needles: Needles) -> re.Pattern | None:
    if needles not in _PATTERNS:
        _PATTERNS[needles] = needles.python_pattern()
    return _PATTERNS[needles]
