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

_INSERT_LINES = """
INSERT INTO lines
SELECT $window, $site, $snapshot_id, $source_file, line_no, ltrim(rtrim(line, chr(13)), chr(65279)),
       NOT list_contains($bad, line_no)
FROM (
  SELECT unnest(parts) AS line, unnest(generate_series(1, len(parts))) AS line_no
  FROM (SELECT string_split($text, chr(10)) AS parts)
)
WHERE trim(ltrim(rtrim(line, chr(13)), chr(65279))) <> ''
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

# Step 1: each line checked once, in order; j is the line as JSON where it is a JSON object.
_CLASSIFY = f"""
CREATE OR REPLACE TEMP TABLE classified AS
WITH parsed AS (
  SELECT *, CASE WHEN utf8_ok AND strlen(line) <= $max_bytes AND json_valid(line)
                 THEN line::JSON END AS j
  FROM lines
), typed AS (
  SELECT *, json_type(j) AS t_root, json_type(j, '$.ad_id') AS t_ad_id,
         json_type(j, '$.seen_at') AS t_seen_at, json_type(j, '$.phones') AS t_phones,
         CASE WHEN json_type(j) = 'OBJECT' THEN list_filter(['ad_id', 'seen_at', 'phones'],
              lambda k: len(list_filter(json_keys(j), lambda x: x = k)) > 1) END AS twice
  FROM parsed
)
SELECT *,
  CASE
    WHEN NOT utf8_ok THEN 'invalid UTF-8: the line holds bytes that are not text'
    WHEN strlen(line) > $max_bytes
      THEN 'line of ' || strlen(line) || ' bytes is over the limit of ' || $max_bytes || ' bytes'
    WHEN j IS NULL THEN 'not JSON: the line is truncated or malformed'
    WHEN t_root <> 'OBJECT' THEN 'not a JSON object'
    WHEN len(twice) > 0 THEN 'field ' || twice[1] || ' appears twice in the object: which value holds cannot be told (write it once)'
    WHEN t_ad_id IS NULL OR t_ad_id = 'NULL' THEN 'missing ad_id'
    WHEN t_ad_id NOT IN ('VARCHAR', 'BIGINT', 'UBIGINT') THEN 'ad_id must be a string, not ' || lower(t_ad_id)
    WHEN trim(j->>'$.ad_id') = '' THEN 'ad_id is empty'
    WHEN length(j->>'$.ad_id') > {MAX_AD_ID_CHARS}
      THEN 'ad_id of ' || length(j->>'$.ad_id') || ' characters is not a site''s ad ID (limit {MAX_AD_ID_CHARS})'
    WHEN t_seen_at IS NULL OR t_seen_at = 'NULL' THEN 'missing seen_at'
    WHEN t_seen_at <> 'VARCHAR' OR NOT regexp_matches(j->>'$.seen_at', '{_SEEN_AT_RE}')
         OR TRY_CAST(upper(j->>'$.seen_at') AS TIMESTAMPTZ) IS NULL  -- upper: the pattern allows a 'z' zone
      THEN 'seen_at must be an ISO 8601 time with zone, e.g. 2026-06-01T06:15:02Z'
    WHEN t_phones IS NULL OR t_phones = 'NULL' THEN 'missing phones (write [] when the ad shows none)'
    WHEN t_phones <> 'ARRAY'
         OR len(list_filter(json_extract(j, '$.phones[*]'), lambda x: json_type(x) <> 'VARCHAR')) > 0
      THEN 'phones must be a list of strings'
    WHEN len(list_filter(json_extract_string(j, '$.phones[*]'), lambda x: length(x) > {MAX_PHONE_CHARS})) > 0
      THEN 'phones holds a text of ' || list_max(list_transform(json_extract_string(j, '$.phones[*]'), lambda x: length(x)))
           || ' characters: not a displayed number (limit {MAX_PHONE_CHARS}); the crawler put other text there'
  END AS reason
FROM typed
"""

# Step 2: a second line with the same ad_id in one crawl is set aside (the first one stands).
_DUPLICATES = """
UPDATE classified AS c
SET reason = 'duplicate ad_id ' || d.ad_id || ' in this snapshot (first at line ' || d.first_line || ')'
FROM (
  SELECT site, snapshot_id, line_no, j->>'$.ad_id' AS ad_id,
         min(line_no) OVER (PARTITION BY site, snapshot_id, j->>'$.ad_id') AS first_line
  FROM classified WHERE reason IS NULL
) AS d
WHERE c.site = d.site AND c.snapshot_id = d.snapshot_id AND c.line_no = d.line_no
  AND d.line_no <> d.first_line
"""


def _optional(field: str, json_types: tuple[str, ...], expect: str) -> tuple[str, str]:
    """(SQL value, SQL problem) for an optional field: NULL and a named problem on a wrong type."""
    allowed = ", ".join(f"'{t}'" for t in json_types)
    t = f"json_type(j, '$.{field}')"
    problem = f"CASE WHEN {t} IS NOT NULL AND {t} <> 'NULL' AND {t} NOT IN ({allowed}) THEN '{field} is not {expect}' END"
    return t + f" IN ({allowed})", problem


def _observation_select() -> str:
    strings = {f: _optional(f, ("VARCHAR",), "a string") for f in ("url", "city", "title", "text", "name")}
    country_ok = "json_type(j, '$.country') = 'VARCHAR' AND regexp_matches(j->>'$.country', '^[A-Za-z]{2}$')"
    country_problem = ("CASE WHEN json_type(j, '$.country') NOT IN ('NULL') AND NOT (" + country_ok +
                       ") THEN 'country is not an ISO 3166 alpha-2 code' END")
    age_int, age_problem = _optional("age", ("BIGINT", "UBIGINT"), "an integer")
    # An integer JSON cannot fit in BIGINT (18446744073709551615) is NULL with a problem, not a failed cast.
    age_ok = f"{age_int} AND TRY_CAST(j->>'$.age' AS BIGINT) IS NOT NULL"
    age_problem = (f"coalesce({age_problem}, CASE WHEN {age_int} AND NOT ({age_ok}) "
                   "THEN 'age is out of range' END)")
    images_ok, images_problem = _optional("images", ("ARRAY",), "a list")
    tour_ok, tour_problem = _optional("tour", ("ARRAY",), "a list")
    contact_ok, contact_problem = _optional("contact", ("OBJECT",), "an object")
    cols = [
        '"window"', "site || ':' || (j->>'$.ad_id') AS ad_key", "site", "j->>'$.ad_id' AS ad_id", "snapshot_id",
        "CAST(upper(j->>'$.seen_at') AS TIMESTAMPTZ) AS seen_at",
        f"CASE WHEN {strings['url'][0]} THEN j->>'$.url' END AS url",
        f"CASE WHEN {country_ok} THEN upper(j->>'$.country') END AS country",
    ]
    cols += [f"CASE WHEN {strings[f][0]} THEN j->>'$.{f}' END AS {f}" for f in ("city", "title", "text", "name")]
    cols += [
        f"CASE WHEN {age_ok} THEN TRY_CAST(j->>'$.age' AS BIGINT) END AS age",
        "json_extract_string(j, '$.phones[*]') AS phones_raw",
        f"CASE WHEN {images_ok} THEN j->'$.images' END AS images",
        f"CASE WHEN {tour_ok} THEN j->'$.tour' END AS tour",
        f"CASE WHEN {contact_ok} THEN j->'$.contact' END AS contact",
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
