"""Red flags: screening signals on ads, phones and networks, each with its evidence and its source.

Screening signals, not verdicts. Every indicator here is also found among independent sex workers
who work for themselves (they tour, change numbers, ask for a deposit, hide their number from
scrapers). A flag says "look here, and here is what was measured"; it never says that a person is
trafficked or that anyone is a trafficker. The UI and every export show ``DISCLAIMER``.

Where the indicators come from
------------------------------
*Categories.* Center mod Menneskehandel (CMM, the Danish Centre against Human Trafficking, part
of the Danish Authority of Social Services and Housing) published the tool "Teknologifaciliteret
menneskehandel – Røde flag" / "Technology-facilitated trafficking – Red flags" (2023) for the
financial sector, tech companies, cyber police and other authorities. It groups its indicators in
four categories: behavioural indicators, financial indicators, know-your-customer indicators, and
recruitment, retention ("fastholdelse") and surveillance indicators. adnet keeps CMM's grouping
and splits the last one in two, because ad data tells the two halves apart:

* ``recruitment``: how people are drawn in (job offers, grooming). Ad data of the kind adnet
  reads carries no recruitment signal, so no indicator uses this category yet; it is kept so
  that the vocabulary matches CMM's and a future indicator has its place.
* ``control_and_surveillance``: someone other than the advertised woman runs her contact,
  moves her or watches her (CMM's retention and surveillance).
* ``financial``: how and to whom customers pay.
* ``behavioural``: how the ad or the number behaves on the platform (copying, disguising).
* ``know_your_customer``: the contact details and identity behind a profile do not belong to
  one person (one number for many names, numbers swapped or bought in bulk): what a platform
  or an operator checking its customers would notice.

*Ad-data indicators.* The research literature on escort ads found these to matter:

* Ibanez & Suthers (2014), "Detection of domestic human trafficking indicators and movement
  trends using content available on open internet sources" (HICSS): movement of the advertised
  women between cities, third-party involvement, and several women behind one contact number.
* Ibanez & Gazan (2016), on virtual indicators of sex trafficking in online ads: shared phone
  numbers across ads and movement.
* Kejriwal & Szekely, the DIG investigative search engine of DARPA's Memex programme (2017):
  phone numbers are the strongest link between escort ads; ads write numbers in disguised forms
  to evade search, and the system undoes them.
* Tong, Zadeh, Jones & Morency (2017), "Combating human trafficking with deep multimodal models"
  (ACL), and the Memex work: the ads' photos carry evidence alongside their text. adnet flags the
  plainest photo signal: the same picture on ads with other contact numbers.
* Large-scale evaluations of text indicators (e.g. the Memex programme evaluations) found
  wording cues such as "new in town" not predictive; adnet uses *observed* moves between
  snapshots (``ad_itineraries``) instead and reads no such wording at all.
* FINTRAC's operational alerts on the laundering of proceeds of sex trafficking (Project
  Protect, Canada): online payment services and virtual currencies; CMM's financial indicators.
* Billing records of recovered phones (``lib/billing_counterparts.py``, ``lib/billing_roaming.py``):
  phones run from abroad and numbers that check in with several phones at fixed times.

No quote or page number is claimed; each ``Indicator.source`` names the work and what it supports.

The indicators and their categories (why each fits)
---------------------------------------------------
phone
  ``one_phone_many_names`` (know_your_customer): one number behind ads under several names: the
  contact detail is not one woman's; CMM's KYC flags one contact detail shared by several profiles.
  ``one_phone_many_cities`` (control_and_surveillance): one number answering for ads in several
  cities: moved around, or booked by one hand for women in several places.
  ``obscured_number`` (behavioural): the number was written to get past filters and search.
  ``rotating_number`` (know_your_customer): one of three or more numbers an ad switched between.
  ``number_in_series`` (know_your_customer): in a strong group of neighbouring numbers (bought
  in bulk, usually registered to others).
  ``run_from_abroad`` (control_and_surveillance): the phone was on foreign networks for days
  (billing records): someone abroad may hold it.
  ``controlled_by`` (control_and_surveillance): billing records show a controller-like number
  checking in with it.
  ``controller_like_number`` (control_and_surveillance): the controller-like number itself.
ad
  ``rotating_numbers`` (know_your_customer), ``observed_travel`` (control_and_surveillance: moving
  people from city to city keeps them isolated and dependent), ``reused_photo`` (behavioural:
  the same pictures on ads with other contact numbers, copied profiles), ``obscured_number``
  (behavioural), ``third_party_contact`` (control_and_surveillance: one Telegram handle answers
  for ads under several names), ``payment_hint`` (financial: payment apps, crypto, gift cards, a
  deposit first), ``shared_contact_number`` (know_your_customer: the ad's number is shown under
  several names).
network
  ``many_women_one_number`` (know_your_customer), ``phones_in_series`` (know_your_customer),
  ``id_rotation`` (know_your_customer), ``travel_circuit`` (control_and_surveillance),
  ``foreign_control`` (control_and_surveillance).

Method
------
Set-based SQL in DuckDB over whole tables: one ``INSERT … SELECT`` per indicator, no Python loop
over rows. Each indicator is a small named SQL function in the registry ``INDICATORS``; it
declares the tables (and columns) it needs, and an indicator whose inputs are missing is skipped
and reported (``RedFlagReport.skipped``). Thresholds are in ``RedFlagParams``. Output is
deterministic: every list is ordered and the table is written in (entity_type, entity_key, flag)
order; each (entity_type, entity_key, flag) appears once.

Names, cities and handles come from the ads and are attacker-controlled: they are kept as data in
the evidence, with control characters removed, each cut to ``max_chars`` (30) characters, and at
most ``max_listed`` (5) listed, then "…". The evidence always starts with the entity's own key.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import duckdb

from adnet_assets.lib.store import ensure_table
from adnet_assets.lib.travel import city_key_sql
from adnet_assets.schema import RED_FLAGS

__all__ = [
    "CATEGORIES", "DISCLAIMER", "ENTITY_TYPES", "INDICATORS", "PAYMENT_HINTS", "RED_FLAGS",
    "Indicator", "RedFlagParams", "RedFlagReport", "build_red_flags",
    "indicator_rows", "run_red_flags",
]

DISCLAIMER = (
    "Screening signals, not verdicts: each red flag is a pattern that research and practice "
    "associate with trafficking, and each is also found among sex workers who work independently. "
    "A flag says where to look and what was measured; it does not show that anyone is a victim or "
    "a trafficker. Read the evidence and the ads before acting."
)

ENTITY_TYPES = ("ad", "phone", "network")

#: CMM's categories (the fourth, "recruitment, retention and surveillance", split in two)
CATEGORIES = ("recruitment", "control_and_surveillance", "financial", "behavioural", "know_your_customer")

@dataclass(frozen=True)
class RedFlagParams:
    """Thresholds of the indicators (each a round number a reader can argue with).

    * ``min_names`` (3): distinct advertised names (folded: case, accents, spacing) on one phone
      or one Telegram handle. Two names can be one woman who renamed her ad; three or more is
      "one contact number for many women".
    * ``min_phone_cities`` (3): distinct cities of the ads showing one phone. Two is a trip.
    * ``min_rotating_numbers`` (3): numbers one ad switched between (``rotation_links``). A new
      SIM card or a work and a private number give two; three or more on one ad is rotation.
    * ``min_stays`` (3) and ``min_travel_cities`` (2): an ad's observed route has at least three
      stays (two moves: a return or a circuit) in at least two cities.
    * ``min_circuit_cities`` (3): a network's ads moved between at least three cities.
    * ``min_series_phones`` (2): a network's phones in strong series groups.
    * ``min_days_abroad`` (3): days a recovered phone spent on foreign networks in all (one or
      two days is a border crossing or a short trip).
    * ``max_listed`` (5) and ``max_chars`` (30): names, cities and ads listed in the evidence, and
      the length each name is cut to.
    """

    min_names: int = 3
    min_phone_cities: int = 3
    min_rotating_numbers: int = 3
    min_stays: int = 3
    min_travel_cities: int = 2
    min_circuit_cities: int = 3
    min_series_phones: int = 2
    min_days_abroad: int = 3
    max_listed: int = 5
    max_chars: int = 30

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"RedFlagParams.{name} must be a whole number >= 1, got {value!r}")


#: Context handed to each indicator's SQL: which tables/columns exist (``has('t')``, ``has('t.c')``).
Has = Callable[[str], bool]


@dataclass(frozen=True)
class Indicator:
    """One red flag: its name, CMM category, entity, source, meaning and SQL.

    ``sql(params, has)`` returns a SELECT of ``entity_type, entity_key, evidence, value, note``;
    ``requires`` lists what it reads: each entry a table, ``table.column``, or a basis ``@name``
    built here from the tables (``@phone_ads``, ``@ad_rotation``); ``a|b`` means either, and
    ``a+b`` both. ``threshold`` is a sentence with ``{param}`` placeholders from ``RedFlagParams``.
    """

    flag: str
    category: str
    entity_types: tuple[str, ...]
    source: str
    description: str
    sql: Callable[[RedFlagParams, Has], str] = field(repr=False, compare=False)
    requires: tuple[str, ...] = ()
    threshold: str = ""
    note: str | None = None

    @property
    def key(self) -> str:
        return f"{self.entity_types[0]}:{self.flag}"


@dataclass
class RedFlagReport:
    """What ``run_red_flags`` wrote: rows per indicator (``entity:flag``) and the indicators skipped, with why."""

    n_rows: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


# ------------------------------------------------------------------ SQL helpers

def _clean(expr: str, max_chars: int) -> str:
    """Untrusted text for the evidence: no control characters, single spaces, cut to max_chars."""
    s = (f"trim(regexp_replace(regexp_replace(CAST({expr} AS VARCHAR), '[\\x00-\\x1f\\x7f-\\x9f]', '', 'g'), "
         f"'[\\s\\p{{Z}}]+', ' ', 'g'))")
    n = int(max_chars)
    return f"nullif(CASE WHEN length({s}) > {n} THEN left({s}, {n - 1}) || '…' ELSE {s} END, '')"


def _fold(expr: str) -> str:
    """Comparison key of a name: the same folding as cities (case, accents, ø/æ, separators)."""
    return city_key_sql(expr)


def _show(list_expr: str, k: int, sep: str = ", ") -> str:
    """At most k items of a (sorted) list, then an ellipsis."""
    return (f"(array_to_string(list_slice({list_expr}, 1, {int(k)}), '{sep}') "
            f"|| CASE WHEN len({list_expr}) > {int(k)} THEN '{sep}…' ELSE '' END)")


def _n(expr: str, singular: str, plural: str | None = None) -> str:
    """'3 ads' / '1 ad'."""
    plural = plural or singular + "s"
    return f"(CAST({expr} AS VARCHAR) || CASE WHEN ({expr}) = 1 THEN ' {singular}' ELSE ' {plural}' END)"


def _day(expr: str) -> str:
    return f"strftime({expr}, '%Y-%m-%d')"


def _handle_sql(json_col: str) -> str:
    """A Telegram handle folded as links' contact evidence folds it (no @, no t.me/, lower case)."""
    return (f"nullif(regexp_replace(lower(trim({json_col}->>'$.telegram')), "
            f"'^(https?://)?(t\\.me/|telegram\\.me/)?@?', ''), '')")


# ------------------------------------------------------------------ bases (temp tables shared by indicators)

_BASE_PHONE_ADS = "_adnet_rf_phone_ads"
_BASE_PHONE_STATS = "_adnet_rf_phone_stats"
_BASE_AD_ROTATION = "_adnet_rf_ad_rotation"
_SORTED = "_adnet_rf_sorted"
_WORK_TABLES = (_BASE_PHONE_ADS, _BASE_PHONE_STATS, _BASE_AD_ROTATION, _SORTED)


def _phone_ads_sql(p: RedFlagParams, has: Has) -> str:
    """One row per (phone, ad, name, city) seen together: from the observations when they exist."""
    m = p.max_chars
    if has("observation_phones") and has("ad_observations"):
        return f"""
            SELECT DISTINCT op.phone, op.ad_key,
                   {_fold('o.name')} AS name_key, {_clean('o.name', m)} AS name,
                   {city_key_sql('coalesce(o.city, op.city)')} AS city_key,
                   {_clean('coalesce(o.city, op.city)', m)} AS city
            FROM observation_phones op
            JOIN ad_observations o ON o.ad_key = op.ad_key AND o.snapshot_id = op.snapshot_id
            WHERE op.phone IS NOT NULL"""
    return f"""
        SELECT DISTINCT phone, ad_key, {_fold('last_name')} AS name_key, {_clean('last_name', m)} AS name,
               {city_key_sql('last_city')} AS city_key, {_clean('last_city', m)} AS city
        FROM (SELECT ad_key, unnest(phones) AS phone, last_name, last_city FROM ads)
        WHERE phone IS NOT NULL"""


def _phone_stats_sql(p: RedFlagParams, has: Has) -> str:
    return f"""
        WITH a AS (SELECT phone, count(DISTINCT ad_key) AS n_ads FROM {_BASE_PHONE_ADS} GROUP BY phone),
        nk AS (SELECT phone, name_key, min(name) AS name FROM {_BASE_PHONE_ADS}
               WHERE name_key IS NOT NULL GROUP BY phone, name_key),
        n AS (SELECT phone, count(*) AS n_names, list(coalesce(name, '?') ORDER BY name_key) AS names
              FROM nk GROUP BY phone),
        ck AS (SELECT phone, city_key, min(city) AS city FROM {_BASE_PHONE_ADS}
               WHERE city_key IS NOT NULL GROUP BY phone, city_key),
        c AS (SELECT phone, count(*) AS n_cities, list(coalesce(city, '?') ORDER BY city_key) AS cities
              FROM ck GROUP BY phone)
        SELECT a.phone, a.n_ads, coalesce(n.n_names, 0) AS n_names, coalesce(n.names, []::VARCHAR[]) AS names,
               coalesce(c.n_cities, 0) AS n_cities, coalesce(c.cities, []::VARCHAR[]) AS cities
        FROM a LEFT JOIN n USING (phone) LEFT JOIN c USING (phone)"""


def _ad_rotation_sql(p: RedFlagParams, has: Has) -> str:
    return """
        WITH x AS (SELECT ad_key, phone_a AS phone FROM rotation_links
                   UNION SELECT ad_key, phone_b FROM rotation_links)
        SELECT ad_key, count(DISTINCT phone) AS n_numbers, list(DISTINCT phone ORDER BY phone) AS phones
        FROM x WHERE phone IS NOT NULL GROUP BY ad_key"""


#: basis name -> (requirement, table, SQL builder); built in this order when their requirement holds
_BASES: tuple[tuple[str, str, str, Callable[[RedFlagParams, Has], str]], ...] = (
    ("@phone_ads", "observation_phones.phone+ad_observations.name|ads.phones+ads.last_name+ads.last_city",
     _BASE_PHONE_ADS, _phone_ads_sql),
    ("@phone_stats", "@phone_ads", _BASE_PHONE_STATS, _phone_stats_sql),
    ("@ad_rotation", "rotation_links.phone_a+rotation_links.phone_b", _BASE_AD_ROTATION, _ad_rotation_sql),
)

_SPELLED_BASES = {
    "@phone_ads": "observation_phones with ad_observations, or ads (phones, last_name, last_city)",
    "@phone_stats": "observation_phones with ad_observations, or ads (phones, last_name, last_city)",
    "@ad_rotation": "rotation_links",
}


# ------------------------------------------------------------------ sources (short citations)

_CMM = "CMM, Technology-facilitated trafficking – Red flags (2023)"
_IBANEZ_SUTHERS = "Ibanez & Suthers (2014), trafficking indicators and movement in open internet ads"
_IBANEZ_GAZAN = "Ibanez & Gazan (2016), virtual indicators in online escort ads"
_DIG = "Kejriwal & Szekely (2017), DIG/DARPA Memex: phone numbers link escort ads"
_TONG = "Tong et al. (2017), Combating human trafficking with deep multimodal models"
_MEMEX_EVAL = "large-scale evaluations of text indicators (e.g. Memex) found 'new in town' wording not predictive"
_FINTRAC = "FINTRAC operational alerts on sex-trafficking proceeds (Project Protect)"
_BILLING = "adnet billing method (lib/billing_counterparts.py, lib/billing_roaming.py)"


# ------------------------------------------------------------------ phone indicators

def _one_phone_many_names(p: RedFlagParams, has: Has) -> str:
    return f"""
        SELECT 'phone' AS entity_type, phone AS entity_key,
               phone || ' is shown on ' || {_n('n_ads', 'ad')} || ' under ' || n_names || ' names ('
                 || {_show('names', p.max_listed)} || ')'
                 || CASE WHEN n_cities > 0 THEN ' in ' || {_n('n_cities', 'city', 'cities')} ELSE '' END AS evidence,
               CAST(n_names AS DOUBLE) AS value
        FROM {_BASE_PHONE_STATS} WHERE n_names >= {p.min_names}"""


def _one_phone_many_cities(p: RedFlagParams, has: Has) -> str:
    return f"""
        SELECT 'phone' AS entity_type, phone AS entity_key,
               phone || ' is shown on ' || {_n('n_ads', 'ad')} || ' in ' || n_cities || ' cities ('
                 || {_show('cities', p.max_listed)} || ') under ' || {_n('n_names', 'name')} AS evidence,
               CAST(n_cities AS DOUBLE) AS value
        FROM {_BASE_PHONE_STATS} WHERE n_cities >= {p.min_phone_cities}"""


def _phone_obscured(p: RedFlagParams, has: Has) -> str:
    if has("phone_strings.obfuscation") and has("phone_strings.obfuscated"):
        kinds = """(SELECT phone, array_to_string(list(DISTINCT kind ORDER BY kind), ', ') AS kinds
                    FROM (SELECT phone, trim(unnest(string_split(obfuscation, ','))) AS kind
                          FROM phone_strings WHERE obfuscated AND phone IS NOT NULL AND obfuscation IS NOT NULL)
                    WHERE kind <> '' GROUP BY phone)"""
    else:
        kinds = "(SELECT NULL::VARCHAR AS phone, NULL::VARCHAR AS kinds WHERE false)"
    return f"""
        SELECT 'phone' AS entity_type, ph.phone AS entity_key,
               ph.phone || ' was written in disguise in ' || coalesce(ph.n_obfuscated, 0) || ' of '
                 || {_n('coalesce(ph.n_observations, 0)', 'observation')} || ' showing it'
                 || coalesce(' (' || k.kinds || ')', '') AS evidence,
               CAST(coalesce(ph.n_obfuscated, 0) AS DOUBLE) AS value
        FROM phones ph LEFT JOIN {kinds} k ON k.phone = ph.phone
        WHERE ph.ever_obfuscated AND ph.phone IS NOT NULL"""


def _phone_rotating(p: RedFlagParams, has: Has) -> str:
    return f"""
        WITH r AS (SELECT ad_key, phones FROM {_BASE_AD_ROTATION} WHERE n_numbers >= {p.min_rotating_numbers}),
        x AS (SELECT unnest(phones) AS phone, ad_key, phones FROM r),
        g AS (SELECT phone, count(DISTINCT ad_key) AS n_ads, list(DISTINCT ad_key ORDER BY ad_key) AS ads,
                     list_sort(list_distinct(flatten(list(phones)))) AS all_phones
              FROM x GROUP BY phone),
        o AS (SELECT *, list_filter(all_phones, lambda q: q <> phone) AS others FROM g)
        SELECT 'phone' AS entity_type, phone AS entity_key,
               phone || ' is one of the numbers rotated on ' || {_n('n_ads', 'ad')} || ' ('
                 || {_show('ads', p.max_listed)} || '), with ' || {_n('len(others)', 'other number')} || ' ('
                 || {_show('others', p.max_listed)} || ')' AS evidence,
               CAST(len(others) AS DOUBLE) AS value
        FROM o"""


def _phone_series(p: RedFlagParams, has: Has) -> str:
    return """
        SELECT 'phone' AS entity_type, phone AS entity_key,
               phone || ' is one of ' || n_in_group || ' numbers in the strong series group ' || group_id
                 || ' (within ' || span || ' of each other in block ' || block || '; '
                 || printf('%.2g', expected_by_chance) || ' such groups expected by chance): numbers bought together'
                 AS evidence,
               CAST(n_in_group AS DOUBLE) AS value
        FROM series_groups WHERE strength = 'strong' AND phone IS NOT NULL
        QUALIFY row_number() OVER (PARTITION BY phone ORDER BY n_in_group DESC, group_id) = 1"""


def _roaming_by_phone_sql(p: RedFlagParams, has: Has) -> str:
    """Per recovered phone: days abroad in all, the periods in words, and the ads seen meanwhile."""
    if has("observation_phones.seen_at"):
        seen = f"""
            s AS (SELECT r.subscriber AS phone, count(DISTINCT CAST(op.seen_at AS DATE)) AS n_seen_days,
                         list(DISTINCT {_clean('op.city', p.max_chars)} ORDER BY {_clean('op.city', p.max_chars)})
                           FILTER (WHERE op.city IS NOT NULL) AS seen_cities
                  FROM billing_roaming r
                  JOIN observation_phones op ON op.phone = r.subscriber
                   AND CAST(op.seen_at AS DATE) BETWEEN r.first_day AND r.last_day
                  GROUP BY r.subscriber)"""
    else:
        seen = "s AS (SELECT NULL::VARCHAR AS phone, 0 AS n_seen_days, []::VARCHAR[] AS seen_cities WHERE false)"
    return f"""
        WITH a AS (SELECT subscriber AS phone, any_value(home_country) AS home, sum(n_days) AS n_days,
                          sum(n_events) AS n_events, list(DISTINCT country ORDER BY country) AS countries,
                          list(country || ' ' || {_day('first_day')}
                               || CASE WHEN last_day > first_day THEN ' to ' || {_day('last_day')} ELSE '' END
                               || ' (' || {_n('n_days', 'day')} || ')' ORDER BY first_day, country) AS periods
                   FROM billing_roaming WHERE subscriber IS NOT NULL GROUP BY subscriber),
        {seen}
        SELECT a.*, coalesce(s.n_seen_days, 0) AS n_seen_days, coalesce(s.seen_cities, []::VARCHAR[]) AS seen_cities
        FROM a LEFT JOIN s USING (phone)"""


def _run_from_abroad(p: RedFlagParams, has: Has) -> str:
    return f"""
        WITH r AS ({_roaming_by_phone_sql(p, has)})
        SELECT 'phone' AS entity_type, phone AS entity_key,
               phone || ' (a ' || coalesce(home, '?') || ' number) was on foreign networks on '
                 || {_n('n_days', 'day')} || ', ' || {_n('n_events', 'event')} || ': '
                 || {_show('periods', p.max_listed, '; ')}
                 || CASE WHEN n_seen_days > 0 THEN '; ads showing it were seen on ' || {_n('n_seen_days', 'day')}
                         || ' meanwhile' || CASE WHEN len(seen_cities) > 0 THEN ' (in '
                         || {_show('seen_cities', p.max_listed)} || ')' ELSE '' END ELSE '' END AS evidence,
               CAST(n_days AS DOUBLE) AS value
        FROM r WHERE n_days >= {p.min_days_abroad}"""


def _controlled_by(p: RedFlagParams, has: Has) -> str:
    return f"""
        WITH c AS (SELECT counterpart, score, rank, country, unnest(subscribers) AS phone
                   FROM billing_counterparts WHERE role = 'controller-like' AND counterpart IS NOT NULL),
        g AS (SELECT phone, count(DISTINCT counterpart) AS n, max(score) AS best,
                     list(counterpart || ' (' || coalesce(country, '?') || ', rank ' || rank || ', score '
                          || round(score, 2) || ')' ORDER BY rank, counterpart) AS ctl
              FROM c WHERE phone IS NOT NULL GROUP BY phone)
        SELECT 'phone' AS entity_type, phone AS entity_key,
               phone || ' was in regular contact with ' || {_n('n', 'controller-like number')}
                 || ' in the billing records: '
                 || {_show('ctl', p.max_listed, '; ')} AS evidence,
               best AS value
        FROM g"""


def _controller_like_number(p: RedFlagParams, has: Has) -> str:
    return """
        SELECT 'phone' AS entity_type, counterpart AS entity_key,
               counterpart || ' (' || coalesce(country, '?') || ' number) ranks ' || rank
                 || ' as controller-like in the billing records (score ' || round(score, 2) || ', '
                 || n_subscribers || ' recovered phone' || CASE WHEN n_subscribers = 1 THEN '' ELSE 's' END || ')'
                 || coalesce(': ' || reason, '') AS evidence,
               score AS value
        FROM billing_counterparts WHERE role = 'controller-like' AND counterpart IS NOT NULL"""


# ------------------------------------------------------------------ ad indicators

def _ad_rotating(p: RedFlagParams, has: Has) -> str:
    return f"""
        SELECT 'ad' AS entity_type, ad_key AS entity_key,
               'ad ' || ad_key || ' switched between ' || n_numbers || ' numbers over its life ('
                 || {_show('phones', p.max_listed)} || ')' AS evidence,
               CAST(n_numbers AS DOUBLE) AS value
        FROM {_BASE_AD_ROTATION} WHERE n_numbers >= {p.min_rotating_numbers}"""


def _observed_travel(p: RedFlagParams, has: Has) -> str:
    route_len = max(p.max_listed, 8)
    return f"""
        WITH s AS (SELECT ad_key, count(*) AS n_stays, count(DISTINCT city_key) AS n_cities,
                          list(coalesce({_clean('city', p.max_chars)}, '?') ORDER BY stay_no) AS route,
                          min(arrived) AS first_at, max("left") AS last_at
                   FROM ad_itineraries WHERE city_key IS NOT NULL GROUP BY ad_key)
        SELECT 'ad' AS entity_type, ad_key AS entity_key,
               'ad ' || ad_key || ' was seen in ' || n_cities || ' cities over ' || n_stays || ' stays, moving '
                 || {_n('n_stays - 1', 'time')} || ': ' || {_show('route', route_len, ' → ')}
                 || ' (' || {_day('first_at')} || ' to ' || {_day('last_at')} || ')' AS evidence,
               CAST(n_stays - 1 AS DOUBLE) AS value
        FROM s WHERE n_stays >= {p.min_stays} AND n_cities >= {p.min_travel_cities}"""


def _reused_photo(p: RedFlagParams, has: Has) -> str:
    return f"""
        WITH pl AS (SELECT ad_a AS ad, ad_b AS other FROM photo_links
                    UNION SELECT ad_b, ad_a FROM photo_links),
        x AS (SELECT pl.ad, pl.other,
                     coalesce({_fold('a.last_name')} <> {_fold('b.last_name')}, false) AS other_name
              FROM pl JOIN ads a ON a.ad_key = pl.ad JOIN ads b ON b.ad_key = pl.other
              WHERE pl.ad <> pl.other
                AND len(list_intersect(coalesce(a.phones, []::VARCHAR[]), coalesce(b.phones, []::VARCHAR[]))) = 0),
        g AS (SELECT ad, count(DISTINCT other) AS n, list(DISTINCT other ORDER BY other) AS others,
                     count(DISTINCT other) FILTER (WHERE other_name) AS n_other_name
              FROM x GROUP BY ad)
        SELECT 'ad' AS entity_type, ad AS entity_key,
               'ad ' || ad || ' shares photos with ' || {_n('n', 'other ad')} || ' showing none of its numbers ('
                 || {_show('others', p.max_listed)} || ')'
                 || CASE WHEN n_other_name > 0 THEN '; ' || n_other_name || ' of them under another name' ELSE '' END
                 AS evidence,
               CAST(n AS DOUBLE) AS value
        FROM g"""


def _ad_obscured(p: RedFlagParams, has: Has) -> str:
    return f"""
        WITH o AS (SELECT ad_key, count(DISTINCT snapshot_id) FILTER (WHERE obfuscated) AS n_obf,
                          count(DISTINCT snapshot_id) AS n_snap
                   FROM observation_phones GROUP BY ad_key)
        SELECT 'ad' AS entity_type, a.ad_key AS entity_key,
               'ad ' || a.ad_key || ' wrote a number in disguise in ' || coalesce(o.n_obf, 0) || ' of '
                 || {_n('coalesce(o.n_snap, 0)', 'snapshot')} || ' showing a number' AS evidence,
               CAST(coalesce(o.n_obf, 0) AS DOUBLE) AS value
        FROM ads a LEFT JOIN o USING (ad_key) WHERE a.any_obfuscated"""


def _third_party_contact(p: RedFlagParams, has: Has) -> str:
    m = p.max_chars
    return f"""
        WITH h AS (SELECT DISTINCT ad_key, {_handle_sql('contact')} AS handle,
                          {_fold('name')} AS name_key, {_clean('name', m)} AS name
                   FROM ad_observations WHERE json_type(contact, '$.telegram') = 'VARCHAR'),
        nk AS (SELECT handle, name_key, min(name) AS name FROM h
               WHERE handle IS NOT NULL AND name_key IS NOT NULL GROUP BY handle, name_key),
        hs AS (SELECT handle, count(*) AS n_names, list(coalesce(name, '?') ORDER BY name_key) AS names
               FROM nk GROUP BY handle),
        ha AS (SELECT handle, count(DISTINCT ad_key) AS n_ads FROM h WHERE handle IS NOT NULL GROUP BY handle),
        a AS (SELECT DISTINCT h.ad_key, h.handle, hs.n_names, hs.names, ha.n_ads
              FROM h JOIN hs USING (handle) JOIN ha USING (handle)
              WHERE hs.n_names >= {p.min_names}
              QUALIFY row_number() OVER (PARTITION BY h.ad_key ORDER BY hs.n_names DESC, h.handle) = 1)
        SELECT 'ad' AS entity_type, ad_key AS entity_key,
               'ad ' || ad_key || ' gives the Telegram contact @' || coalesce({_clean('handle', m)}, '?')
                 || ', which ' || {_n('n_ads', 'ad')} || ' under ' || n_names || ' names give ('
                 || {_show('names', p.max_listed)} || ')' AS evidence,
               CAST(n_names AS DOUBLE) AS value
        FROM a"""


#: Payment hints: (label shown in the evidence, RE2 pattern over the folded text). The text is
#: lower-cased and every run of characters other than letters and digits becomes one space, then
#: a pattern must match whole words: " (pattern) ". So "Revolution" is not Revolut, "swishy" is
#: not Swish, and "på forhånd" (in advance: appointments) is not a prepayment.
PAYMENT_HINTS: tuple[tuple[str, str], ...] = (
    ("Vipps", r"vipps"),
    ("MobilePay", r"mobile ?pay"),
    ("Swish", r"swish"),
    ("Revolut", r"revolut"),
    ("PayPal", r"pay ?pal"),
    ("Cash App", r"cash ?app"),
    ("money transfer", r"western union|money ?gram"),
    ("crypto", r"bitcoins?|btc|usdt|ethereum|crypto(?:currenc(?:y|ies))?|krypto(?:valuta)?"),
    ("gift card", r"gift ?cards?|gavekort(?:et|ene)?|presentkort(?:et|en)?"),
    ("prepayment", r"pre ?pay(?:ment|ing)?|forskudd(?:sbetaling)?|forh[åa]ndsbetal(?:ing|t)?"
                   r"|f[öo]rskott(?:sbetalning)?|forudbetal(?:ing|t)?"),
    ("deposit", r"deposits?|depositum"),
)


def _payment_hint(p: RedFlagParams, has: Has) -> str:
    # Each distinct title and text is searched once: an ad's text is the same in most of the crawls that
    # saw it, and the eleven patterns over every observation were most of this step's time.
    norm = ("(' ' || regexp_replace(lower(title || ' ' || text), "
            "'[^\\pL\\pN]+', ' ', 'g') || ' ')")
    cases = ", ".join(f"CASE WHEN regexp_matches(norm, ' (?:{pattern}) ') THEN '{label}' END"
                      for label, pattern in PAYMENT_HINTS)
    return f"""
        WITH seen AS (SELECT ad_key, snapshot_id, coalesce(title, '') AS title, coalesce(text, '') AS text
                      FROM ad_observations WHERE ad_key IS NOT NULL),
        texts AS (SELECT title, text, list_filter([{cases}], lambda w: w IS NOT NULL) AS hits
                  FROM (SELECT title, text, {norm} AS norm FROM (SELECT DISTINCT title, text FROM seen))),
        o AS (SELECT ad_key, snapshot_id, hits FROM seen JOIN texts USING (title, text)),
        g AS (SELECT ad_key, count(DISTINCT snapshot_id) FILTER (WHERE len(hits) > 0) AS n_hit,
                     count(DISTINCT snapshot_id) AS n_snap, list_sort(list_distinct(flatten(list(hits)))) AS words
              FROM o GROUP BY ad_key)
        SELECT 'ad' AS entity_type, ad_key AS entity_key,
               'ad ' || ad_key || '''s title or text mentions ' || array_to_string(words, ', ')
                 || ' (in ' || n_hit || ' of ' || {_n('n_snap', 'snapshot')} || ')' AS evidence,
               CAST(len(words) AS DOUBLE) AS value
        FROM g WHERE n_hit > 0"""


def _shared_contact_number(p: RedFlagParams, has: Has) -> str:
    return f"""
        WITH x AS (SELECT DISTINCT pa.ad_key, s.phone, s.n_ads, s.n_names, s.names
                   FROM {_BASE_PHONE_ADS} pa JOIN {_BASE_PHONE_STATS} s USING (phone)
                   WHERE s.n_names >= {p.min_names}),
        r AS (SELECT *, count(*) OVER (PARTITION BY ad_key) AS n_phones FROM x
              QUALIFY row_number() OVER (PARTITION BY ad_key ORDER BY n_names DESC, n_ads DESC, phone) = 1)
        SELECT 'ad' AS entity_type, ad_key AS entity_key,
               'ad ' || ad_key || ' shows ' || phone || ', a number shown on ' || {_n('n_ads', 'ad')} || ' under '
                 || n_names || ' names (' || {_show('names', p.max_listed)} || ')'
                 || CASE WHEN n_phones > 1 THEN '; and ' || {_n('n_phones - 1', 'more such number')} ELSE '' END
                 AS evidence,
               CAST(n_names AS DOUBLE) AS value
        FROM r"""


# ------------------------------------------------------------------ network indicators

_NET_PHONES = ("(SELECT DISTINCT network_id, member_key AS phone FROM network_members "
               "WHERE member_type = 'phone' AND member_key IS NOT NULL)")
_NET_ADS = ("(SELECT DISTINCT network_id, member_key AS ad_key FROM network_members "
            "WHERE member_type = 'ad' AND member_key IS NOT NULL)")


def _many_women_one_number(p: RedFlagParams, has: Has) -> str:
    return f"""
        WITH m AS {_NET_PHONES},
        tot AS (SELECT network_id, count(*) AS n_phones FROM m GROUP BY network_id),
        x AS (SELECT m.network_id, s.* FROM m JOIN {_BASE_PHONE_STATS} s USING (phone)
              WHERE s.n_names >= {p.min_names}),
        g AS (SELECT network_id, count(*) AS n,
                     list(struct_pack(phone := phone, n_ads := n_ads, n_names := n_names, names := names)
                          ORDER BY n_names DESC, n_ads DESC, phone)[1] AS top
              FROM x GROUP BY network_id)
        SELECT 'network' AS entity_type, g.network_id AS entity_key,
               g.network_id || ': ' || g.n || ' of its ' || {_n('tot.n_phones', 'phone')}
                 || ' are each shown on ads under '
                 || {p.min_names} || ' or more names; the most: ' || top.phone || ' on ' || {_n('top.n_ads', 'ad')}
                 || ' under ' || top.n_names || ' names (' || {_show('top.names', p.max_listed)} || ')' AS evidence,
               CAST(g.n AS DOUBLE) AS value
        FROM g JOIN tot USING (network_id)"""


def _phones_in_series(p: RedFlagParams, has: Has) -> str:
    return f"""
        WITH m AS {_NET_PHONES},
        tot AS (SELECT network_id, count(*) AS n_phones FROM m GROUP BY network_id),
        x AS (SELECT DISTINCT m.network_id, m.phone, s.group_id
              FROM m JOIN series_groups s ON s.phone = m.phone AND s.strength = 'strong'),
        g AS (SELECT network_id, count(DISTINCT phone) AS n, list(DISTINCT group_id ORDER BY group_id) AS groups
              FROM x GROUP BY network_id)
        SELECT 'network' AS entity_type, g.network_id AS entity_key,
               g.network_id || ': ' || g.n || ' of its ' || {_n('tot.n_phones', 'phone')} || ' lie in '
                 || {_n('len(g.groups)', 'strong series group')} || ' (numbers bought together: '
                 || {_show('g.groups', p.max_listed)} || ')' AS evidence,
               CAST(g.n AS DOUBLE) AS value
        FROM g JOIN tot USING (network_id) WHERE g.n >= {p.min_series_phones}"""


def _id_rotation(p: RedFlagParams, has: Has) -> str:
    return f"""
        WITH m AS {_NET_ADS},
        tot AS (SELECT network_id, count(*) AS n_ads FROM m GROUP BY network_id),
        x AS (SELECT m.network_id, r.ad_key, r.n_numbers
              FROM m JOIN {_BASE_AD_ROTATION} r USING (ad_key) WHERE r.n_numbers >= {p.min_rotating_numbers}),
        g AS (SELECT network_id, count(*) AS n, max(n_numbers) AS most,
                     list(ad_key ORDER BY n_numbers DESC, ad_key)[1] AS top_ad
              FROM x GROUP BY network_id)
        SELECT 'network' AS entity_type, g.network_id AS entity_key,
               g.network_id || ': ' || g.n || ' of its ' || {_n('tot.n_ads', 'ad')} || ' switched between '
                 || {p.min_rotating_numbers} || ' or more numbers each (up to ' || g.most || ', on ad ' || g.top_ad
                 || ')' AS evidence,
               CAST(g.n AS DOUBLE) AS value
        FROM g JOIN tot USING (network_id)"""


def _travel_circuit(p: RedFlagParams, has: Has) -> str:
    if has("network_movement.n_ads_moved") and has("network_movement.n_ads"):
        moved = ("LEFT JOIN (SELECT network_id, n_ads AS mv_ads, n_ads_moved AS mv_moved FROM network_movement) mv "
                 "USING (network_id)")
        moved_text = ("CASE WHEN mv.mv_ads IS NOT NULL THEN '; ' || mv.mv_moved || ' of its ' "
                      f"|| {_n('mv.mv_ads', 'ad')} || ' with a city were seen in two or more cities' ELSE '' END")
    else:
        moved, moved_text = "", "''"
    m = p.max_chars
    return f"""
        WITH t AS (SELECT * FROM network_travel WHERE from_city_key IS NOT NULL AND to_city_key IS NOT NULL
                   AND from_city_key <> to_city_key),
        c AS (SELECT network_id, from_city_key AS k, from_city AS city FROM t
              UNION ALL SELECT network_id, to_city_key, to_city FROM t),
        cn AS (SELECT network_id, k, min(coalesce({_clean('city', m)}, '?')) AS city FROM c GROUP BY network_id, k),
        cc AS (SELECT network_id, count(*) AS n_cities, list(city ORDER BY k) AS cities FROM cn GROUP BY network_id),
        f AS (SELECT network_id, sum(n_moves) AS n_moves,
                     list(coalesce({_clean('from_city', m)}, '?') || ' → ' || coalesce({_clean('to_city', m)}, '?')
                          || ' (' || n_moves || ')' ORDER BY n_moves DESC, from_city_key, to_city_key) AS flows
              FROM t GROUP BY network_id)
        SELECT 'network' AS entity_type, cc.network_id AS entity_key,
               cc.network_id || '''s ads moved ' || {_n('f.n_moves', 'time')} || ' between ' || cc.n_cities
                 || ' cities (' || {_show('cc.cities', p.max_listed)} || '); busiest: '
                 || {_show('f.flows', 3)} || {moved_text} AS evidence,
               CAST(cc.n_cities AS DOUBLE) AS value
        FROM cc JOIN f USING (network_id) {moved}
        WHERE cc.n_cities >= {p.min_circuit_cities}"""


def _foreign_control(p: RedFlagParams, has: Has) -> str:
    if has("billing_roaming.subscriber"):
        abroad = f"""ab AS (SELECT m.network_id, m.phone, r.countries FROM m
                            JOIN ({_roaming_by_phone_sql(p, has)}) r USING (phone)
                            WHERE r.n_days >= {p.min_days_abroad}),"""
    else:
        abroad = ("ab AS (SELECT NULL::VARCHAR AS network_id, NULL::VARCHAR AS phone, []::VARCHAR[] AS countries "
                  "WHERE false),")
    if has("billing_counterparts.foreign_number") and has("billing_counterparts.role") \
            and has("billing_counterparts.subscribers"):
        ctl = """ct AS (SELECT DISTINCT m.network_id, m.phone, c.counterpart, c.country
                        FROM (SELECT counterpart, country, unnest(subscribers) AS phone FROM billing_counterparts
                              WHERE role = 'controller-like' AND foreign_number AND counterpart IS NOT NULL) c
                        JOIN m USING (phone)),"""
    else:
        ctl = ("ct AS (SELECT NULL::VARCHAR AS network_id, NULL::VARCHAR AS phone, NULL::VARCHAR AS counterpart, "
               "NULL::VARCHAR AS country WHERE false),")
    return f"""
        WITH m AS {_NET_PHONES},
        {abroad}
        {ctl}
        a AS (SELECT network_id, count(DISTINCT phone) AS n_abroad,
                     list(DISTINCT phone || ' in ' || array_to_string(countries, '/') ORDER BY phone || ' in '
                          || array_to_string(countries, '/')) AS abroad
              FROM ab GROUP BY network_id),
        c AS (SELECT network_id, count(DISTINCT counterpart) AS n_ctl, count(DISTINCT phone) AS n_ctl_phones,
                     list(DISTINCT counterpart || ' (' || coalesce(country, '?') || ')' ORDER BY counterpart || ' ('
                          || coalesce(country, '?') || ')') AS ctls
              FROM ct GROUP BY network_id),
        ph AS (SELECT network_id, count(DISTINCT phone) AS n_phones
               FROM (SELECT network_id, phone FROM ab UNION SELECT network_id, phone FROM ct) GROUP BY network_id)
        SELECT 'network' AS entity_type, ph.network_id AS entity_key,
               ph.network_id || ': '
                 || concat_ws('; ',
                      CASE WHEN coalesce(a.n_abroad, 0) > 0
                           THEN {_n('a.n_abroad', 'of its phones was', 'of its phones were')}
                           || ' run from abroad for ' || {p.min_days_abroad} || ' or more days ('
                           || {_show('a.abroad', p.max_listed)} || ')' END,
                      CASE WHEN coalesce(c.n_ctl, 0) > 0 THEN {_n('c.n_ctl', 'foreign controller-like number')}
                           || ' (' || {_show('c.ctls', p.max_listed)} || ') in regular contact with '
                           || {_n('c.n_ctl_phones', 'of its phones', 'of its phones')} END) AS evidence,
               CAST(ph.n_phones AS DOUBLE) AS value
        FROM ph LEFT JOIN a USING (network_id) LEFT JOIN c USING (network_id)"""


# ------------------------------------------------------------------ the registry

INDICATORS: tuple[Indicator, ...] = (
    # phone
    Indicator(
        "one_phone_many_names", "know_your_customer", ("phone",),
        f"{_IBANEZ_SUTHERS} (several women, one number); {_DIG}; {_CMM}: know-your-customer category",
        "One number shown on ads under several advertised names: one contact number for many women.",
        _one_phone_many_names, ("@phone_stats",), "≥ {min_names} distinct names (folded) on the ads showing it",
        "Women do rename their ads, and a couple may share a phone; several names on one number is a reason to "
        "read the ads, not proof that someone answers for several women."),
    Indicator(
        "one_phone_many_cities", "control_and_surveillance", ("phone",),
        f"{_IBANEZ_SUTHERS} (movement); {_IBANEZ_GAZAN}; {_CMM}: recruitment, retention and surveillance category",
        "One number shown on ads in several cities: the woman is moved around, or one hand books for several places.",
        _one_phone_many_cities, ("@phone_stats",), "≥ {min_phone_cities} distinct cities",
        "Independent sex workers tour too; strongest together with several names on the number."),
    Indicator(
        "obscured_number", "behavioural", ("phone",),
        f"{_DIG} (numbers disguised to evade search); {_CMM}: behavioural category",
        "The number was written in disguise (words for digits, look-alike letters, odd separators) on some ad.",
        _phone_obscured, ("phones.ever_obfuscated+phones.n_obfuscated+phones.n_observations",),
        "disguised in at least one observation",
        "Numbers are also disguised against scrapers and spam; a habit of many advertisers."),
    Indicator(
        "rotating_number", "know_your_customer", ("phone",),
        f"{_IBANEZ_GAZAN} (shared phone numbers); {_DIG}; {_CMM}: know-your-customer category",
        "The number is one of several an ad switched between (ID rotation).",
        _phone_rotating, ("@ad_rotation",), "on an ad showing ≥ {min_rotating_numbers} numbers over its life",
        "A woman who changes phones also shows a new number; several in turn on one ad is the pattern."),
    Indicator(
        "number_in_series", "know_your_customer", ("phone",),
        f"{_CMM}: know-your-customer category; {_DIG}",
        "The number lies in a strong group of neighbouring numbers: bought together, usually in others' names.",
        _phone_series, ("series_groups.strength+series_groups.phone",), "in a series group of strength 'strong'",
        "Shops sell neighbouring numbers to strangers; 'strong' means too tight for chance in its block."),
    Indicator(
        "run_from_abroad", "control_and_surveillance", ("phone",),
        f"{_CMM}: recruitment, retention and surveillance category; {_BILLING}",
        "Billing records show the phone on foreign networks: it was run from abroad, or travelled.",
        _run_from_abroad, ("billing_roaming.subscriber+billing_roaming.n_days",),
        "≥ {min_days_abroad} days on foreign networks in all",
        "A holiday abroad roams too; strongest when ads showing the number were up at home meanwhile."),
    Indicator(
        "controlled_by", "control_and_surveillance", ("phone",),
        f"{_CMM}: recruitment, retention and surveillance category; {_BILLING}",
        "Billing records show a controller-like number checking in with the phone (regular times, most days).",
        _controlled_by,
        ("billing_counterparts.role+billing_counterparts.subscribers+billing_counterparts.score"
         "+billing_counterparts.rank+billing_counterparts.country",),
        "a counterpart with role 'controller-like'",
        "Controller-like is a pattern in the records (regular times, several phones, most days), not an "
        "identification; a partner or a driver can look the same."),
    Indicator(
        "controller_like_number", "control_and_surveillance", ("phone",),
        f"{_CMM}: recruitment, retention and surveillance category; {_BILLING}",
        "The number itself talks to several recovered phones on most days at fixed times.",
        _controller_like_number,
        ("billing_counterparts.role+billing_counterparts.score+billing_counterparts.rank"
         "+billing_counterparts.country+billing_counterparts.n_subscribers+billing_counterparts.reason",),
        "role 'controller-like' in billing_counterparts",
        "A pattern in billing records, not an identification of who holds the number."),
    # ad
    Indicator(
        "rotating_numbers", "know_your_customer", ("ad",),
        f"{_IBANEZ_GAZAN} (shared phone numbers); {_DIG}; {_CMM}: know-your-customer category",
        "The ad switched between several numbers over its life (ID rotation).",
        _ad_rotating, ("@ad_rotation",), "≥ {min_rotating_numbers} numbers over the ad's life",
        "A new SIM card or a second phone gives two numbers; three or more in turn is rotation."),
    Indicator(
        "observed_travel", "control_and_surveillance", ("ad",),
        f"{_IBANEZ_SUTHERS} (movement); {_IBANEZ_GAZAN}; {_MEMEX_EVAL}; "
        f"{_CMM}: recruitment, retention and surveillance category",
        "The ad was seen city after city in successive snapshots (observed moves, not announcements).",
        _observed_travel, ("ad_itineraries.city_key+ad_itineraries.stay_no",),
        "≥ {min_stays} stays in ≥ {min_travel_cities} cities",
        "Observed moves only: announced tours and wording such as 'new in town' are not used (found not "
        "predictive). Independent sex workers travel too."),
    Indicator(
        "reused_photo", "behavioural", ("ad",),
        f"{_TONG} (photos as evidence alongside text); {_CMM}: behavioural category",
        "The ad shows a photo that ads with other contact numbers show too (stock photos excluded).",
        _reused_photo, ("photo_links.ad_a+photo_links.ad_b+ads.phones+ads.last_name",),
        "a shared photo with ≥ 1 ad showing none of its numbers",
        "A woman who changed her number reuses her own photos; compare the names and the pictures."),
    Indicator(
        "obscured_number", "behavioural", ("ad",),
        f"{_DIG} (numbers disguised to evade search); {_CMM}: behavioural category",
        "The ad wrote a number in disguise in some snapshot.",
        _ad_obscured, ("ads.any_obfuscated+observation_phones.obfuscated",), "disguised in at least one snapshot",
        "Numbers are also disguised against scrapers and spam; a habit of many advertisers."),
    Indicator(
        "third_party_contact", "control_and_surveillance", ("ad",),
        f"{_IBANEZ_SUTHERS} (third-party involvement); {_CMM}: recruitment, retention and surveillance category",
        "The ad's Telegram contact is given by ads under several names: one handle answers for many women.",
        _third_party_contact, ("ad_observations.contact+ad_observations.name",),
        "a Telegram handle given on ads under ≥ {min_names} names",
        "A Telegram handle alone is not flagged: many independents use Telegram."),
    Indicator(
        "payment_hint", "financial", ("ad",),
        f"{_CMM}: financial category; {_FINTRAC} (online payment services, virtual currencies)",
        "The title or text asks for payment by app, crypto, gift card or money transfer, or a deposit first.",
        _payment_hint, ("ad_observations.text+ad_observations.title",),
        "a payment word as a whole word (case-insensitive), see PAYMENT_HINTS",
        "Payment apps and deposits are also used by independent sex workers; the mention says how customers "
        "pay, not who keeps the money."),
    Indicator(
        "shared_contact_number", "know_your_customer", ("ad",),
        f"{_IBANEZ_SUTHERS} (several women, one number); {_DIG}; {_CMM}: know-your-customer category",
        "The ad shows a number that ads under several names show: one contact number for many women.",
        _shared_contact_number, ("@phone_stats",), "a number shown under ≥ {min_names} names",
        "Women do rename their ads; read the ads behind the number."),
    # network
    Indicator(
        "many_women_one_number", "know_your_customer", ("network",),
        f"{_IBANEZ_SUTHERS} (several women, one number); {_DIG}; {_CMM}: know-your-customer category",
        "Some of the network's phones are each shown on ads under several names.",
        _many_women_one_number, ("network_members.member_type+@phone_stats",),
        "≥ 1 member phone shown under ≥ {min_names} names", None),
    Indicator(
        "phones_in_series", "know_your_customer", ("network",),
        f"{_CMM}: know-your-customer category; {_DIG}",
        "The network's phones include numbers bought together (strong series groups).",
        _phones_in_series, ("network_members.member_type+series_groups.strength",),
        "≥ {min_series_phones} member phones in strong series groups", None),
    Indicator(
        "id_rotation", "know_your_customer", ("network",),
        f"{_IBANEZ_GAZAN} (shared phone numbers); {_DIG}; {_CMM}: know-your-customer category",
        "The network's ads switch between several numbers each.",
        _id_rotation, ("network_members.member_type+@ad_rotation",),
        "≥ 1 member ad with ≥ {min_rotating_numbers} numbers", None),
    Indicator(
        "travel_circuit", "control_and_surveillance", ("network",),
        f"{_IBANEZ_SUTHERS} (movement trends); {_MEMEX_EVAL}; {_CMM}: recruitment, retention and surveillance category",
        "The network's ads were seen moving between several cities (observed moves).",
        _travel_circuit, ("network_travel.from_city_key+network_travel.to_city_key+network_travel.n_moves",),
        "moves between ≥ {min_circuit_cities} cities",
        "A large network has more chances to show moves; compare with its size and the share of its ads that moved."),
    Indicator(
        "foreign_control", "control_and_surveillance", ("network",),
        f"{_CMM}: recruitment, retention and surveillance category; {_BILLING}",
        "The network's phones were run from abroad, or foreign controller-like numbers checked in with them.",
        _foreign_control,
        ("network_members.member_type",
         "billing_roaming.subscriber+billing_roaming.n_days|billing_counterparts.foreign_number"
         "+billing_counterparts.role+billing_counterparts.subscribers"),
        "a member phone ≥ {min_days_abroad} days abroad, or a foreign controller-like counterpart",
        "Billing records exist only for recovered phones; absence says nothing."),
)


def indicator_rows(params: RedFlagParams = RedFlagParams()) -> list[dict[str, str]]:
    """The registry as rows (for the README, the UI and exports): entity, flag, category, threshold, source."""
    values = asdict(params)
    return [{"entity_type": ", ".join(i.entity_types), "flag": i.flag, "category": i.category,
             "threshold": i.threshold.format(**values), "description": i.description, "source": i.source,
             "note": i.note or ""} for i in INDICATORS]


# ------------------------------------------------------------------ running

def _columns(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()"
    ).fetchall()
    out = set()
    for table, column in rows:
        out.add(table)
        out.add(f"{table}.{column}")
    return out


def _met(requirement: str, have: set[str]) -> bool:
    return any(all(part in have for part in alt.split("+")) for alt in requirement.split("|"))


def _spell(requirement: str) -> str:
    alts = []
    for alt in requirement.split("|"):
        parts = [_SPELLED_BASES.get(x, x) for x in alt.split("+")]
        alts.append(" and ".join(dict.fromkeys(parts)))
    return " or ".join(alts)


def run_red_flags(con: duckdb.DuckDBPyConnection, params: RedFlagParams = RedFlagParams()) -> RedFlagReport:
    """Replace ``red_flags`` with every indicator whose inputs exist; report rows per indicator and the
    indicators skipped. Runs inside the caller's transaction (like the other builders)."""
    p = params
    report = RedFlagReport()
    have = _columns(con)

    def has(name: str) -> bool:
        return name in have

    try:
        for name, requirement, table, builder in _BASES:
            if _met(requirement, have):
                con.execute(f'CREATE OR REPLACE TEMP TABLE "{table}" AS {builder(p, has)}')
                have.add(name)
        ensure_table(con, RED_FLAGS)
        con.execute('DELETE FROM "red_flags"')
        cols = ", ".join(f'"{c}"' for c in RED_FLAGS.column_names)
        for ind in INDICATORS:
            missing = [r for r in ind.requires if not _met(r, have)]
            if missing:
                report.skipped[ind.key] = "needs " + "; ".join(_spell(r) for r in missing)
                continue
            con.execute(f"""
                INSERT INTO "red_flags" ({cols})
                SELECT entity_type, entity_key, ?, ?, evidence, value, ?, ?
                FROM ({ind.sql(p, has)}) AS t
                WHERE entity_key IS NOT NULL
                ORDER BY entity_type, entity_key""", [ind.flag, ind.category, ind.source, ind.note])
        _sort_in_place(con)
        found = {f"{e}:{f}": n for e, f, n in con.execute(
            'SELECT entity_type, flag, count(*) FROM "red_flags" GROUP BY ALL').fetchall()}
        report.counts = {ind.key: found.get(ind.key, 0) for ind in INDICATORS if ind.key not in report.skipped}
        report.n_rows = sum(report.counts.values())
    finally:
        for table in _WORK_TABLES:
            with contextlib.suppress(duckdb.Error):  # an aborted transaction must not hide the first error
                con.execute(f'DROP TABLE IF EXISTS "{table}"')
    return report


def _sort_in_place(con: duckdb.DuckDBPyConnection) -> None:
    """Rewrite the rows in (entity_type, entity_key, flag) order so that a plain SELECT reads them in order."""
    con.execute(f'CREATE OR REPLACE TEMP TABLE "{_SORTED}" AS SELECT * FROM "red_flags" '
                "ORDER BY entity_type, entity_key, flag, category")
    con.execute('DELETE FROM "red_flags"')
    con.execute(f'INSERT INTO "red_flags" SELECT * FROM "{_SORTED}" '
                "ORDER BY entity_type, entity_key, flag, category")
    con.execute(f'DROP TABLE "{_SORTED}"')


def build_red_flags(con: duckdb.DuckDBPyConnection, params: RedFlagParams = RedFlagParams()) -> int:
    """Replace ``red_flags``; returns the number of rows (``run_red_flags`` also says what was skipped)."""
    return run_red_flags(con, params).n_rows
