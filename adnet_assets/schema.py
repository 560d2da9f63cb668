"""The analysts' tables: names, columns, types and meaning, defined once.

Everything that creates a table, documents it or shows its schema in the Dagster UI reads it from
here. The contract (``../shared/data-contract.md``) promises at least the columns it lists; these
specs extend it and never drop or rename a contract column.
"""

from __future__ import annotations

from dataclasses import dataclass


#: How DuckDB stores the long texts of the big tables (each ad's raw line, text and photo list): zstd
#: writes them faster than DuckDB's own choice (FSST) and in less space; measured on 991,063
#: observations, ``ad_observations`` was written in 21.6 s instead of 35.5 s and took 429 MB instead
#: of 814 MB, while a scan of those columns took 1.5 s instead of 1.0 s. A table created before keeps
#: the storage it had.
LONG_TEXT = "zstd"


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str
    compression: str | None = None  # DuckDB's storage compression for the column (None: DuckDB chooses)

    def ddl(self) -> str:
        using = f" USING COMPRESSION {self.compression}" if self.compression else ""
        return f'"{self.name}" {self.type}{using}'


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
        cols = ",\n  ".join(c.ddl() for c in self.columns)
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
        C("text", "VARCHAR", "as published (untrusted)", LONG_TEXT),
        C("name", "VARCHAR", "advertised first name"),
        C("age", "BIGINT", "advertised age"),
        C("phones_raw", "VARCHAR[]", "every number shown, as displayed"),
        C("images", "JSON", "photos: list of {url, sha256, phash}", LONG_TEXT),
        C("tour", "JSON", "announced travel: list of {city, from, to}"),
        C("contact", "JSON", "other channels, e.g. {whatsapp, telegram}"),
        C("problems", "VARCHAR", "optional fields set to NULL because of a wrong type; NULL when none"),
        C("source_file", "VARCHAR", "ads.jsonl path relative to the data folder"),
        C("line_no", "BIGINT", "1-based line number in source_file"),
        C("raw_line", "VARCHAR", "the line exactly as read (unknown fields are kept here)", LONG_TEXT),
    ),
)

QUARANTINE = Table(
    "quarantine", "one rejected line, snapshot or folder",
    "What was set aside and why, with its place, so that nothing is silently lost.",
    (
        C("window", "VARCHAR", "partition key (NULL for folders that are not snapshots)"),
        C("level", "VARCHAR", "line | snapshot | folder (snapshots/) | directory | billing (a CSV row or file)"),
        C("site", "VARCHAR", "the site's host name"),
        C("snapshot_id", "VARCHAR", "crawl start in UTC"),
        C("source_file", "VARCHAR", "path relative to the data folder"),
        C("line_no", "BIGINT", "1-based line number for level=line"),
        C("reason", "VARCHAR", "why it was set aside, and what to fix"),
        C("raw_line", "VARCHAR", "the line as read (cut at 10,000 characters)", LONG_TEXT),
    ),
)

PHONE_STRINGS = Table(
    "phone_strings", "one distinct displayed string read in one country (one row per number in it)",
    "Each distinct raw phone string parsed once (from ads, directory rows and billing records): the E.164 "
    "number(s) in it and how it was obfuscated.",
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


# ---------------------------------------------------------------- evidence (issue 3)
# Typed entity keys used in links: "phone:+4741234567", "ad:<site>:<ad_id>", "owner:O-17",
# "address:<address_key>". lib/keys.py builds and parses them.

DIRECTORY_LISTINGS = Table(
    "directory_listings", "one listing row of a directory extract or a directory service answer",
    "Every directory row as read, with its phone in E.164 and its name folded (addresses are keyed in `addresses`).",
    (
        C("listing_id", "VARCHAR", "stable id: source file and line (csv) or service and number (api)"),
        C("source", "VARCHAR", "csv | api"),
        C("source_file", "VARCHAR", "directory/<file>.csv relative to the data folder, or the service name"),
        C("line_no", "BIGINT", "1-based line in source_file (header is line 1)"),
        C("phone_raw", "VARCHAR", "the number as the directory wrote it"),
        C("phone", "VARCHAR", "E.164 (NULL when unreadable)"),
        C("name", "VARCHAR", "owner's name as the directory spells it"),
        C("address", "VARCHAR", "address as written"),
        C("postcode", "VARCHAR", "postcode as written"),
        C("city", "VARCHAR", "city as written"),
        C("listed_at", "VARCHAR", "listing date as written"),
        C("name_norm", "VARCHAR", "name folded: lower case, no diacritics, single spaces"),
        C("visibility", "VARCHAR", "public | reserved | hidden (reserved/hidden listings carry no name or address)"),
    ),
)

DIRECTORY_LOOKUPS = Table(
    "directory_lookups", "one answer of a directory service about one number",
    "Every question asked of a directory service and its answer, cached with its time.",
    (
        C("phone", "VARCHAR", "E.164 number looked up"),
        C("service", "VARCHAR", "the directory service's name (host of its base URL by default)"),
        C("looked_up_at", "TIMESTAMPTZ", "when the answer was received"),
        C("status", "VARCHAR", "found | not_found | error"),
        C("n_listings", "BIGINT", "listings in the answer"),
        C("answer", "JSON", "the answer as received (reserved/hidden listings without name or address)"),
    ),
)

ADDRESSES = Table(
    "addresses", "one normalised address",
    "Places owners are registered at, and whether the place can link people (private) or not (generic).",
    (
        C("address_key", "VARCHAR", "normalised address: street, number, letter and postcode (flat numbers confirm, never split)"),
        C("address", "VARCHAR", "the most common spelling as written"),
        C("variants", "VARCHAR[]", "every spelling seen"),
        C("postcode", "VARCHAR", "postcode"),
        C("city", "VARCHAR", "city"),
        C("kind", "VARCHAR", "private | shopping_centre | phone_shop | po_box | business | shared_by_many"),
        C("generic", "BOOLEAN", "true: never links the people registered here"),
        C("reason", "VARCHAR", "why the address is generic, in words"),
        C("n_owners", "BIGINT", "owners registered here"),
        C("n_phones", "BIGINT", "phones registered here"),
    ),
)

OWNERS = Table(
    "owners", "one person after resolving name variants",
    "Directory owners: one per person, not per spelling; analysts' aliases.csv overrides both ways.",
    (
        C("owner_id", "VARCHAR", "O-<12 hex>: derived from the owner's own listings, stable when unrelated owners come and go"),
        C("name", "VARCHAR", "the most common spelling"),
        C("n_phones", "BIGINT", "phones registered to the owner"),
        C("n_listings", "BIGINT", "directory listings resolved to the owner"),
        C("variants", "VARCHAR[]", "every spelling seen"),
        C("address_keys", "VARCHAR[]", "addresses registered (normalised)"),
        C("resolution", "VARCHAR", "how the spellings were joined, in words"),
    ),
)

OWNER_VARIANTS = Table(
    "owner_variants", "one spelling of one owner's name at one address",
    "How each spelling was resolved to its owner, with the score and rule: nothing is lost.",
    (
        C("owner_id", "VARCHAR", "the owner"),
        C("name", "VARCHAR", "spelling as written"),
        C("name_norm", "VARCHAR", "folded spelling"),
        C("address_key", "VARCHAR", "address of the listings with this spelling"),
        C("n_listings", "BIGINT", "listings with this spelling and address"),
        C("rule", "VARCHAR", "exact | fuzzy | initials | swapped | alias | alias_split | seed"),
        C("score", "DOUBLE", "similarity to the owner's canonical spelling (0-100)"),
        C("matched_to", "VARCHAR", "the spelling it was matched to"),
    ),
)

DIRECTORY_MATCHES = Table(
    "directory_matches", "one listing matched to a number seen in ads",
    "Directory listings of phones that appear in ads, with the resolved owner.",
    (
        C("phone", "VARCHAR", "E.164 number seen in ads"),
        C("owner_id", "VARCHAR", "resolved owner (NULL for reserved/hidden listings)"),
        C("name", "VARCHAR", "name as the directory spells it"),
        C("address", "VARCHAR", "address as written"),
        C("address_key", "VARCHAR", "normalised address"),
        C("address_generic", "BOOLEAN", "the address cannot link people"),
        C("postcode", "VARCHAR", "postcode"),
        C("city", "VARCHAR", "city"),
        C("listed_at", "VARCHAR", "listing date"),
        C("listing_id", "VARCHAR", "the directory row it rests on"),
        C("visibility", "VARCHAR", "public | reserved | hidden"),
    ),
)

SERIES_GROUPS = Table(
    "series_groups", "one phone in one group of numbers close in their series",
    "Numbers of one country lying close together (bought together), with the group's strength.",
    (
        C("group_id", "VARCHAR", "S-<country>-<first number>"),
        C("phone", "VARCHAR", "E.164 number"),
        C("country", "VARCHAR", "region of the numbers"),
        C("block", "VARCHAR", "the 10,000-number block (E.164 prefix)"),
        C("n_in_group", "BIGINT", "numbers in the group"),
        C("span", "BIGINT", "last minus first number of the group"),
        C("block_seen", "BIGINT", "numbers seen in ads in the same block (density)"),
        C("expected_by_chance", "DOUBLE", "expected number of groups at least this tight, by chance, in this block"),
        C("strength", "VARCHAR", "strong | weak"),
        C("reason", "VARCHAR", "why strong or weak, in words"),
    ),
)

ROTATION_LINKS = Table(
    "rotation_links", "two numbers used on the same ad",
    "ID rotation: numbers shown on one ad_key across snapshots, with how often and when.",
    (
        C("ad_key", "VARCHAR", "the ad"),
        C("phone_a", "VARCHAR", "E.164 (phone_a < phone_b)"),
        C("phone_b", "VARCHAR", "E.164"),
        C("n_snapshots", "BIGINT", "snapshots where the ad showed either of the two numbers"),
        C("n_snapshots_a", "BIGINT", "snapshots showing phone_a"),
        C("n_snapshots_b", "BIGINT", "snapshots showing phone_b"),
        C("first_seen", "TIMESTAMPTZ", "first observation of the pair on the ad"),
        C("last_seen", "TIMESTAMPTZ", "last observation"),
        C("n_switches", "BIGINT", "times the ad switched between them"),
        C("together", "BOOLEAN", "both shown at once in some snapshot"),
        C("owners_differ", "BOOLEAN", "registered to different owners (NULL when unknown)"),
        C("snapshot_ids", "VARCHAR[]", "the snapshots it rests on"),
    ),
)

PHOTO_LINKS = Table(
    "photo_links", "two ads sharing a photo",
    "Ads showing the same photo file or a near-identical one; stock photos excluded.",
    (
        C("ad_a", "VARCHAR", "ad_key (ad_a < ad_b)"),
        C("ad_b", "VARCHAR", "ad_key"),
        C("match", "VARCHAR", "sha256 | phash"),
        C("image_a", "VARCHAR", "image_key of ad_a's photo (joins photos.image_key)"),
        C("image_b", "VARCHAR", "image_key of ad_b's photo"),
        C("distance", "BIGINT", "Hamming distance of the phashes (0 for the same file)"),
        C("n_ads_with_image", "BIGINT", "ads showing the photo (stock photos show on many)"),
    ),
)

PHOTOS = Table(
    "photos", "one distinct photo (sha256 or phash cluster)",
    "Every photo seen, with how many ads show it and whether it is a stock photo.",
    (
        C("image_key", "VARCHAR", "sha256, or phash when no sha256"),
        C("phash", "VARCHAR", "perceptual hash"),
        C("n_ads", "BIGINT", "ads showing it or a near-identical copy"),
        C("n_components", "BIGINT", "groups of ads sharing no phone that show it"),
        C("stock", "BOOLEAN", "shown across many unconnected ads: never links"),
        C("reason", "VARCHAR", "why stock, in words"),
    ),
)

TEXT_LINKS = Table(
    "text_links", "two ads with near-duplicate texts",
    "Near-duplicate ad texts: weak evidence, excluded from networks by default (texts are copied Europe-wide).",
    (
        C("ad_a", "VARCHAR", "ad_key (ad_a < ad_b)"),
        C("ad_b", "VARCHAR", "ad_key"),
        C("similarity", "DOUBLE", "Jaccard similarity of 3-word shingles (0-1), exact for the MinHash/LSH candidates"),
        C("shared_boilerplate", "BOOLEAN", "the shared part is boilerplate seen across many ads"),
    ),
)

LINKS = Table(
    "links", "one piece of evidence between two entities",
    "Every piece of evidence, typed, weighted and traceable to snapshot lines and directory rows.",
    (
        C("kind", "VARCHAR", "ad_phone | rotation | series | directory | owner_address | photo | contact | text | billing"),
        C("a", "VARCHAR", "typed key: phone:<E.164> | ad:<site:ad_id> | owner:<owner_id> | address:<address_key>"),
        C("b", "VARCHAR", "typed key (a < b for symmetric kinds)"),
        C("weight", "DOUBLE", "strength of the evidence, 0-1"),
        C("evidence", "VARCHAR", "what it rests on, in plain words"),
        C("a_type", "VARCHAR", "phone | ad | owner | address"),
        C("b_type", "VARCHAR", "phone | ad | owner | address"),
        C("source", "VARCHAR", "where it came from: table and rows (snapshot ids, listing ids, group ids)"),
        C("strength", "VARCHAR", "strong | weak"),
        C("for_networks", "BOOLEAN", "used to build networks (text evidence is not, by default)"),
    ),
)


# ---------------------------------------------------------------- networks (issue 4)

NETWORKS = Table(
    "networks", "one detected network",
    "Organisations found in the evidence graph: more than one person's pattern, every member explained.",
    (
        C("network_id", "VARCHAR", "N-<n>: kept from run to run while the members mostly stay"),
        C("n_ads", "BIGINT", "ads in the network"),
        C("n_phones", "BIGINT", "phones in the network"),
        C("n_owners", "BIGINT", "directory owners in the network"),
        C("n_addresses", "BIGINT", "private addresses in the network"),
        C("first_seen", "TIMESTAMPTZ", "first observation of any of its ads"),
        C("last_seen", "TIMESTAMPTZ", "last observation"),
        C("cities", "VARCHAR[]", "cities its ads were seen in"),
        C("owners", "VARCHAR[]", "owners' names"),
        C("strongest_evidence", "VARCHAR", "the strongest links holding it together, in words"),
        C("score", "DOUBLE", "how strongly it is tied together (0-1)"),
    ),
)

NETWORK_MEMBERS = Table(
    "network_members", "one member of one network",
    "Who is in each network and why: the evidence path that put each member there.",
    (
        C("network_id", "VARCHAR", "the network"),
        C("member_type", "VARCHAR", "ad | phone | owner | address"),
        C("member_key", "VARCHAR", "ad_key, E.164 phone, owner_id, or address_key"),
        C("explanation", "VARCHAR", "the evidence path that put the member in the network, in plain words"),
        C("via", "VARCHAR", "the typed key of the member it was reached from (NULL for the network's seed)"),
        C("link_kind", "VARCHAR", "kind of the link it was reached by"),
        C("weight", "DOUBLE", "weight of that link"),
    ),
)

NETWORK_HISTORY = Table(
    "network_history", "one change to one network in one run",
    "How networks were born, grew, split and merged from run to run, so notes keep pointing at the right one.",
    (
        C("run_at", "TIMESTAMPTZ", "when the networks were computed"),
        C("network_id", "VARCHAR", "the network"),
        C("event", "VARCHAR", "new | kept | grown | shrunk | split | merged | dissolved"),
        C("related_ids", "VARCHAR[]", "networks it split from or merged with"),
        C("overlap", "DOUBLE", "Jaccard overlap of members with its predecessor"),
        C("n_members", "BIGINT", "members after the change"),
    ),
)

# ---------------------------------------------------------------- travel (issue 4)

AD_ITINERARIES = Table(
    "ad_itineraries", "one stay of one ad in one city",
    "Each ad's observed route: consecutive snapshots (in seen_at order) in the same city form one stay; "
    "snapshots without a city neither start nor break a stay.",
    (
        C("ad_key", "VARCHAR", "site:ad_id"),
        C("stay_no", "BIGINT", "1-based number of the stay in the ad's route"),
        C("city", "VARCHAR", "the city as written (trimmed) at the start of the stay"),
        C("city_key", "VARCHAR", "the city folded for comparison (lower case, no accents, ø→o, æ→ae, ...)"),
        C("arrived", "TIMESTAMPTZ", "first seen_at of the stay"),
        C("left", "TIMESTAMPTZ", "last seen_at of the stay (the ad was still there then)"),
        C("n_snapshots", "BIGINT", "distinct snapshots in the stay"),
        C("moved_from", "VARCHAR", "the previous stay's city, NULL for the first stay"),
        C("moved_from_key", "VARCHAR", "the previous stay's city_key, NULL for the first stay"),
    ),
)

NETWORK_TRAVEL = Table(
    "network_travel", "one observed city-to-city flow of one network",
    "Moves of a network's ads between cities (from ad_itineraries and network_members), counted per direction.",
    (
        C("network_id", "VARCHAR", "the network"),
        C("from_city", "VARCHAR", "city left (the most common spelling of its city_key)"),
        C("to_city", "VARCHAR", "city arrived in (the most common spelling of its city_key)"),
        C("from_city_key", "VARCHAR", "city_key of from_city"),
        C("to_city_key", "VARCHAR", "city_key of to_city"),
        C("n_moves", "BIGINT", "moves of the network's ads from from_city to to_city"),
        C("n_ads", "BIGINT", "distinct ads making that move"),
        C("first_move", "TIMESTAMPTZ", "earliest arrival in to_city by such a move"),
        C("last_move", "TIMESTAMPTZ", "latest arrival in to_city by such a move"),
    ),
)

AD_TOURS = Table(
    "ad_tours", "one distinct announced tour stop of one ad",
    "Tour plans the ads announce (their tour lists): context only; observed moves are in ad_itineraries.",
    (
        C("ad_key", "VARCHAR", "site:ad_id"),
        C("city", "VARCHAR", "announced city as written (trimmed)"),
        C("city_key", "VARCHAR", "the city folded for comparison, as in ad_itineraries"),
        C("from_date", "DATE", "announced first day; NULL when missing or not a date"),
        C("to_date", "DATE", "announced last day; NULL when missing or not a date"),
        C("first_announced", "TIMESTAMPTZ", "first seen_at of an observation announcing it"),
        C("last_announced", "TIMESTAMPTZ", "last seen_at of an observation announcing it"),
    ),
)


NETWORK_MOVEMENT = Table(
    "network_movement", "one network",
    "How often each network's ads move between cities (observed moves, not announcements).",
    (
        C("network_id", "VARCHAR", "the network"),
        C("n_ads", "BIGINT", "its ads seen in at least one city"),
        C("n_ads_moved", "BIGINT", "of those, ads seen in two or more cities in turn"),
        C("share_moved", "DOUBLE", "n_ads_moved / n_ads"),
        C("n_moves", "BIGINT", "moves of its ads from one city to another"),
        C("n_cities", "BIGINT", "distinct cities its ads were seen in"),
    ),
)

# ---------------------------------------------------------------- billing (issue 6)
# Billing records (call detail records) of phones taken back by their registered owners
# (billing/*.csv): every number the phone talked to, when, and on which network.

BILLING_EVENTS = Table(
    "billing_events", "one call, SMS or data session of one recovered phone",
    "Every readable row of billing/*.csv, typed, numbers in E.164; an event found in several (overlapping) "
    "files is loaded once. Bad rows go to quarantine (level 'billing') with file, line and reason.",
    (
        C("subscriber", "VARCHAR", "the recovered phone (E.164): whose billing record this is"),
        C("subscriber_region", "VARCHAR", "the subscriber number's own country (ISO alpha-2): its home network's country"),
        C("event_at", "TIMESTAMPTZ", "when the event happened (the record's time with its zone)"),
        C("timestamp_raw", "VARCHAR", "the time as written in the file"),
        C("local_date", "DATE", "the day as written (the record's local time, not UTC)"),
        C("local_minute", "INTEGER", "minute of the day as written (0-1439): the phone's local time of day"),
        C("utc_offset_min", "INTEGER", "the zone offset written in the time, in minutes (+120 for +02:00)"),
        C("direction", "VARCHAR", "in | out"),
        C("kind", "VARCHAR", "call | sms | data"),
        C("counterpart", "VARCHAR", "the other party in E.164; NULL for data sessions and numbers that cannot be read"),
        C("counterpart_raw", "VARCHAR", "the other party as written (short codes and sender names stay here)"),
        C("counterpart_region", "VARCHAR", "the other party's number's country (ISO alpha-2)"),
        C("duration_s", "BIGINT", "seconds (NULL when the file leaves it empty)"),
        C("network", "VARCHAR", "the network that carried the event, as written"),
        C("country", "VARCHAR", "that network's country (ISO alpha-2, upper case): a foreign one means roaming"),
        C("roaming", "BOOLEAN", "country is not the subscriber's home country"),
        C("source_file", "VARCHAR", "billing CSV path relative to the data folder (the first file holding the event)"),
        C("line_no", "BIGINT", "1-based physical line in source_file (the header is line 1)"),
        C("n_files", "BIGINT", "files holding this event (overlapping exports)"),
    ),
)

BILLING_COUNTERPARTS = Table(
    "billing_counterparts", "one other party in billing records",
    "Every number the recovered phones talked to, ranked by score: controller-like numbers (many of the phones, "
    "on most days, at regular times, mostly SMS, often foreign) above customers; each row says why in words.",
    (
        C("counterpart", "VARCHAR", "the other party (E.164)"),
        C("n_subscribers", "BIGINT", "recovered phones it talked to"),
        C("n_events", "BIGINT", "calls and SMS with them"),
        C("score", "DOUBLE", "how controller-like (0-1): presence x pattern, see lib/billing_counterparts.py"),
        C("rank", "BIGINT", "1 = most controller-like (score, then events)"),
        C("role", "VARCHAR", "controller-like | customer-like | occasional"),
        C("reason", "VARCHAR", "why it ranks where it does, in words"),
        C("subscribers", "VARCHAR[]", "the recovered phones it talked to"),
        C("subscriber_networks", "VARCHAR[]", "networks those phones belong to (network_members), empty when unknown"),
        C("best_group", "VARCHAR", "the network (or 'all recovered phones') whose phones it covers most"),
        C("group_size", "BIGINT", "recovered phones in best_group"),
        C("n_group_subscribers", "BIGINT", "of those, phones it talked to"),
        C("n_days", "BIGINT", "distinct (local) days with contact"),
        C("n_days_possible", "BIGINT", "distinct days its recovered phones have any event in the records"),
        C("n_contacts", "BIGINT", "contacts: events with one phone less than contact_gap_min apart count once"),
        C("n_calls", "BIGINT", "calls"),
        C("n_sms", "BIGINT", "SMS"),
        C("sms_share", "DOUBLE", "n_sms / (n_calls + n_sms)"),
        C("n_in", "BIGINT", "events towards the recovered phones"),
        C("n_out", "BIGINT", "events from the recovered phones"),
        C("call_seconds", "BIGINT", "total call duration"),
        C("regularity", "DOUBLE", "share of contacts within +-regular_window_min of the pair's two usual times of day, "
                                  "shrunk towards the chance level for few contacts (0-1)"),
        C("usual_times", "VARCHAR", "the usual local times of day with their spread, e.g. '10:39 ± 4 min, 22:11 ± 3 min'"),
        C("evening_share", "DOUBLE", "share of contacts in the evening or at night (18:00-06:00 local)"),
        C("country", "VARCHAR", "the number's country (ISO alpha-2)"),
        C("foreign_number", "BOOLEAN", "the number's country differs from its recovered phones' home country"),
        C("in_ads", "BOOLEAN", "the number is itself shown in ads (phones)"),
        C("n_ads", "BIGINT", "ads showing it (0 when not in ads)"),
        C("network_ids", "VARCHAR[]", "networks it is itself a member phone of (network_members)"),
        C("coverage", "DOUBLE", "share of the phone-days of best_group's recovered phones with contact (0-1)"),
        C("persistence", "DOUBLE", "mean share of the days of the phones it talks to with contact (0-1)"),
        C("presence", "DOUBLE", "how much it is in the phones' lives (0-1): mean of coverage and persistence"),
        C("pattern_score", "DOUBLE", "how controller-like its contacts look (0-1): regularity, SMS, foreign, daytime"),
        C("first_event", "TIMESTAMPTZ", "first event"),
        C("last_event", "TIMESTAMPTZ", "last event"),
    ),
)

BILLING_ROAMING = Table(
    "billing_roaming", "one period of one recovered phone on foreign networks of one country",
    "When the recovered phones were run from abroad: days on a foreign network, joined into periods "
    "(a gap of at most one day joins).",
    (
        C("subscriber", "VARCHAR", "the recovered phone (E.164)"),
        C("home_country", "VARCHAR", "the phone number's own country"),
        C("country", "VARCHAR", "the foreign network's country (ISO alpha-2)"),
        C("period_no", "BIGINT", "1-based number of the period for this phone and country, in time order"),
        C("first_day", "DATE", "first local day with an event on a network of that country"),
        C("last_day", "DATE", "last such day"),
        C("n_days", "BIGINT", "distinct days with events there"),
        C("span_days", "BIGINT", "last_day - first_day + 1"),
        C("n_events", "BIGINT", "events carried by that country's networks in the period"),
        C("networks", "VARCHAR[]", "the networks that carried them, as written"),
        C("source_files", "VARCHAR[]", "billing files holding them"),
        C("description", "VARCHAR", "the period in words"),
    ),
)


# ---------------------------------------------------------------- red flags (issue 6)

RED_FLAGS = Table(
    "red_flags", "one indicator on one ad, phone or network",
    "Screening signals, not verdicts: indicators from CMM's technology-facilitated trafficking red flags and "
    "the research on ad data, each with its evidence in words, the measured value and its source.",
    (
        C("entity_type", "VARCHAR", "ad | phone | network"),
        C("entity_key", "VARCHAR", "ad_key (site:ad_id), E.164 phone, or network_id"),
        C("flag", "VARCHAR", "the indicator (snake_case; lib/red_flags.py INDICATORS lists each with its source)"),
        C("category", "VARCHAR", "CMM category: recruitment | control_and_surveillance | financial | behavioural "
                                 "| know_your_customer"),
        C("evidence", "VARCHAR", "what was measured, in plain words with the numbers (names from ads cut to 30 "
                                 "characters, at most 5 listed)"),
        C("value", "DOUBLE", "the measured quantity the threshold applies to (names, cities, numbers, days, ...)"),
        C("source", "VARCHAR", "where the indicator comes from (short citation)"),
        C("note", "VARCHAR", "caution: why the signal may be innocent; NULL when none"),
    ),
)

AUDIT_LOG = Table(
    "audit_log", "one action that reached outside the database or changed what it holds about people",
    "Who did what, when, and on what scope: directory look-ups, exports, shared (pseudonymised) exports and "
    "forget requests. Scopes are counts and folders, never the numbers, names or addresses themselves.",
    (
        C("done_at", "TIMESTAMPTZ", "when the action finished (UTC)"),
        C("actor", "VARCHAR", "who ran it: $ADNET_ACTOR, else the operating-system user"),
        C("action", "VARCHAR", "directory_lookup | export | shared_export | forget"),
        C("scope", "VARCHAR", "what it covered, in words: counts, folders, the service's host; never a person's data"),
        C("run_id", "VARCHAR", "the Dagster run, NULL when run outside Dagster (adnet forget)"),
        C("host", "VARCHAR", "the machine it ran on"),
    ),
)

TABLES: dict[str, Table] = {t.name: t for t in (
    SNAPSHOTS, AD_OBSERVATIONS, QUARANTINE, PHONE_STRINGS, OBSERVATION_PHONES, PHONES, ADS,
    DIRECTORY_LISTINGS, DIRECTORY_LOOKUPS, ADDRESSES, OWNERS, OWNER_VARIANTS, DIRECTORY_MATCHES, SERIES_GROUPS, ROTATION_LINKS,
    PHOTOS, PHOTO_LINKS, TEXT_LINKS, LINKS, NETWORKS, NETWORK_MEMBERS, NETWORK_HISTORY,
    AD_ITINERARIES, NETWORK_TRAVEL, AD_TOURS, NETWORK_MOVEMENT,
    BILLING_EVENTS, BILLING_COUNTERPARTS, BILLING_ROAMING, RED_FLAGS, AUDIT_LOG,
)}

# Logs appended to by several steps (never rebuilt by one asset): every other table is an asset of its name.
LOG_TABLES: frozenset[str] = frozenset({AUDIT_LOG.name})
ASSET_TABLES: tuple[str, ...] = tuple(name for name in TABLES if name not in LOG_TABLES)
