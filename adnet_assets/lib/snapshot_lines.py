"""Reading the lines of verified snapshots into typed observations, set-based in DuckDB.

Python touches each *file* (hash, BOM, UTF-8 check); every *line* is split, validated and typed
by SQL over the whole batch. A bad line (not UTF-8, not JSON, no ``ad_id``, wrong types, too
long, ``ad_id``/``seen_at``/``phones`` written twice in one object, an ``ad_id`` or a ``phones``
text too long to be one, a second copy of an ad in one crawl) is set aside with its file, line
number and reason while the rest of its snapshot loads. A BOM at the start of a line (files
pasted together) is dropped like the file's own. Optional fields with a wrong type (or an ``age``
no BIGINT holds) are set to NULL and named in ``problems``; the raw line is always kept.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

import duckdb

DEFAULT_MAX_LINE_BYTES = 1_000_000
QUARANTINE_LINE_CHARS = 10_000
#: An ``ad_id`` is a site's identifier; one longer than this is not one (and would become an ad key everywhere).
MAX_AD_ID_CHARS = 256
#: A number as displayed ("tlf: +47 412 34 567, helst sms") is short; a longer text in ``phones`` (or in a
#: directory or billing phone field) is other text put there, and reading it would cost time without end.
MAX_PHONE_CHARS = 500


def invalid_utf8_lines(data: bytes) -> list[int]:
    """1-based numbers of lines holding bytes that are not UTF-8 (linear in the file size)."""
    bad: list[int] = []
    view = memoryview(data)
    pos = 0
    while pos < len(data):
        try:
            codecs.utf_8_decode(view[pos:], "strict", True)
            break
        except UnicodeDecodeError as exc:
            at = pos + exc.start
            line_no = data.count(b"\n", 0, at) + 1
            bad.append(line_no)
            nxt = data.find(b"\n", at)
            if nxt < 0:
                break
            pos = nxt + 1
    return bad


def decode_ads_file(data: bytes) -> tuple[str, list[int]]:
    """The file as text (BOM stripped, undecodable bytes replaced) and the lines that were not UTF-8.

    JSON lines are UTF-8; a file that starts with a UTF-16 or UTF-32 byte-order mark (a Windows tool's
    "Unicode" export) says what it is and is read as such (line numbers are the same)."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    elif data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        wide = "utf-32" if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)) else "utf-16"
        try:
            return data.decode(wide), []
        except UnicodeDecodeError:
            pass  # not that after all: read as UTF-8 below, bad lines set aside
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="replace"), invalid_utf8_lines(data)


LINES_DDL = """
CREATE OR REPLACE TEMP TABLE lines (
  "window" VARCHAR, site VARCHAR, snapshot_id VARCHAR, source_file VARCHAR,
  line_no BIGINT, line VARCHAR, utf8_ok BOOLEAN)
"""

# A line is kept when it holds something besides the spaces ``trim`` takes away (Unicode space
# separators): tested by a regular expression that stops at the first such character, where
# ``trim`` reads the whole line. A CR at the end and a BOM at the start are cut only from the lines
# that have them (``rtrim``/``ltrim`` read the whole line too).
_NOT_BLANK = r"[^ \x{a0}\x{1680}\x{2000}-\x{200a}\x{202f}\x{205f}\x{3000}]"

_INSERT_LINES = f"""
INSERT INTO lines
SELECT $window, $site, $snapshot_id, $source_file, line_no, line, NOT list_contains($bad, line_no)
FROM (
  SELECT CASE WHEN starts_with(line, chr(65279)) THEN ltrim(line, chr(65279)) ELSE line END AS line, line_no
  FROM (
    SELECT CASE WHEN suffix(line, chr(13)) THEN rtrim(line, chr(13)) ELSE line END AS line, line_no
    FROM (SELECT unnest(parts) AS line, generate_subscripts(parts, 1) AS line_no
          FROM (SELECT string_split($text, chr(10)) AS parts))
  )
)
WHERE regexp_matches(line, '{_NOT_BLANK}')
"""


@dataclass(frozen=True)
class SnapshotText:
    window: str
    site: str
    snapshot_id: str
    source_file: str
    text: str
    invalid_utf8: list[int]


def add_lines(con: duckdb.DuckDBPyConnection, snap: SnapshotText) -> None:
    con.execute(_INSERT_LINES, {
        "window": snap.window, "site": snap.site, "snapshot_id": snap.snapshot_id,
        "source_file": snap.source_file, "text": snap.text, "bad": snap.invalid_utf8,
    })


_SEEN_AT_RE = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|z|[+-]\d{2}(:?\d{2})?)$"

#: The fields read from a line, in the order of the one ``json_extract`` that reads them all.
_FIELDS = ("ad_id", "seen_at", "phones", "url", "country", "city", "title", "text", "name", "age", "images", "tour",
           "contact")

# Step 1: each line parsed once and checked once, in order. ``json_valid`` checks it is JSON; a
# valid line whose first character is ``{`` is an object; one ``json_extract`` with every field's path
# reads all fields from one parse into small JSON values (``f_<field>``), which the checks and the
# observation columns read (cheap) instead of the whole line again; ``json_keys`` finds fields written twice.
_CLASSIFY = f"""
CREATE OR REPLACE TEMP TABLE classified AS
WITH parsed AS (
  SELECT *, utf8_ok AND strlen(line) <= $max_bytes AND json_valid(line) AS is_json
  FROM lines
), objects AS (
  SELECT *, is_json AND regexp_matches(line, '^[ \\t\\n\\r]*[{{]') AS is_object
  FROM parsed
), fields AS (
  SELECT *,
    CASE WHEN is_object THEN json_extract(line, [{", ".join(f"'$.{f}'" for f in _FIELDS)}]) END AS v,
    CASE WHEN is_object THEN json_keys(line) END AS keys
  FROM objects
), typed AS (
  SELECT * EXCLUDE (v, keys), {", ".join(f"v[{i}] AS f_{f}" for i, f in enumerate(_FIELDS, 1))},
         json_type(v[1]) AS t_ad_id, json_type(v[2]) AS t_seen_at, json_type(v[3]) AS t_phones,
         v[1]->>'$' AS ad_id, v[2]->>'$' AS seen_at_text,
         list_filter(['ad_id', 'seen_at', 'phones'], lambda k: len(list_filter(keys, lambda x: x = k)) > 1) AS twice
  FROM fields
)
SELECT *,
  CASE
    WHEN NOT utf8_ok THEN 'invalid UTF-8: the line holds bytes that are not text'
    WHEN strlen(line) > $max_bytes
      THEN 'line of ' || strlen(line) || ' bytes is over the limit of ' || $max_bytes || ' bytes'
    WHEN NOT is_json THEN 'not JSON: the line is truncated or malformed'
    WHEN NOT is_object THEN 'not a JSON object'
    WHEN len(twice) > 0 THEN 'field ' || twice[1] || ' appears twice in the object: which value holds cannot be told (write it once)'
    WHEN t_ad_id IS NULL OR t_ad_id = 'NULL' THEN 'missing ad_id'
    WHEN t_ad_id NOT IN ('VARCHAR', 'BIGINT', 'UBIGINT') THEN 'ad_id must be a string, not ' || lower(t_ad_id)
    WHEN trim(ad_id) = '' THEN 'ad_id is empty'
    WHEN length(ad_id) > {MAX_AD_ID_CHARS}
      THEN 'ad_id of ' || length(ad_id) || ' characters is not a site''s ad ID (limit {MAX_AD_ID_CHARS})'
    WHEN t_seen_at IS NULL OR t_seen_at = 'NULL' THEN 'missing seen_at'
    WHEN t_seen_at <> 'VARCHAR' OR NOT regexp_matches(seen_at_text, '{_SEEN_AT_RE}')
         OR TRY_CAST(upper(seen_at_text) AS TIMESTAMPTZ) IS NULL  -- upper: the pattern allows a 'z' zone
      THEN 'seen_at must be an ISO 8601 time with zone, e.g. 2026-06-01T06:15:02Z'
    WHEN t_phones IS NULL OR t_phones = 'NULL' THEN 'missing phones (write [] when the ad shows none)'
    WHEN t_phones <> 'ARRAY'
         OR len(list_filter(json_extract(f_phones, '$[*]'), lambda x: json_type(x) <> 'VARCHAR')) > 0
      THEN 'phones must be a list of strings'
    WHEN len(list_filter(json_extract_string(f_phones, '$[*]'), lambda x: length(x) > {MAX_PHONE_CHARS})) > 0
      THEN 'phones holds a text of ' || list_max(list_transform(json_extract_string(f_phones, '$[*]'), lambda x: length(x)))
           || ' characters: not a displayed number (limit {MAX_PHONE_CHARS}); the crawler put other text there'
  END AS reason
FROM typed
"""

# Step 2: a second line with the same ad_id in one crawl is set aside (the first one stands).
_DUPLICATES = """
UPDATE classified AS c
SET reason = 'duplicate ad_id ' || d.ad_id || ' in this snapshot (first at line ' || d.first_line || ')'
FROM (
  SELECT site, snapshot_id, line_no, ad_id,
         min(line_no) OVER (PARTITION BY site, snapshot_id, ad_id) AS first_line
  FROM classified WHERE reason IS NULL
) AS d
WHERE c.site = d.site AND c.snapshot_id = d.snapshot_id AND c.line_no = d.line_no
  AND d.line_no <> d.first_line
"""


def _optional(field: str, json_types: tuple[str, ...], expect: str) -> tuple[str, str]:
    """(SQL value, SQL problem) for an optional field: NULL and a named problem on a wrong type."""
    allowed = ", ".join(f"'{t}'" for t in json_types)
    t = f"json_type(f_{field})"
    problem = f"CASE WHEN {t} IS NOT NULL AND {t} <> 'NULL' AND {t} NOT IN ({allowed}) THEN '{field} is not {expect}' END"
    return t + f" IN ({allowed})", problem


def _observation_select() -> str:
    strings = {f: _optional(f, ("VARCHAR",), "a string") for f in ("url", "city", "title", "text", "name")}
    country_ok = "json_type(f_country) = 'VARCHAR' AND regexp_matches(f_country->>'$', '^[A-Za-z]{2}$')"
    country_problem = ("CASE WHEN json_type(f_country) NOT IN ('NULL') AND NOT (" + country_ok +
                       ") THEN 'country is not an ISO 3166 alpha-2 code' END")
    age_int, age_problem = _optional("age", ("BIGINT", "UBIGINT"), "an integer")
    # An integer JSON cannot fit in BIGINT (18446744073709551615) is NULL with a problem, not a failed cast.
    age_ok = f"{age_int} AND TRY_CAST(f_age->>'$' AS BIGINT) IS NOT NULL"
    age_problem = (f"coalesce({age_problem}, CASE WHEN {age_int} AND NOT ({age_ok}) "
                   "THEN 'age is out of range' END)")
    images_ok, images_problem = _optional("images", ("ARRAY",), "a list")
    tour_ok, tour_problem = _optional("tour", ("ARRAY",), "a list")
    contact_ok, contact_problem = _optional("contact", ("OBJECT",), "an object")
    cols = [
        '"window"', "site || ':' || ad_id AS ad_key", "site", "ad_id", "snapshot_id",
        "CAST(upper(seen_at_text) AS TIMESTAMPTZ) AS seen_at",
        f"CASE WHEN {strings['url'][0]} THEN f_url->>'$' END AS url",
        f"CASE WHEN {country_ok} THEN upper(f_country->>'$') END AS country",
    ]
    cols += [f"CASE WHEN {strings[f][0]} THEN f_{f}->>'$' END AS {f}" for f in ("city", "title", "text", "name")]
    cols += [
        f"CASE WHEN {age_ok} THEN TRY_CAST(f_age->>'$' AS BIGINT) END AS age",
        "json_extract_string(f_phones, '$[*]') AS phones_raw",
        f"CASE WHEN {images_ok} THEN f_images END AS images",
        f"CASE WHEN {tour_ok} THEN f_tour END AS tour",
        f"CASE WHEN {contact_ok} THEN f_contact END AS contact",
        "nullif(concat_ws('; ', " + ", ".join(
            [strings[f][1] for f in ("url",)] + [country_problem] + [strings[f][1] for f in ("city", "title", "text", "name")]
            + [age_problem, images_problem, tour_problem, contact_problem]) + "), '') AS problems",
        "source_file", "line_no", "line AS raw_line",
    ]
    return "SELECT " + ",\n  ".join(cols) + "\nFROM classified WHERE reason IS NULL ORDER BY site, snapshot_id, line_no"


OBSERVATIONS_SQL = _observation_select()
QUARANTINED_LINES_SQL = f"""
SELECT "window", 'line' AS level, site, snapshot_id, source_file, line_no, reason,
       left(line, {QUARANTINE_LINE_CHARS}) AS raw_line
FROM classified WHERE reason IS NOT NULL ORDER BY site, snapshot_id, line_no
"""


def reason_group_sql(reason: str = "reason") -> str:
    """SQL grouping a line's reason for counts: reasons that carry a number or an id read as one kind."""
    return (f"CASE WHEN {reason} LIKE 'duplicate ad_id%' THEN 'duplicate ad_id in one snapshot'"
            f" WHEN {reason} LIKE 'line of %' THEN 'line over the size limit'"
            f" WHEN {reason} LIKE 'ad_id of %' THEN 'ad_id too long'"
            f" WHEN {reason} LIKE 'phones holds a text of %' THEN 'phones entry too long'"
            f" ELSE {reason} END")


def classify_lines(con: duckdb.DuckDBPyConnection, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
    """Turn the ``lines`` table into ``classified`` (reason NULL = loadable)."""
    con.execute(_CLASSIFY, {"max_bytes": max_line_bytes})
    con.execute(_DUPLICATES)


def line_counts(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], tuple[int, int, int]]:
    """(site, snapshot_id) -> (lines, loaded, quarantined)."""
    rows = con.execute(
        "SELECT site, snapshot_id, count(*), count(*) FILTER (reason IS NULL), count(*) FILTER (reason IS NOT NULL)"
        " FROM classified GROUP BY ALL").fetchall()
    return {(r[0], r[1]): (r[2], r[3], r[4]) for r in rows}
