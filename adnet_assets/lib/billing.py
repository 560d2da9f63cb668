"""Billing records of recovered phones (``billing/*.csv``) into ``billing_events``.

When a registered owner takes back a phone bought in their name, the operator's billing records
show every number it talked to, when, and on which network (a foreign network: the phone was run
from abroad). This module reads those records; ``billing_counterparts`` ranks the other parties
and ``billing_roaming`` finds the periods abroad.

Files
-----
Columns ``subscriber,timestamp,direction,kind,counterpart,duration_s,network,country`` (data
contract), all required: a file whose header lacks one is rejected whole, with a reason naming
the expected columns. Reading (encodings, BOM, ``;``/tab/``|`` delimiters, quoted fields over
several lines, physical line numbers, stray quotes) is ``csv_records.read_csv_files``, the same
reader as the directory's extracts.

Rows
----
Everything is set-based in DuckDB; each row is checked and a row with a problem is set aside
(``BillingReport.quarantine``, level 'billing') with its file, line, the raw text and every
problem found, each saying what to fix:

* ``subscriber``: one readable phone number (read in ``default_country`` when written without a
  country code). A subscriber or counterpart field longer than ``MAX_PHONE_CHARS`` is other text
  put there: set aside without being read as a number.
* ``timestamp``: ISO 8601 *with* its zone (``2026-06-16T21:05:00+02:00``, ``...Z``, ``+0200``,
  ``+02``); a time without zone is set aside (the instant could not be told). ``event_at`` is the
  instant; ``local_date``/``local_minute`` keep the day and time of day *as written*, because
  the time of day people act at is what the ranking reads (an offset is not converted away).
* ``direction`` ``in``/``out``, ``kind`` ``call``/``sms``/``data`` (any case).
* ``counterpart``: may be empty only for data sessions. It is read in the subscriber's own country
  when written without a country code. A field holding several numbers is set aside; a value
  that is not a phone number (short codes such as ``1881``, sender names such as ``Vipps``) is
  kept with ``counterpart`` NULL and ``counterpart_raw`` as written (it is not ranked).
* ``duration_s``: a whole number of seconds ≥ 0, or empty (NULL).
* ``country``: ISO 3166 alpha-2 (any case), or empty (NULL: the carrying network's country is
  unknown and the event cannot show roaming).

Phones are read through the shared ``phone_strings`` cache (``phone_index.parse_new_phone_strings``:
each distinct raw string parsed once). Rows whose fields are all empty hold nothing and are only
counted. An event found in more than one file (same subscriber, instant, direction, kind and
counterpart: overlapping exports) is loaded once, from the first file by name (``n_files`` says
in how many it was); repeats *within* one file are kept (a long SMS billed in parts).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from adnet_assets.layout import DataLayout
from adnet_assets.lib.csv_records import CsvReadReport, CsvSpec, checked_country, csv_files, read_csv_files_into
from adnet_assets.lib.phone_index import parse_new_phone_strings
from adnet_assets.lib.snapshot_lines import MAX_PHONE_CHARS, QUARANTINE_LINE_CHARS
from adnet_assets.lib.snapshots import relative
from adnet_assets.lib.store import replace_table
from adnet_assets.schema import BILLING_EVENTS

__all__ = [
    "COLUMNS",
    "COUNTRY_ADJECTIVES",
    "QUARANTINE_LEVEL",
    "BillingParams",
    "BillingReport",
    "billing_files",
    "country_adjective_sql",
    "csv_spec",
    "load_billing",
]

#: The contract's columns, in order; all are required.
COLUMNS: tuple[str, ...] = ("subscriber", "timestamp", "direction", "kind", "counterpart", "duration_s", "network",
                            "country")
#: ``quarantine.level`` for rows set aside here.
QUARANTINE_LEVEL = "billing"


@dataclass(frozen=True)
class BillingParams:
    """How billing records are read and their other parties ranked (``billing_counterparts``).

    Reading: ``max_row_lines`` (4): no billing field holds line breaks in earnest; a quoted field
    running over more lines is a stray quote, set aside so that it swallows nothing.

    Contacts: ``contact_gap_min`` (30): events between one phone and one other party less than
    30 minutes apart are one contact (an SMS and its answer, a call after a text), so that a
    chat is not counted as many regular moments.

    Regular times: ``regular_window_min`` (30): a contact is "at a usual time" when it lies within
    ±30 minutes of one of the two usual times of day of that pair (the two busiest disjoint
    hour-long windows). People running phones check in at fixed times (morning and evening);
    customers call when they want. With few contacts two windows catch them by chance, so the
    share is shrunk towards ``regular_prior`` (0.3, about what two hour windows catch of
    evening-only irregular contacts) with the weight of ``regular_pseudo_contacts`` (6) contacts:
    ``regularity = (hits + 6 * 0.3) / (contacts + 6)`` per pair, averaged over pairs weighted by
    contacts.

    Score (0-1) = ``presence × pattern``, both 0-1, so a number must be both much in the phones'
    lives *and* look like a controller:

    * ``presence = (w_coverage · coverage + w_persistence · persistence) / (w_coverage +
      w_persistence)`` (0.5 each), both shares of *phone-days* (a phone's days with any event in
      the records: a phone that was off cannot be called). ``persistence``: over the phones it
      talks to, the mean share of each phone's days with contact (a controller is there every
      day, a customer now and then). ``coverage``: the same summed over the recovered phones of
      one network and divided by their number (from ``network_members``; all recovered phones
      form one group when unknown), the largest over networks: reaching *every* phone of a
      network *every* day is what running them looks like, and touching three phones on three
      days is not. With one recovered phone both are the same.
    * ``pattern = (w_regular · regularity + w_sms · sms_share + w_foreign · foreign_number
      + w_daytime · (1 - evening_share)) / (sum of the four weights)`` with 0.5, 0.25, 0.15, 0.10:
      regular times weigh most; texts rather than calls; a foreign number (the published case's
      SIM cards run from Russia; customers are mostly local); contact in the daytime too
      (customers call in the evening and at night).

    ``role``: occasional when fewer than ``min_days`` (3) contact days; else controller-like when
    ``score ≥ controller_score`` (0.35); otherwise customer-like. 0.35 is about half of what a
    number texting every phone every day at fixed times scores, and well above customers (a
    customer calling every phone of a network on most evenings stays near 0.15, because its
    pattern is irregular calls; an irregular SMS customer on half the days near 0.2). The
    ranking does not depend on it. Links (``billing_links_sql``) are
    strong, and used for networks, only for controller-like numbers: ``link_strong`` 0.7; a
    customer-like number that also shows in ads or a network links weakly (``link_weak`` 0.1)
    and never for networks (a client texting two women's phones must not merge two networks).
    """

    max_row_lines: int = 4
    contact_gap_min: int = 30
    regular_window_min: int = 30
    regular_prior: float = 0.3
    regular_pseudo_contacts: float = 6.0
    evening_start_hour: int = 18
    evening_end_hour: int = 6
    w_coverage: float = 0.5
    w_persistence: float = 0.5
    w_regular: float = 0.5
    w_sms: float = 0.25
    w_foreign: float = 0.15
    w_daytime: float = 0.10
    controller_score: float = 0.35
    min_days: int = 3
    link_strong: float = 0.7
    link_weak: float = 0.1


DEFAULT_PARAMS = BillingParams()

#: How a number's country is named in the reasons ("Russian number"); others read "foreign number (XX)".
COUNTRY_ADJECTIVES: dict[str, str] = {
    "NO": "Norwegian", "SE": "Swedish", "DK": "Danish", "FI": "Finnish", "IS": "Icelandic", "RU": "Russian",
    "UA": "Ukrainian", "BY": "Belarusian", "MD": "Moldovan", "RO": "Romanian", "BG": "Bulgarian", "HU": "Hungarian",
    "PL": "Polish", "LT": "Lithuanian", "LV": "Latvian", "EE": "Estonian", "CZ": "Czech", "SK": "Slovak",
    "DE": "German", "NL": "Dutch", "BE": "Belgian", "FR": "French", "ES": "Spanish", "PT": "Portuguese",
    "IT": "Italian", "GB": "British", "IE": "Irish", "AT": "Austrian", "CH": "Swiss", "GR": "Greek",
    "TR": "Turkish", "AL": "Albanian", "RS": "Serbian", "HR": "Croatian", "BA": "Bosnian", "XK": "Kosovar",
    "NG": "Nigerian", "GH": "Ghanaian", "TH": "Thai", "VN": "Vietnamese", "CN": "Chinese", "PH": "Philippine",
    "BR": "Brazilian", "CO": "Colombian", "DO": "Dominican", "VE": "Venezuelan", "US": "US", "CA": "Canadian",
}


def country_adjective_sql(col: str) -> str:
    """SQL naming a country code as an adjective ("Russian"); unknown codes read "foreign (XX)"."""
    whens = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in sorted(COUNTRY_ADJECTIVES.items()))
    return f"CASE {col} {whens} ELSE 'foreign (' || coalesce({col}, '?') || ')' END"


@dataclass
class BillingReport(CsvReadReport):
    """What ``load_billing`` read and what it set aside.

    ``quarantine`` rows are ``(source_file, line_no, reason, raw_line)``, level 'billing'; a
    rejected file is one row (at its header line, or line NULL for an empty file).
    """

    duplicates: int = 0
    subscribers: int = 0
    counterparts_not_phones: int = 0


def csv_spec(params: BillingParams = DEFAULT_PARAMS) -> CsvSpec:
    """How ``csv_records`` reads a billing file: the contract's columns, all required."""
    return CsvSpec(columns=COLUMNS, required=COLUMNS, max_row_lines=params.max_row_lines)


def billing_files(layout: DataLayout) -> list[Path]:
    """``billing/*.csv`` (any case), skipping hidden, temporary and Excel lock files."""
    return csv_files(layout.billing)


_WORK_DDL = """
CREATE OR REPLACE TEMP TABLE _adnet_bill_rows (
  source_file VARCHAR, line_no BIGINT, subscriber VARCHAR, "timestamp" VARCHAR, direction VARCHAR, kind VARCHAR,
  counterpart VARCHAR, duration_s VARCHAR, network VARCHAR, country VARCHAR, record VARCHAR);
CREATE OR REPLACE TEMP TABLE _adnet_bill_quarantine (
  source_file VARCHAR, line_no BIGINT, reason VARCHAR, raw_line VARCHAR);
"""
_WORK_TABLES = ("_adnet_bill_rows", "_adnet_bill_quarantine", "_adnet_bill_subs", "_adnet_bill_cps",
                "_adnet_bill_typed")

#: date, hour, minute, optional seconds and fraction, zone (Z, +HH:MM, +HHMM, +HH)
_TS_RE = (r"^([0-9]{4}-[0-9]{2}-[0-9]{2})[Tt ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})([.,][0-9]+)?)?"
          r" *(Z|z|UTC|[+-][0-9]{2}(?::?[0-9]{2})?)?$")
_EXAMPLE_TS = "2026-06-16T21:05:00+02:00"


def _typed_sql(cut: int) -> str:
    """One row per record: the typed values and the list of problems (empty: the row loads)."""
    return rf"""
    WITH r AS (
      SELECT r.*, regexp_extract(r."timestamp", '{_TS_RE}', ['d', 'h', 'm', 's', 'f', 'z']) AS t,
             lower(r.direction) AS dir, lower(r.kind) AS knd, upper(r.country) AS ctry,
             s.n_numbers AS sub_n, s.numbers AS sub_numbers, s.phone AS sub_phone, s.region AS sub_region,
             s.reason AS sub_reason,
             c.n_numbers AS cp_n, c.numbers AS cp_numbers, c.phone AS cp_phone, c.region AS cp_region
      FROM _adnet_bill_rows r
      LEFT JOIN _adnet_bill_subs s ON s.raw = r.subscriber
      LEFT JOIN _adnet_bill_cps c ON c.raw = r.counterpart AND c.default_country = coalesce(s.region, $country)
    ), v AS (
      SELECT *,
             strlen(t.d) > 0 AS ts_shaped, strlen(t.z) > 0 AS ts_zoned,
             CASE WHEN t.z IN ('Z', 'z', 'UTC') THEN 0
                  WHEN strlen(t.z) > 0 THEN (CASE WHEN t.z[1] = '-' THEN -1 ELSE 1 END)
                       * (CAST(t.z[2:3] AS INTEGER) * 60 + coalesce(TRY_CAST(nullif(replace(t.z[4:], ':', ''), '') AS INTEGER), 0))
             END AS offset_min
      FROM r
    ), w AS (
      SELECT *,
             CASE WHEN ts_shaped AND ts_zoned THEN TRY_CAST(
                 t.d || ' ' || t.h || ':' || t.m || ':' || coalesce(nullif(t.s, ''), '00') || replace(t.f, ',', '.')
                 || CASE WHEN offset_min < 0 THEN '-' ELSE '+' END
                 || lpad(CAST(abs(offset_min) // 60 AS VARCHAR), 2, '0') || ':'
                 || lpad(CAST(abs(offset_min) % 60 AS VARCHAR), 2, '0') AS TIMESTAMPTZ) END AS event_at,
             TRY_CAST(t.d AS DATE) AS local_date,
             TRY_CAST(t.h AS INTEGER) * 60 + TRY_CAST(t.m AS INTEGER) AS local_minute,
             TRY_CAST(duration_s AS BIGINT) AS dur
      FROM v
    )
    SELECT source_file, line_no, left(record, {cut}) AS raw_line,
           sub_phone AS subscriber, sub_region AS subscriber_region, event_at, "timestamp" AS timestamp_raw,
           local_date, local_minute, offset_min AS utc_offset_min, dir AS direction, knd AS kind,
           cp_phone AS counterpart, counterpart AS counterpart_raw, cp_region AS counterpart_region,
           dur AS duration_s, network, ctry AS country,
           list_filter([
             CASE WHEN subscriber IS NULL
                    THEN 'empty subscriber: whose record this is cannot be told (write the recovered phone''s number)'
                  WHEN length(subscriber) > {MAX_PHONE_CHARS}
                    THEN 'subscriber field of ' || length(subscriber) || ' characters is not a phone number '
                         || '(limit {MAX_PHONE_CHARS}): write the recovered phone''s number alone'
                  WHEN sub_n > 1
                    THEN 'subscriber field holds ' || sub_n || ' numbers (' || sub_numbers || '): write the one recovered phone'
                  WHEN sub_phone IS NULL
                    THEN 'subscriber ''' || left(subscriber, 40) || ''' is not a phone number ('
                         || coalesce(sub_reason, 'unreadable') || '): write it as +47... or in national form' END,
             CASE WHEN "timestamp" IS NULL
                    THEN 'empty timestamp: write the event time in ISO 8601 with its zone, e.g. {_EXAMPLE_TS}'
                  WHEN ts_shaped AND NOT ts_zoned
                    THEN 'timestamp ''' || left("timestamp", 40) || ''' has no time zone: write it with its offset, e.g. '
                         || '{_EXAMPLE_TS} (the instant and the local time of day depend on it)'
                  WHEN event_at IS NULL OR local_date IS NULL OR local_minute IS NULL OR local_minute >= 1440
                       OR abs(offset_min) > 18 * 60
                    THEN 'timestamp ''' || left("timestamp", 40) || ''' is not a valid ISO 8601 time with zone: write e.g. '
                         || '{_EXAMPLE_TS}' END,
             CASE WHEN dir IS NULL THEN 'empty direction: write in or out'
                  WHEN dir NOT IN ('in', 'out') THEN 'direction ''' || left(direction, 40) || ''' is not in or out' END,
             CASE WHEN knd IS NULL THEN 'empty kind: write call, sms or data'
                  WHEN knd NOT IN ('call', 'sms', 'data') THEN 'kind ''' || left(kind, 40) || ''' is not call, sms or data' END,
             CASE WHEN counterpart IS NULL AND coalesce(knd, '') <> 'data'
                    THEN 'empty counterpart for ' || CASE knd WHEN 'call' THEN 'a call' WHEN 'sms' THEN 'an SMS'
                                                              ELSE 'an event that is not data' END
                         || ': write the other party''s number '
                         || '(only data sessions may leave it empty)'
                  WHEN length(counterpart) > {MAX_PHONE_CHARS}
                    THEN 'counterpart field of ' || length(counterpart) || ' characters is not a phone number or a '
                         || 'sender name (limit {MAX_PHONE_CHARS}): write the other party''s number alone'
                  WHEN cp_n > 1
                    THEN 'counterpart field holds ' || cp_n || ' numbers (' || cp_numbers || '): write one row per number' END,
             CASE WHEN duration_s IS NOT NULL AND (NOT regexp_full_match(duration_s, '[0-9]+') OR dur IS NULL)
                    THEN 'duration_s ''' || left(duration_s, 40) || ''' is not a whole number of seconds >= 0' END,
             CASE WHEN country IS NOT NULL AND NOT regexp_full_match(ctry, '[A-Z]{{2}}')
                    THEN 'country ''' || left(country, 40) || ''' is not an ISO 3166 alpha-2 code (NO, SE, RO, ...)' END
           ], lambda x: x IS NOT NULL) AS problems
    FROM w"""


def load_billing(con: duckdb.DuckDBPyConnection, layout: DataLayout, *, default_country: str = "NO",
                 params: BillingParams = DEFAULT_PARAMS) -> BillingReport:
    """Read every ``billing/*.csv`` into ``billing_events`` (the table is replaced).

    Also adds the records' phone strings to the ``phone_strings`` cache. Runs inside the caller's
    transaction. Returns what was read and the rows set aside (the caller writes them to
    ``quarantine`` with level 'billing').
    """
    report = BillingReport()
    country = checked_country(default_country)
    con.execute(_WORK_DDL)
    try:
        files = [(path, relative(layout, path)) for path in billing_files(layout)]
        read_csv_files_into(report, con, files, csv_spec(params), rows_table="_adnet_bill_rows",
                            quarantine_table="_adnet_bill_quarantine", root=layout.billing)

        all_cols = ", ".join(f'"{c}"' for c in COLUMNS)
        report.blank_rows = con.execute(
            f"SELECT count(*) FROM _adnet_bill_rows WHERE coalesce({all_cols}) IS NULL").fetchone()[0]
        con.execute(f"DELETE FROM _adnet_bill_rows WHERE coalesce({all_cols}) IS NULL")

        # Phones through the shared cache: subscribers in the default country, counterparts in the
        # subscriber's own country.
        report.phone_strings_parsed = parse_new_phone_strings(
            con, f"SELECT subscriber AS raw, '{country}' AS default_country FROM _adnet_bill_rows "
                 f"WHERE subscriber IS NOT NULL AND length(subscriber) <= {MAX_PHONE_CHARS}")
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _adnet_bill_subs AS
            SELECT raw, count(phone) AS n_numbers, string_agg(phone, ', ' ORDER BY "index") AS numbers,
                   min(phone) FILTER ("index" = 0) AS phone, min(region) FILTER ("index" = 0) AS region,
                   min(reason) FILTER ("index" = 0) AS reason
            FROM phone_strings
            WHERE default_country = '{country}' AND raw IN (SELECT subscriber FROM _adnet_bill_rows)
            GROUP BY raw""")
        cp_pairs = f"""SELECT r.counterpart AS raw, coalesce(s.region, '{country}') AS default_country
                       FROM _adnet_bill_rows r LEFT JOIN _adnet_bill_subs s ON s.raw = r.subscriber
                       WHERE r.counterpart IS NOT NULL AND length(r.counterpart) <= {MAX_PHONE_CHARS}"""
        report.phone_strings_parsed += parse_new_phone_strings(con, cp_pairs)
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _adnet_bill_cps AS
            SELECT p.raw, p.default_country, count(p.phone) AS n_numbers,
                   string_agg(p.phone, ', ' ORDER BY p."index") AS numbers,
                   min(p.phone) FILTER (p."index" = 0) AS phone, min(p.region) FILTER (p."index" = 0) AS region
            FROM phone_strings p JOIN (SELECT DISTINCT raw, default_country FROM ({cp_pairs})) q
              ON q.raw = p.raw AND q.default_country = p.default_country
            GROUP BY p.raw, p.default_country""")

        con.execute(f"CREATE OR REPLACE TEMP TABLE _adnet_bill_typed AS {_typed_sql(QUARANTINE_LINE_CHARS)}",
                    {"country": country})
        con.execute("""
            INSERT INTO _adnet_bill_quarantine
            SELECT source_file, line_no, array_to_string(problems, '; '), raw_line
            FROM _adnet_bill_typed WHERE len(problems) > 0""")
        report.counterparts_not_phones = con.execute("""
            SELECT count(DISTINCT counterpart_raw) FROM _adnet_bill_typed
            WHERE len(problems) = 0 AND counterpart_raw IS NOT NULL AND counterpart IS NULL""").fetchone()[0]

        # One event per (subscriber, instant, direction, kind, counterpart): the first file's copies.
        report.rows_loaded = replace_table(con, BILLING_EVENTS, """
            WITH ok AS (
              SELECT *, min(source_file) OVER k AS first_file, count(DISTINCT source_file) OVER k AS n_files
              FROM _adnet_bill_typed WHERE len(problems) = 0
              WINDOW k AS (PARTITION BY subscriber, event_at, direction, kind, coalesce(counterpart, counterpart_raw, ''))
            )
            SELECT *, country IS NOT NULL AND subscriber_region IS NOT NULL AND country <> subscriber_region AS roaming
            FROM ok WHERE source_file = first_file
            ORDER BY subscriber, event_at, source_file, line_no""")
        report.duplicates = con.execute(
            "SELECT count(*) FROM _adnet_bill_typed WHERE len(problems) = 0").fetchone()[0] - report.rows_loaded
        if report.duplicates:
            report.notes.append(f"{report.duplicates} event(s) found in more than one file loaded once")
        if report.counterparts_not_phones:
            report.notes.append(f"{report.counterparts_not_phones} counterpart value(s) are not phone numbers "
                                "(short codes, sender names): kept as written, not ranked")
        report.subscribers = con.execute("SELECT count(DISTINCT subscriber) FROM billing_events").fetchone()[0]
        report.quarantine = [tuple(r) for r in con.execute(
            "SELECT source_file, line_no, reason, raw_line FROM _adnet_bill_quarantine "
            "ORDER BY source_file, line_no NULLS FIRST").fetchall()]
        report.rows_quarantined = len(report.quarantine)
    finally:
        for t in _WORK_TABLES:
            con.execute(f"DROP TABLE IF EXISTS {t}")
    return report
