"""Synthetic phone numbers: number series, allocation and display styles.

A *block* (series block) is the set of 10,000 numbers that share everything but
their last four digits; it is written as the E.164 prefix, e.g. ``+474123``.
``NumberPlan`` hands out numbers and guarantees that no number is handed out
twice (unrelated actors never share a number by accident).

``render`` turns a number into the string an ad shows, in plain styles
("+47 412 34 567", "0047-41234567", "tlf: 41 23 45 67") or obfuscated ones
(look-alike letters, spelled-out digits, full-width digits, odd separators).
A display never omits the country code when the number is foreign to the
ad's market, because numbers without a country code are read in the ad's
country.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

#: region -> (country calling code, national significant number length)
REGIONS: dict[str, tuple[str, int]] = {
    "NO": ("47", 8),
    "SE": ("46", 9),
    "DK": ("45", 8),
    "FI": ("358", 9),
    "RO": ("40", 9),
    "LT": ("370", 8),
    "RU": ("7", 10),
    "PL": ("48", 9),
}

_CC_TO_REGION = {cc: r for r, (cc, _) in REGIONS.items()}

#: national trunk prefix used when a number is written without country code
TRUNK = {"NO": "", "SE": "0", "DK": "", "FI": "0", "RO": "0", "LT": "8", "RU": "8", "PL": ""}


def _block_prefix(rng: random.Random, region: str) -> str:
    """A random mobile block prefix (national digits minus the last four)."""
    d = lambda k: "".join(str(rng.randint(0, 9)) for _ in range(k))  # noqa: E731
    if region == "NO":
        return rng.choice("49") + d(3)
    if region == "SE":
        return "7" + rng.choice("02369") + d(3)
    if region == "DK":
        return rng.choice(["20", "21", "22", "23", "24", "25", "26", "27", "28", "29", "30", "31",
                           "40", "41", "42", "50", "51", "52", "53", "60", "61"]) + d(2)
    if region == "FI":
        return rng.choice(["40", "41", "44", "45", "46", "50"]) + d(3)
    if region == "RO":
        return "7" + rng.choice("2345678") + d(3)
    if region == "LT":
        return "6" + d(3)
    if region == "RU":
        return "9" + d(5)
    if region == "PL":
        return rng.choice("5678") + d(4)
    raise ValueError(region)


def e164(region: str, national: str) -> str:
    return "+" + REGIONS[region][0] + national


def split_e164(phone: str) -> tuple[str, str]:
    """(region, national digits) of an E.164 string made by this module."""
    digits = phone[1:]
    for k in (3, 2, 1):
        r = _CC_TO_REGION.get(digits[:k])
        if r and len(digits) - k == REGIONS[r][1]:
            return r, digits[k:]
    raise ValueError(phone)


def block_of(phone: str) -> str:
    return phone[:-4]


class NumberPlan:
    """Allocates unique numbers; remembers every number handed out."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()
        self.blocks_taken: set[str] = set()  # blocks reserved as busy / network blocks

    def fresh_block(self, region: str) -> str:
        """A block nobody has reserved yet (returned as E.164 prefix)."""
        while True:
            b = e164(region, _block_prefix(self.rng, region))
            if b not in self.blocks_taken:
                self.blocks_taken.add(b)
                return b

    def take(self, phone: str) -> bool:
        if phone in self.used:
            return False
        self.used.add(phone)
        return True

    def in_block(self, block: str, lo: int = 0, hi: int = 9999) -> str:
        """A free number in ``block`` with last four digits in [lo, hi]."""
        for _ in range(10000):
            p = f"{block}{self.rng.randint(lo, hi):04d}"
            if self.take(p):
                return p
        raise RuntimeError(f"block {block} [{lo},{hi}] is full")

    def random_number(self, region: str) -> str:
        """A free number in a random block (not reserved as busy/network block)."""
        while True:
            b = e164(region, _block_prefix(self.rng, region))
            if b in self.blocks_taken:
                continue
            p = f"{b}{self.rng.randint(0, 9999):04d}"
            if self.take(p):
                return p

    def run(self, block: str, k: int, *, lo: int = 0, hi: int = 9999, max_gap: int = 5) -> list[str]:
        """``k`` free numbers bought together: ascending, gaps of 1..max_gap."""
        for _ in range(2000):
            span = k * max_gap
            start = self.rng.randint(lo, max(lo, hi - span))
            vals, n = [], start
            for _i in range(k):
                vals.append(n)
                n += self.rng.randint(1, max_gap)
            if vals[-1] > 9999:
                continue
            out = [f"{block}{v:04d}" for v in vals]
            if all(p not in self.used for p in out):
                for p in out:
                    self.used.add(p)
                return out
        raise RuntimeError(f"no room for a run of {k} in {block}")


# --------------------------------------------------------------------------
# displays
# --------------------------------------------------------------------------

WORDS = {
    "no": ["null", "en", "to", "tre", "fire", "fem", "seks", "sju", "åtte", "ni"],
    "sv": ["noll", "ett", "två", "tre", "fyra", "fem", "sex", "sju", "åtta", "nio"],
    "da": ["nul", "en", "to", "tre", "fire", "fem", "seks", "syv", "otte", "ni"],
    "en": ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"],
}
LANG_OF_COUNTRY = {"NO": "no", "SE": "sv", "DK": "da", "FI": "en"}

#: digit groupings of the national number, written with country code
_INTL_GROUPS = {
    "NO": [(3, 2, 3), (2, 2, 2, 2), (8,), (4, 4)],
    "SE": [(2, 3, 2, 2), (9,), (2, 7)],
    "DK": [(2, 2, 2, 2), (8,), (4, 4)],
    "FI": [(2, 3, 4), (9,), (2, 7)],
}
#: digit groupings of the national form (trunk prefix included)
_NAT_GROUPS = {
    "NO": [(3, 2, 3), (2, 2, 2, 2), (8,), (4, 4)],
    "SE": [(3, 3, 2, 2), (3, 7), (10,)],
    "DK": [(2, 2, 2, 2), (8,), (4, 4)],
    "FI": [(3, 3, 4), (3, 7), (10,)],
}
_GENERIC_GROUPS = [(3, 3, 3), (4, 4), (20,)]

PLAIN_LABELS = ["", "", "", "", "tlf: ", "Tlf. ", "Ring ", "SMS: ", "mob. ", "📞 ", "Tel: ", "Call/SMS ", "☎ "]
PREFIXES = ["none", "none", "none", "plus", "plus_tight", "00", "00_dash", "paren"]
SEPARATORS = [" ", " ", " ", "-", ".", ""]
ODD_SEPS = ["*", " * ", "//", "_", "~", "🌸", "|", " - ", "..", "🔥"]
OBF_KINDS = ["lookalike", "words", "fullwidth", "spaced", "oddsep", "mixed"]
_LOOKALIKE = {"0": ["O", "o"], "1": ["l", "I"], "5": ["S"], "8": ["B"], "2": ["Z"]}


@dataclass(frozen=True)
class Style:
    """How one ad writes one number. ``obf`` is '' for plain styles."""

    prefix: str  # none / plus / plus_tight / 00 / 00_dash / paren
    group: int  # index into the grouping lists
    sep: str
    label: str
    obf: str = ""
    seed: int = 0  # drives the choices inside an obfuscation
    lang: str = ""  # for spelled-out digits; '' = the ad country's language


def random_style(rng: random.Random, obfuscate: bool) -> Style:
    if not obfuscate:
        return Style(rng.choice(PREFIXES), rng.randrange(4), rng.choice(SEPARATORS), rng.choice(PLAIN_LABELS))
    kind = rng.choice(OBF_KINDS)
    lang = "" if rng.random() < 0.75 else "en"
    label = rng.choice(["", "", "", "tlf: ", "SMS ", "ring "])
    return Style(rng.choice(["none", "none", "none", "plus"]), rng.randrange(4), rng.choice([" ", " ", "-"]),
                 label, kind, rng.getrandbits(32), lang)


def _group(digits: str, groups: tuple[int, ...], sep: str) -> str:
    out, i = [], 0
    for g in groups:
        if i >= len(digits):
            break
        out.append(digits[i:i + g])
        i += g
    if i < len(digits):
        out.append(digits[i:])
    return sep.join(out)


def _plain(region: str, national: str, style: Style, need_cc: bool) -> tuple[str, str]:
    """(prefix text, digit text) of the plain rendering."""
    cc = REGIONS[region][0]
    prefix = style.prefix
    if prefix == "none" and need_cc:
        prefix = "plus"
    if prefix == "none":
        nat = TRUNK[region] + national
        groups = _NAT_GROUPS.get(region, _GENERIC_GROUPS)
        return "", _group(nat, groups[style.group % len(groups)], style.sep)
    groups = _INTL_GROUPS.get(region, _GENERIC_GROUPS)
    body = _group(national, groups[style.group % len(groups)], style.sep)
    if prefix == "plus":
        return f"+{cc} ", body
    if prefix == "plus_tight":
        return f"+{cc}", body.replace(" ", "")
    if prefix == "00":
        return f"00{cc} ", body
    if prefix == "00_dash":
        return f"00{cc}-", body.replace(" ", "")
    return f"(+{cc}) ", body


def render(phone: str, style: Style, ad_country: str) -> tuple[str, bool]:
    """The displayed string for ``phone`` in an ad targeting ``ad_country``.

    Returns (raw, obfuscated).
    """
    region, national = split_e164(phone)
    need_cc = region != ad_country
    pre, body = _plain(region, national, style, need_cc)
    if not style.obf:
        return style.label + pre + body, False
    r = random.Random(style.seed)
    digits_only = "".join(ch for ch in body if ch.isdigit())
    kind = style.obf
    if kind == "lookalike":
        idx = [i for i, ch in enumerate(body) if ch in _LOOKALIKE]
        if idx:
            pick = set(r.sample(idx, min(len(idx), r.randint(1, 3))))
            body = "".join(r.choice(_LOOKALIKE[ch]) if i in pick else ch for i, ch in enumerate(body))
            return style.label + pre + body, True
        kind = "spaced"
    if kind == "words":
        lang = style.lang or LANG_OF_COUNTRY.get(ad_country, "en")
        sep = r.choice([" ", " ", "-", ", "])
        return style.label + pre + sep.join(WORDS[lang][int(c)] for c in digits_only), True
    if kind == "mixed":
        lang = style.lang or LANG_OF_COUNTRY.get(ad_country, "en")
        parts = [WORDS[lang][int(c)] if r.random() < 0.5 else c for c in digits_only]
        if all(p.isdigit() for p in parts):
            parts[0] = WORDS[lang][int(digits_only[0])]
        return style.label + pre + " ".join(parts), True
    if kind == "fullwidth":
        text = (pre + body).translate(_FULLWIDTH)
        return style.label + text, True
    if kind == "spaced":
        return style.label + pre + " ".join(digits_only), True
    if kind == "oddsep":
        sep = r.choice(ODD_SEPS)
        pairs = [digits_only[i:i + 2] for i in range(0, len(digits_only), 2)]
        return style.label + pre + sep.join(pairs), True
    raise ValueError(kind)


_FULLWIDTH = str.maketrans({**{str(d): chr(0xFF10 + d) for d in range(10)}, "+": "＋"})


def directory_display(rng: random.Random, phone: str) -> str:
    """How a directory extract writes a number (plain; country code when not Norwegian)."""
    region, national = split_e164(phone)
    cc = REGIONS[region][0]
    if region == "NO":
        return rng.choice([
            national, national, f"+47 {national}", f"{national[:3]} {national[3:5]} {national[5:]}",
            f"+47{national}", f"47{national}" if rng.random() < 0.2 else national,
        ])
    return rng.choice([f"+{cc} {national}", f"+{cc}{national}", f"00{cc} {national}"])
