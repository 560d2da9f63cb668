"""The analysts' tables: names, columns, types and meaning, defined once.

Everything that creates a table, documents it or shows its schema in the Dagster UI reads it from
here. The contract (``../shared/data-contract.md``) promises at least the columns it lists; these
specs extend it and never drop or rename a contract column.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str


@dataclass(frozen=True)
class Table:
    name: str
    grain: str
    description: str
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def ddl(self) -> str:
        cols = ",\n  ".join(f'"{c.name}" {c.type}' for c in self.columns)
        return f'CREATE TABLE IF NOT EXISTS "{self.name}" (\n  {cols}\n)'


C = Column

SNAPSHOTS = Table(
    "snapshots", "one crawl of one site",
    "Every snapshot folder found, with whether it loaded, is still being written, or was quarantined and why.",
    (
        C("window", "VARCHAR", "partition key: the twice-weekly window (YYYY-MM-DD, Monday or Thursday) holding the crawl"),
        C("site", "VARCHAR", "the site's host name"),
        C("snapshot_id", "VARCHAR", "crawl start in UTC, YYYY-MM-DDTHHMMZ"),
        C("status", "VARCHAR", "loaded | quarantined | incomplete (no manifest yet)"),
        C("reason", "VARCHAR", "why a snapshot was quarantined or not loaded"),
        C("started_at", "TIMESTAMPTZ", "crawl start from the manifest"),
        C("finished_at", "TIMESTAMPTZ", "crawl end from the manifest"),
        C("manifest_ads", "BIGINT", "ads the manifest says the crawl holds"),
        C("manifest_sha256", "VARCHAR", "sha256 of manifest.json: the snapshot's identity"),
        C("ads_sha256", "VARCHAR", "sha256 of ads.jsonl as verified"),
        C("ads_bytes", "BIGINT", "size of ads.jsonl"),
        C("n_lines", "BIGINT", "non-blank lines in ads.jsonl"),
        C("n_loaded", "BIGINT", "lines loaded into ad_observations"),
        C("n_quarantined", "BIGINT", "lines set aside in quarantine"),
    ),
)

AD_OBSERVATIONS = Table(
    "ad_observations", "one ad in one snapshot",
    "Every ad line of every verified snapshot, typed, with its raw line kept.",
    (
        C("window", "VARCHAR", "partition key of the snapshot's window"),
        C("ad_key", "VARCHAR", "the ad's identity: site:ad_id"),
        C("site", "VARCHAR", "the site's host name"),
        C("ad_id", "VARCHAR", "the site's own ad ID"),
        C("snapshot_id", "VARCHAR", "crawl start in UTC"),
        C("seen_at", "TIMESTAMPTZ", "when the ad page was read"),
        C("url", "VARCHAR", "the ad's page"),
        C("country", "VARCHAR", "market the ad targets (ISO 3166 alpha-2, upper case), NULL when not given"),
        C("city", "VARCHAR", "where the ad says the person is now"),
        C("title", "VARCHAR", "as published (untrusted)"),
        C("text", "VARCHAR", "as published (untrusted)"),
        C("name", "VARCHAR", "advertised first name"),
        C("age", "BIGINT", "advertised age"),
        C("phones_raw", "VARCHAR[]", "every number shown, as displayed"),
        C("images", "JSON", "photos: list of {url, sha256, phash}"),
        C("tour", "JSON", "announced travel: list of {city, from, to}"),
        C("contact", "JSON", "other channels, e.g. {whatsapp, telegram}"),
        C("problems", "VARCHAR", "optional fields set to NULL because of a wrong type; NULL when none"),
        C("source_file", "VARCHAR", "ads.jsonl path relative to the data folder"),
        C("line_no", "BIGINT", "1-based line number in source_file"),
        C("raw_line", "VARCHAR", "the line exactly as read (unknown fields are kept here)"),
    ),
)

QUARANTINE = Table(
    "quarantine", "one rejected line, snapshot or folder",
    "What was set aside and why, with its place, so that nothing is silently lost.",
    (
        C("window", "VARCHAR", "partition key (NULL for folders that are not snapshots)"),
        C("level", "VARCHAR", "line | snapshot | folder"),
        C("site", "VARCHAR", "the site's host name"),
        C("snapshot_id", "VARCHAR", "crawl start in UTC"),
        C("source_file", "VARCHAR", "path relative to the data folder"),
        C("line_no", "BIGINT", "1-based line number for level=line"),
        C("reason", "VARCHAR", "why it was set aside, and what to fix"),
        C("raw_line", "VARCHAR", "the line as read (cut at 10,000 characters)"),
    ),
)

PHONE_STRINGS = Table(
    "phone_strings", "one distinct displayed string read in one country (one row per number in it)",
    "Each distinct raw phone string parsed once: the E.164 number(s) in it and how it was obfuscated.",
    (
        C("raw", "VARCHAR", "the string as displayed in the ad"),
        C("default_country", "VARCHAR", "country used to read national numbers (the ad's country, default NO)"),
        C("index", "BIGINT", "position of this number within the string (0 for the first)"),
        C("phone", "VARCHAR", "E.164 number, NULL when none could be read"),
        C("region", "VARCHAR", "the number's country (ISO alpha-2)"),
        C("status", "VARCHAR", "valid | possible (kept, flagged: not in the library's ranges) | unparseable"),
        C("number_type", "VARCHAR", "mobile, fixed_line, fixed_line_or_mobile (every DK number), ..."),
        C("obfuscated", "BOOLEAN", "the ad disguised the number"),
        C("obfuscation", "VARCHAR", "kinds of disguise undone, comma-separated"),
        C("reason", "VARCHAR", "why a string could not be read or is only possible"),
        C("parser_version", "VARCHAR", "version of the parsing rules that produced the row"),
    ),
)

OBSERVATION_PHONES = Table(
    "observation_phones", "one number shown on one ad in one snapshot",
    "ad_observations with their phone strings resolved to E.164 numbers: the long form for joins.",
    (
        C("window", "VARCHAR", "partition key"),
        C("ad_key", "VARCHAR", "site:ad_id"),
        C("snapshot_id", "VARCHAR", "crawl start in UTC"),
        C("seen_at", "TIMESTAMPTZ", "when the ad page was read"),
        C("city", "VARCHAR", "city of the ad in that snapshot"),
        C("position", "BIGINT", "1-based position of the string in phones_raw"),
        C("raw", "VARCHAR", "the string as displayed"),
        C("phone", "VARCHAR", "E.164 number (NULL when unreadable)"),
        C("status", "VARCHAR", "valid | possible | unparseable"),
        C("obfuscated", "BOOLEAN", "the ad disguised this number"),
    ),
)

PHONES = Table(
    "phones", "one E.164 number",
    "Every number read from the ads, with where and when it was seen.",
    (
        C("phone", "VARCHAR", "E.164 number: the phone's identity"),
        C("country", "VARCHAR", "the number's country (ISO alpha-2)"),
        C("n_ads", "BIGINT", "distinct ads that showed it"),
        C("first_seen", "TIMESTAMPTZ", "first observation"),
        C("last_seen", "TIMESTAMPTZ", "last observation"),
        C("n_observations", "BIGINT", "ad-in-snapshot observations showing it"),
        C("n_snapshots", "BIGINT", "snapshots it appeared in"),
        C("status", "VARCHAR", "valid | possible (flagged, kept)"),
        C("number_type", "VARCHAR", "mobile, fixed_line, fixed_line_or_mobile, ..."),
        C("ever_obfuscated", "BOOLEAN", "some ad disguised it"),
        C("n_obfuscated", "BIGINT", "observations where it was disguised"),
        C("raw_forms", "VARCHAR[]", "distinct ways it was displayed (up to 20)"),
        C("cities", "VARCHAR[]", "cities of the ads showing it"),
    ),
)

ADS = Table(
    "ads", "one ad (site:ad_id)",
    "Every ad over its life: when it was seen, with which numbers, in which cities.",
    (
        C("ad_key", "VARCHAR", "site:ad_id"),
        C("site", "VARCHAR", "the site's host name"),
        C("ad_id", "VARCHAR", "the site's own ad ID"),
        C("first_seen", "TIMESTAMPTZ", "first observation"),
        C("last_seen", "TIMESTAMPTZ", "last observation"),
        C("n_snapshots", "BIGINT", "snapshots the ad appeared in"),
        C("n_phones", "BIGINT", "distinct E.164 numbers it showed over its life"),
        C("phones", "VARCHAR[]", "those numbers, in order of first appearance"),
        C("country", "VARCHAR", "market of the last observation"),
        C("last_city", "VARCHAR", "city in the last observation"),
        C("n_cities", "BIGINT", "distinct cities over its life"),
        C("last_name", "VARCHAR", "advertised name in the last observation"),
        C("any_obfuscated", "BOOLEAN", "some observation disguised a number"),
    ),
)

TABLES: dict[str, Table] = {t.name: t for t in (SNAPSHOTS, AD_OBSERVATIONS, QUARANTINE, PHONE_STRINGS, OBSERVATION_PHONES, PHONES, ADS)}
