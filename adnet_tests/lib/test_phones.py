"""Tests for adnet_assets.lib.phones.

All numbers are synthetic: +47 4xx/9xx, +46 70x, +45 20/.., +358 40/50.
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from adnet_assets.lib import phones
from adnet_assets.lib.phones import (
    KINDS,
    TABLE_DTYPES,
    ParsedPhone,
    deobfuscate,
    parse_phone,
    parse_phone_table,
)

NO1 = "+4741234567"
NO2 = "+4798765432"
SE1 = "+46701234567"
DK1 = "+4520123456"
FI1 = "+358401234567"

V, P = "valid", "possible"
UNPARSEABLE = [(None, "unparseable", False)]

# (raw, default_country, [(phone, status, obfuscated), ...])
CASES: list[tuple[str, str | None, list[tuple[str | None, str, bool]]]] = [
    # --- Norway: international, 00, national, grouped --------------------
    ("+47 412 34 567", "NO", [(NO1, V, False)]),
    ("0047-41234567", "NO", [(NO1, V, False)]),
    ("412.34.567", "NO", [(NO1, V, False)]),
    ("tlf: 41 23 45 67", "NO", [(NO1, V, False)]),
    ("(+47) 98 76 54 32", "NO", [(NO2, V, False)]),
    ("mob. 412 34 567 (ring etter kl 18)", "NO", [(NO1, V, False)]),
    ("Ring 41234567 etter kl 10", "NO", [(NO1, V, False)]),
    ("+47 (0) 41234567", "NO", [(NO1, V, False)]),
    ("4741234567", "NO", [(NO1, V, False)]),
    ("41-23-45-67", "NO", [(NO1, V, False)]),
    ("18+ 41234567", "NO", [(NO1, V, False)]),
    # --- Sweden -----------------------------------------------------------
    ("+46 70-123 45 67", "NO", [(SE1, V, False)]),
    ("070 123 45 67", "SE", [(SE1, V, False)]),
    ("0046 70 123 45 67", "SE", [(SE1, V, False)]),
    ("+46 (0)70-123 45 67", "SE", [(SE1, V, False)]),
    ("70 123 45 67", "SE", UNPARSEABLE),  # SE national numbers need the trunk 0
    ("070 123 45 67", "NO", UNPARSEABLE),  # a Swedish national form read in NO
    # --- Denmark ----------------------------------------------------------
    ("+45 20 12 34 56", "NO", [(DK1, V, False)]),
    ("20 12 34 56", "DK", [(DK1, V, False)]),
    ("0045 20123456", "DK", [(DK1, V, False)]),
    # --- Finland ----------------------------------------------------------
    ("+358 40 123 4567", "NO", [(FI1, V, False)]),
    ("040 123 4567", "FI", [(FI1, V, False)]),
    ("050-1234567", "FI", [("+358501234567", V, False)]),
    ("00100 Helsinki", "FI", UNPARSEABLE),  # postcode
    # --- no default country: only international forms --------------------
    ("41234567", None, UNPARSEABLE),
    ("+4741234567", None, [(NO1, V, False)]),
    ("0047 41234567", None, [(NO1, V, False)]),
    # --- number words -------------------------------------------------------
    ("fire en to tre fire fem seks sju", "NO", [(NO1, V, True)]),
    ("ni åtte sju seks fem fire tre to", "NO", [(NO2, V, True)]),
    ("NI-ÅTTE-SYV-SEKS-FEM-FIRE-TRE-TO", "NO", [(NO2, V, True)]),
    ("fireentotrefirefemsekssju", "NO", [(NO1, V, True)]),
    ("fire en, to tre, fire fem, seks sju", "NO", [(NO1, V, True)]),
    ("+47 fire én to tre fire fem seks sju", "NO", [(NO1, V, True)]),
    ("noll sju noll ett två tre fyra fem sex sju", "SE", [(SE1, V, True)]),
    ("to nul en to tre fire fem seks", "DK", [(DK1, V, True)]),
    ("nine eight seven six five four three two", "NO", [(NO2, V, True)]),
    ("nolla neljä nolla yksi kaksi kolme neljä viisi kuusi seitsemän", "FI", [(FI1, V, True)]),
    ("41 to tre 45 seks sju", "NO", [(NO1, V, True)]),
    ("fire en to tre 4567", "NO", [(NO1, V, True)]),
    # --- look-alike letters -------------------------------------------------
    ("4l2 3O 567", "NO", [("+4741230567", V, True)]),
    ("tlf: 9OO 12 345", "NO", [("+4790012345", V, True)]),
    ("mobil: 4I2 34 567", "NO", [(NO1, V, True)]),
    ("Ring Ola 9l2 34 567", "NO", [("+4791234567", V, True)]),
    ("OO47 41234567", "NO", [(NO1, V, True)]),
    ("41 OO 45 67", "NO", [("+4741004567", V, True)]),
    ("4|234567", "NO", [(NO1, V, True)]),
    # --- Unicode digits and separators ---------------------------------------
    ("４１２３４５６７", "NO", [(NO1, V, True)]),
    ("＋４７ ９８７ ６５ ４３２", "NO", [(NO2, V, True)]),
    ("𝟗𝟖𝟕𝟔𝟓𝟒𝟑𝟐", "NO", [(NO2, V, True)]),
    ("❹❶❷❸❹❺❻❼", "NO", [(NO1, V, True)]),
    ("4️⃣1️⃣2️⃣ 34 567", "NO", [(NO1, V, True)]),
    ("412\u00a034\u00a0567", "NO", [(NO1, V, False)]),  # NBSP is not obfuscation
    ("412\u200934\u2009567", "NO", [(NO1, V, False)]),  # thin space
    ("412–34–567", "NO", [(NO1, V, False)]),  # en dash
    ("41·23·45·67", "NO", [(NO1, V, False)]),  # middle dot
    # --- odd separators -------------------------------------------------------
    ("4 1 2 3 4 5 6 7", "NO", [(NO1, V, True)]),
    ("+47 9 8 7 6 5 4 3 2", "NO", [(NO2, V, True)]),
    ("41*23*45*67", "NO", [(NO1, V, True)]),
    ("41_23_45_67", "NO", [(NO1, V, True)]),
    ("98🔥76🔥54🔥32", "NO", [(NO2, V, True)]),
    ("41 ★ 23 ★ 45 ★ 67", "NO", [(NO1, V, True)]),
    ("41\u200b23\u200b45\u200b67", "NO", [(NO1, V, True)]),  # zero-width spaces
    ("41|23|45|67", "NO", [(NO1, V, True)]),
    # --- mixed obfuscations -----------------------------------------------------
    ("+47 4l2*34*567", "NO", [(NO1, V, True)]),
    ("９ｌ2 34 567", "NO", [("+4791234567", V, True)]),
    ("fire 1 to 3 fire 5 seks 7", "NO", [(NO1, V, True)]),
    # --- ordinary words that are also number words -------------------------------
    ("Jeg er ny i byen, ring to ganger", "NO", UNPARSEABLE),
    ("Ring meg to ganger, sex er gøy", "NO", UNPARSEABLE),
    ("Ni jenter, en to tre fire fem", "NO", UNPARSEABLE),
    ("en to tre fire", "NO", UNPARSEABLE),
    ("sex en to tre", "SE", UNPARSEABLE),
    ("Sex 41234567", "NO", [(NO1, V, False)]),
    ("sex 4123 4567 to tre fire", "NO", [(NO1, V, False)]),  # no word converted
    ("Toni 41234567", "NO", [(NO1, V, False)]),
    ("Ring Ola på mobil 41234567", "NO", [(NO1, V, False)]),
    ("I kveld: 41234567 I", "NO", [(NO1, V, False)]),
    ("lol 41234567", "NO", [(NO1, V, False)]),
    # --- prices, ages, times, dates, postcodes, short numbers --------------------
    ("1500 kr", "NO", UNPARSEABLE),
    ("1 500,-", "NO", UNPARSEABLE),
    ("23 år", "NO", UNPARSEABLE),
    ("10-22", "NO", UNPARSEABLE),
    ("Åpent 10.00-22.00", "NO", UNPARSEABLE),
    ("22.00-03.00", "NO", UNPARSEABLE),  # would be the valid Oslo number 22000300
    ("20:00 - 23:00", "DK", UNPARSEABLE),
    ("24.12.2024", "NO", UNPARSEABLE),  # would be the valid Oslo number 24122024
    ("4000-7000", "NO", UNPARSEABLE),  # price range, 40007000 is a valid mobile
    ("Pris 4000-7000", "NO", UNPARSEABLE),
    ("0150 Oslo", "NO", UNPARSEABLE),
    ("4123456", "NO", UNPARSEABLE),  # 7 digits: NO numbers have 8
    ("12345", "NO", UNPARSEABLE),  # 5-digit NO service number, not a person
    ("10002200", "NO", UNPARSEABLE),  # "possible" by length, but no NO number starts with 1
    ("Jeg er 23 år, 165 cm, 1500 kr/t. Ring 412 34 567", "NO", [(NO1, V, False)]),
    ("Ring meg 24/7 på 412 34 567", "NO", [(NO1, V, False)]),
    ("412 34 567 24/7", "NO", [(NO1, V, False)]),
    ("41234567 1500kr", "NO", [(NO1, V, False)]),
    ("kr 1500 41234567", "NO", [(NO1, V, False)]),
    ("41234567kr", "NO", [(NO1, V, False)]),
    # --- two numbers in one string ------------------------------------------------
    ("41234567 / 98765432", "NO", [(NO1, V, False), (NO2, V, False)]),
    ("41234567, 98765432", "NO", [(NO1, V, False), (NO2, V, False)]),
    ("41 23 45 67 98 76 54 32", "NO", [(NO1, V, False), (NO2, V, False)]),
    ("Tlf 41234567 (sms) eller 98765432", "NO", [(NO1, V, False), (NO2, V, False)]),
    ("+47 412 34 567 eller +46 70 123 45 67", "NO", [(NO1, V, False), (SE1, V, False)]),
    ("41234567 ❤ 98765432", "NO", [(NO1, V, False), (NO2, V, False)]),
    ("98765432 / 4l234567", "NO", [(NO2, V, False), (NO1, V, True)]),
    (
        "fire en to tre fire fem seks sju, ni åtte sju seks fem fire tre to",
        "NO",
        [(NO1, V, True), (NO2, V, True)],
    ),
    ("41234567 (41234567)", "NO", [(NO1, V, False)]),  # reported once
    ("41 23 45 67 89", "NO", UNPARSEABLE),  # 41234567 or 23456789? ambiguous
    # --- possible but not valid: kept, flagged ----------------------------------
    ("42 12 34 56", "NO", [("+4742123456", P, False)]),
    ("+47 44 55 66 77", "NO", [("+4744556677", P, False)]),
    ("49.12.34.56", "NO", [("+4749123456", P, False)]),
    # --- empty, whitespace, emoji, markup ---------------------------------------
    ("", "NO", UNPARSEABLE),
    ("   \n\t", "NO", UNPARSEABLE),
    ("📞 41 23 45 67 💋", "NO", [(NO1, V, False)]),
    ("<b>Ring</b> 412&nbsp;34&nbsp;567 😘", "NO", [(NO1, V, False)]),
    ('<a href="tel:+4741234567">412 34 567</a>', "NO", [(NO1, V, False)]),
    ("Ring meg!<br>98765432<br/>", "NO", [(NO2, V, False)]),
]


@pytest.mark.parametrize(("raw", "country", "expected"), CASES, ids=[repr(c[0])[:40] for c in CASES])
def test_parse_phone_cases(
    raw: str, country: str | None, expected: list[tuple[str | None, str, bool]]
) -> None:
    result = parse_phone(raw, country)
    got = [(p.phone, p.status, p.obfuscated) for p in result]
    assert got == expected
    assert [p.index for p in result] == list(range(len(result)))
    for p in result:
        assert p.raw == raw
        assert p.default_country == country
        assert p.obfuscated == bool(p.obfuscation)
        if p.status == "valid":
            assert p.reason is None
            assert p.region is not None
        else:
            assert p.reason  # a short explanation
        if p.status == "unparseable":
            assert p.region is None and p.number_type is None


def test_case_table_is_big_enough() -> None:
    assert len(CASES) >= 40


# --------------------------------------------------------------------------
# Field details
# --------------------------------------------------------------------------


def test_fields_of_a_valid_mobile() -> None:
    (p,) = parse_phone("+47 412 34 567")
    assert p == ParsedPhone(
        raw="+47 412 34 567",
        default_country="NO",
        index=0,
        phone=NO1,
        region="NO",
        status="valid",
        number_type="mobile",
        obfuscated=False,
        obfuscation="",
        reason=None,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.phone = None  # type: ignore[misc]


@pytest.mark.parametrize(
    ("raw", "country", "region", "number_type"),
    [
        # phonenumbers cannot tell DK mobiles from landlines: most come back
        # fixed_line_or_mobile, some sub-ranges mobile, none fixed_line.
        ("20 12 34 56", "DK", "DK", "fixed_line_or_mobile"),
        ("43 12 34 56", "DK", "DK", "mobile"),
        ("22 33 44 55", "NO", "NO", "fixed_line"),
        ("070 123 45 67", "SE", "SE", "mobile"),
        ("040 123 4567", "FI", "FI", "mobile"),
        ("42 12 34 56", "NO", "NO", "unknown"),  # possible numbers have no type
    ],
)
def test_region_and_number_type(raw: str, country: str, region: str, number_type: str) -> None:
    (p,) = parse_phone(raw, country)
    assert (p.region, p.number_type) == (region, number_type)


def test_possible_number_reason() -> None:
    (p,) = parse_phone("42 12 34 56")
    assert p.status == "possible"
    assert "possible" in p.reason


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("4123456", "not a possible number for NO"),
        ("", "empty"),
        ("ring to ganger", "no digits"),
        ("1500 kr", "prices"),
        ("41 23 45 67 89", "ambiguous"),
    ],
)
def test_unparseable_reasons(raw: str, fragment: str) -> None:
    (p,) = parse_phone(raw)
    assert p.status == "unparseable" and p.phone is None
    assert fragment in p.reason


def test_obfuscation_is_per_number_and_comma_joined() -> None:
    first, second = parse_phone("41*23*45*67 / 9８765432")
    assert (first.phone, first.obfuscation) == (NO1, "odd_separators")
    assert (second.phone, second.obfuscation) == (NO2, "unicode_digits")
    (p,) = parse_phone("+47 4l2*34*567")
    assert p.obfuscation == "lookalike_letters,odd_separators"


def test_lowercase_and_unknown_default_country() -> None:
    assert parse_phone("41234567", "no")[0].phone == NO1
    (p,) = parse_phone("41234567", "XX")
    assert p.status == "unparseable"
    assert parse_phone("+4741234567", "XX")[0].phone == NO1


# --------------------------------------------------------------------------
# deobfuscate
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "text", "kinds"),
    [
        ("+47 412 34 567", "+47 412 34 567", ()),
        ("4l2 3O 567", "412 30 567", ("lookalike_letters",)),
        ("tlf: 4l2 34 567", "tlf: 412 34 567", ("lookalike_letters",)),
        ("Ring Ola, mobil", "Ring Ola, mobil", ()),
        ("fire en to tre fire fem seks sju", "41234567", ("number_words",)),
        ("41 to tre 45 seks sju", "41 23 45 67", ("number_words",)),
        ("Jeg er ny i byen, ring to ganger", "Jeg er ny i byen, ring to ganger", ()),
        ("Sex og to øl", "Sex og to øl", ()),
        ("４１２３４５６７", "41234567", ("unicode_digits",)),
        ("412\u00a034–567", "412 34-567", ()),
        ("41*23*45*67", "41 23 45 67", ("odd_separators",)),
        ("4 1 2 3 4 5 6 7", "41234567", ("odd_separators",)),
        ("m² 60", "m² 60", ()),
        (
            "Ｏ4l 23*45*67 + fire en to tre fire fem seks sju",
            "041 23 45 67 + 41234567",
            ("lookalike_letters", "number_words", "odd_separators"),
        ),
    ],
)
def test_deobfuscate(raw: str, text: str, kinds: tuple[str, ...]) -> None:
    assert deobfuscate(raw) == (text, kinds)


def test_deobfuscate_kinds_are_known_and_sorted() -> None:
    assert KINDS == tuple(sorted(KINDS))
    _, kinds = deobfuscate("9l2*34*567 ４ fire en to tre fire fem seks sju")
    assert kinds == tuple(sorted(kinds)) and set(kinds) <= set(KINDS)


def test_min_word_run_is_configurable() -> None:
    assert deobfuscate("fire en to tre 4567") == ("4123 4567", ("number_words",))
    assert deobfuscate("fire en to tre 4567", min_word_run=5) == ("fire en to tre 4567", ())
    assert parse_phone("fire en to tre 4567", min_word_run=5)[0].status == "unparseable"
    # Three words + five digits is eight, but below the default word minimum.
    assert deobfuscate("fire en to 34567")[1] == ()


# --------------------------------------------------------------------------
# parse_phone_table
# --------------------------------------------------------------------------


def test_table_schema_empty_and_full() -> None:
    empty = parse_phone_table(pd.DataFrame({"raw": [], "default_country": []}))
    full = parse_phone_table(
        pd.DataFrame(
            {
                "raw": ["41234567 / 98765432", "1500 kr", "070 123 45 67", None],
                "default_country": ["NO", "NO", "SE", "NO"],
            }
        )
    )
    assert list(empty.columns) == list(TABLE_DTYPES) == [f.name for f in dataclasses.fields(ParsedPhone)]
    assert len(empty) == 0
    assert empty.dtypes.equals(full.dtypes)
    assert {c: str(t) for c, t in full.dtypes.items()} == TABLE_DTYPES
    assert full["phone"].tolist()[:2] == [NO1, NO2]
    assert full["index"].tolist() == [0, 1, 0, 0, 0]
    assert full["status"].tolist() == ["valid", "valid", "unparseable", "valid", "unparseable"]
    assert full["obfuscation"].tolist() == ["", "", "", "", ""]
    assert full["phone"].isna().tolist() == [False, False, True, False, True]


def test_table_missing_values() -> None:
    frame = pd.DataFrame(
        {"raw": ["41234567", None, float("nan"), "+4741234567"], "default_country": ["NO", "NO", pd.NA, None]},
        dtype=object,
    )
    out = parse_phone_table(frame)
    assert out["status"].tolist() == ["valid", "unparseable", "unparseable", "valid"]
    assert out["raw"].isna().tolist() == [False, True, True, False]
    assert out["default_country"].isna().tolist() == [False, False, True, True]
    assert out["phone"].tolist()[3] == NO1


def test_table_parses_each_distinct_pair_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str | None]] = []
    real = phones.parse_phone

    def counting(raw: str, default_country: str | None = "NO", **kw: object) -> list[ParsedPhone]:
        calls.append((raw, default_country))
        return real(raw, default_country)

    monkeypatch.setattr(phones, "parse_phone", counting)
    frame = pd.DataFrame(
        {
            "raw": ["41234567", "41234567", "41234567", "070 123 45 67", "41234567"],
            "default_country": ["NO", "NO", "SE", "SE", None],
        }
    )
    out = parse_phone_table(frame)
    assert calls == [("41234567", "NO"), ("41234567", "SE"), ("070 123 45 67", "SE"), ("41234567", None)]
    assert out["phone"].tolist()[:1] == [NO1]
    assert len(out) == 4


# --------------------------------------------------------------------------
# Property-based tests
# --------------------------------------------------------------------------

_NO_WORDS = {
    "0": ["null"],
    "1": ["en", "ein", "én"],
    "2": ["to"],
    "3": ["tre"],
    "4": ["fire"],
    "5": ["fem"],
    "6": ["seks"],
    "7": ["sju", "syv"],
    "8": ["åtte"],
    "9": ["ni"],
}
_FULL_WIDTH = str.maketrans("0123456789+", "０１２３４５６７８９＋")


def _grouped(n: str, sizes: tuple[int, ...], sep: str) -> str:
    parts, i = [], 0
    for size in sizes:
        parts.append(n[i : i + size])
        i += size
    return sep.join(parts)


_FORMATS = {
    "plain": lambda n: n,
    "pairs": lambda n: _grouped(n, (2, 2, 2, 2), " "),
    "three-two-three": lambda n: _grouped(n, (3, 2, 3), " "),
    "four-four": lambda n: _grouped(n, (4, 4), " "),
    "dotted": lambda n: _grouped(n, (2, 2, 2, 2), "."),
    "dotted-323": lambda n: _grouped(n, (3, 2, 3), "."),
    "dashed": lambda n: _grouped(n, (2, 2, 2, 2), "-"),
    "plus47": lambda n: "+47 " + _grouped(n, (3, 2, 3), " "),
    "plus47-tight": lambda n: "+47" + n,
    "paren-plus47": lambda n: "(+47) " + n,
    "0047": lambda n: "0047 " + n,
    "0047-dashed": lambda n: "0047-" + _grouped(n, (2, 2, 2, 2), "-"),
    "full-width": lambda n: n.translate(_FULL_WIDTH),
    "full-width-plus47": lambda n: ("+47 " + _grouped(n, (2, 2, 2, 2), " ")).translate(_FULL_WIDTH),
    "labelled": lambda n: "Tlf: " + _grouped(n, (2, 2, 2, 2), " ") + " 😘",
}


@st.composite
def no_mobiles(draw: st.DrawFn) -> str:
    first = draw(st.sampled_from("49"))
    rest = draw(st.text(alphabet="0123456789", min_size=7, max_size=7))
    return first + rest


@st.composite
def spelled_out(draw: st.DrawFn, number: str) -> str:
    sep = draw(st.sampled_from([" ", "-", ", ", ""]))
    words = [draw(st.sampled_from(_NO_WORDS[d])) for d in number]
    text = sep.join(words)
    return draw(st.sampled_from([text, text.upper(), text.capitalize()]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(number=no_mobiles(), fmt=st.sampled_from(sorted(_FORMATS)))
def test_property_no_mobile_formats_round_trip(number: str, fmt: str) -> None:
    if fmt == "four-four":
        # "4000 7000"-style round halves are treated as a price range.
        assume(not (number[:4].endswith("00") and number[4:].endswith("00")))
    display = _FORMATS[fmt](number)
    result = parse_phone(display, "NO")
    assert [p.phone for p in result] == ["+47" + number], display
    assert result[0].status in ("valid", "possible")
    assert result[0].obfuscated == fmt.startswith("full-width")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), number=no_mobiles())
def test_property_no_mobile_spelled_out(data: st.DataObject, number: str) -> None:
    display = data.draw(spelled_out(number))
    result = parse_phone(display, "NO")
    assert [p.phone for p in result] == ["+47" + number], display
    assert result[0].obfuscated
    assert "number_words" in result[0].obfuscation


_COUNTRIES = st.sampled_from(["NO", "SE", "DK", "FI", None, "xx"])


@settings(max_examples=500, deadline=None)
@given(raw=st.text(), country=_COUNTRIES)
def test_property_never_raises(raw: str, country: str | None) -> None:
    result = parse_phone(raw, country)
    assert result
    assert [p.index for p in result] == list(range(len(result)))
    for p in result:
        assert p.status in ("valid", "possible", "unparseable")
        assert (p.phone is None) == (p.status == "unparseable")
    text, kinds = deobfuscate(raw)
    assert isinstance(text, str) and set(kinds) <= set(KINDS)


_POOL = [c[0] for c in CASES[:30]] + ["", "41234567 / 98765432", "sex to tre"]


@settings(max_examples=100, deadline=None)
@given(
    pairs=st.lists(
        st.tuples(st.one_of(st.sampled_from(_POOL), st.text(max_size=30)), _COUNTRIES),
        max_size=12,
    ),
    data=st.data(),
)
def test_property_table_dedupes(pairs: list[tuple[str, str | None]], data: st.DataObject) -> None:
    distinct = list(dict.fromkeys(pairs))
    duplicated = distinct + [data.draw(st.sampled_from(distinct)) for _ in range(5)] if distinct else []
    duplicated = data.draw(st.permutations(duplicated))
    # First-appearance order of the duplicated frame defines the row order.
    order = list(dict.fromkeys(duplicated))

    def frame(rows: list[tuple[str, str | None]]) -> pd.DataFrame:
        return pd.DataFrame(
            {"raw": [r for r, _ in rows], "default_country": [c for _, c in rows]}, dtype=object
        )

    got = parse_phone_table(frame(duplicated))
    expected = parse_phone_table(frame(order))
    pd.testing.assert_frame_equal(got, expected)
    assert len(got) == sum(len(parse_phone(r, c)) for r, c in order)


@pytest.mark.parametrize("raw, country, expected", [
    ("tlf: +47 499 84 422", "DK", "+4749984422"),   # the displayed +47 binds, whatever the ad's country
    ("+47 499 84 422", "SE", "+4749984422"),
    ("47Z 57 499", "NO", "+4747257499"),             # Z for 2
    ("ring 98B75OZ4", "NO", "+4798875024"),          # B for 8, O for 0, Z for 2
    ("tlf: 426 3B 4B0", "NO", "+4742638480"),
    ("tlf: +47 930lS283", "NO", "+4793015283"),      # S for 5
])
def test_international_prefix_binds_and_more_lookalikes(raw, country, expected):
    (found,) = parse_phone(raw, country)
    assert found.phone == expected


@pytest.mark.parametrize("text", ["SMS only", "BBW 24/7", "Storgata 12B, 0150 Oslo", "ZZ Top"])
def test_capital_lookalikes_in_words_and_addresses_stay_letters(text):
    assert all(p.phone is None for p in parse_phone(text, "NO"))


@pytest.mark.parametrize("raw, country, expected", [
    ("4 6 3 en 3 ni fem 5", "NO", "+4746313955"),             # digits and words interleaved
    ("+47 nio 7 0 4 9 2 sju nio", "SE", "+4797049279"),
    ("ring +47 fire 9 sju 6 4 to 2 0", "NO", "+4749764220"),
    ("+358 four 6 2 6 8 6 8 four 8", "FI", "+358462686848"),
    ("40//23//14//24", "NO", "+4740231424"),                  # doubled slashes
    ("SMS +46 76|19|03|92|6", "SE", "+46761903926"),          # pipes, last group a single digit
])
def test_more_obfuscations_seen_in_ads(raw, country, expected):
    (found,) = parse_phone(raw, country)
    assert found.phone == expected and found.obfuscated


@pytest.mark.parametrize("raw", ["📞 0047-43474817", "Call/SMS 0047 43 47 48 17", "mob. 0047 43474817"])
def test_a_0047_prefix_binds_like_plus_47_in_any_country(raw):
    for country in ("DK", "NO", "SE"):
        (found,) = parse_phone(raw, country)
        assert found.phone == "+4743474817" and not found.obfuscated


@pytest.mark.parametrize("text", ["ring meg 2 til 3 ganger", "1 eller 2 timer, to jenter", "åpen 10 - 22, fem dager"])
def test_short_mixed_word_runs_stay_words(text):
    assert all(p.phone is None for p in parse_phone(text, "NO"))
