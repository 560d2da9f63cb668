"""Untrusted text (ads, directory rows) made safe to write into files other tools open.

One rule for every export: line ends become ``\\n``; C0 controls except tab and newline, DEL,
C1 controls, lone surrogates and U+FFFE/U+FFFF are removed (XML 1.0 cannot hold them, and
spreadsheets and graph tools choke on them). So are the bidirectional embedding, override and
isolate controls (U+202A..U+202E, U+2066..U+2069): an ad's name ending in U+202E would show the
text after it (a city, a number) reversed in a map topic or a cell, and no name or city needs them
(right-to-left scripts display right without them; the marks U+200E/U+200F stay).
"""

from __future__ import annotations

import re

CONTROL_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]")


def strip_controls(text: str) -> str:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return CONTROL_CHARS.sub("", text)


# CONTROL_CHARS as RE2, for DuckDB (its text is valid UTF-8, so it holds no lone surrogates to remove).
CONTROL_CHARS_RE2 = r"[\x{0}-\x{8}\x{b}-\x{1f}\x{7f}-\x{9f}\x{202a}-\x{202e}\x{2066}-\x{2069}\x{fffe}\x{ffff}]"


def strip_controls_sql(expr: str) -> str:
    """SQL for :func:`strip_controls` of the VARCHAR expression ``expr`` (NULL stays NULL). Most text holds
    no control character (CR is one): only text that does is rewritten."""
    text = f"replace(replace({expr}, chr(13) || chr(10), chr(10)), chr(13), chr(10))"
    return (f"CASE WHEN regexp_matches({expr}, '{CONTROL_CHARS_RE2}') "
            f"THEN regexp_replace({text}, '{CONTROL_CHARS_RE2}', '', 'g') ELSE {expr} END")


def xml_text_sql(expr: str) -> str:
    """SQL for the VARCHAR expression ``expr`` escaped as XML element text (``& < >``); text holding none
    of them is left as it is."""
    return (f"CASE WHEN regexp_matches({expr}, '[&<>]') "
            f"THEN replace(replace(replace({expr}, '&', '&amp;'), '<', '&lt;'), '>', '&gt;') ELSE {expr} END")
