"""The evidence graph's edges: every piece of evidence between two entities, typed, weighted,
explained in words and traceable to the rows it rests on.

Each kind comes from one evidence table. A kind whose table does not exist yet (its step has not
run) contributes nothing. Weights are in [0, 1]; ``strength`` is the label a reader sees;
``for_networks`` says whether network detection may use the link (text similarity may not by
default: ad texts are copied Europe-wide, so the method found them unreliable).

    ad_phone        ad ↔ phone     the ad showed the number (observation_phones)
    rotation        phone ↔ phone  numbers used on the same ad (rotation_links)
    series          phone ↔ phone  neighbours in one number series group (series_groups)
    directory       phone ↔ owner  the directory registers the number to the owner (directory_matches)
    owner_address   owner ↔ address registered at a private address (generic addresses never link)
    photo           ad ↔ ad        the same or a near-identical photo, stock photos excluded (photo_links)
    contact         ad ↔ ad        the same Telegram handle in the ads' contact field (ad_observations)
    text            ad ↔ ad        near-duplicate texts, boilerplate excluded (text_links); weak
    billing         phone ↔ phone  a recovered phone's billing records show it talking to a number that is
                                   itself shown in ads: strong only when that number is controller-like
                                   (billing_events; scored here without networks, see below)

Billing evidence and the networks: ``billing_counterparts`` (the analysts' ranking) uses the networks
as a feature, and the networks are built from these links. So that evidence never depends on its own
result (or on an earlier run's networks), this step scores the other parties with the same formula
but without network membership (every recovered phone in one group) and links from that.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import duckdb

from adnet_assets.lib.billing import DEFAULT_PARAMS as DEFAULT_BILLING
from adnet_assets.lib.billing import BillingParams
from adnet_assets.lib.billing_counterparts import billing_links_sql, build_billing_counterparts
from adnet_assets.lib.keys import sql_key
from adnet_assets.lib.store import replace_table, table_exists
from adnet_assets.schema import BILLING_COUNTERPARTS, LINKS

_PRESCORED = dataclasses.replace(BILLING_COUNTERPARTS, name="_adnet_billing_prescored")


@dataclass(frozen=True)
class LinkWeights:
    """Weights per kind of evidence (0-1). Defaults follow the published method's trust in each kind.

    ad_phone 1.0: the number is printed on the ad; rotation 0.9 (0.95 when the two numbers have
    different owners: the method's strongest evidence of one organisation behind several owners);
    series strong 0.7 / weak 0.15 (weak groups are chance neighbours in busy blocks until
    corroborated); directory 0.9 (a registration, possibly of a front person); owner_address 0.8
    (private addresses only); photo 0.8 same file / 0.6 near-identical; text 0.1 and not used for
    networks unless ``texts_for_networks``; contact 0.8: a Telegram handle is one operator's
    channel (the Danish Center mod Menneskehandel lists third-party contact as a control red flag),
    up to ``max_ads_per_handle`` ads (beyond it, a public channel or a placeholder, not one operator).
    """

    ad_phone: float = 1.0
    rotation: float = 0.9
    rotation_owners_differ: float = 0.95
    series_strong: float = 0.7
    series_weak: float = 0.15
    directory: float = 0.9
    owner_address: float = 0.8
    photo_same_file: float = 0.8
    photo_near: float = 0.6
    text: float = 0.1
    texts_for_networks: bool = False
    contact: float = 0.8
    max_ads_per_handle: int = 200




def _pair(a_sql: str, b_sql: str) -> tuple[str, str]:
    """Symmetric links are stored once, with a < b."""
    return f"least({a_sql}, {b_sql})", f"greatest({a_sql}, {b_sql})"


def _ad_phone(w: LinkWeights) -> str:
    return f"""
        SELECT 'ad_phone' AS kind, {sql_key('ad', 'ad_key')} AS a, {sql_key('phone', 'phone')} AS b, {w.ad_phone} AS weight,
               'ad ' || ad_key || ' showed ' || phone || ' in ' || count(DISTINCT snapshot_id) || ' snapshot(s), '
                 || strftime(min(seen_at), '%Y-%m-%d') || ' to ' || strftime(max(seen_at), '%Y-%m-%d')
                 || CASE WHEN bool_or(obfuscated) THEN ' (obfuscated)' ELSE '' END AS evidence,
               'ad' AS a_type, 'phone' AS b_type,
               'observation_phones: ' || string_agg(DISTINCT snapshot_id, ',' ORDER BY snapshot_id) AS source,
               'strong' AS strength, true AS for_networks
        FROM observation_phones WHERE phone IS NOT NULL GROUP BY ad_key, phone"""


def _rotation(w: LinkWeights) -> str:
    a, b = _pair(sql_key("phone", "phone_a"), sql_key("phone", "phone_b"))
    return f"""
        SELECT 'rotation', {a}, {b},
               CASE WHEN bool_or(owners_differ) THEN {w.rotation_owners_differ} ELSE {w.rotation} END,
               phone_a || ' and ' || phone_b || ': same ad ' || string_agg(ad_key || ' in ' || n_snapshots || ' snapshot(s)', '; ' ORDER BY ad_key)
                 || CASE WHEN bool_or(owners_differ) THEN '; registered to different owners' ELSE '' END,
               'phone', 'phone',
               'rotation_links: ' || string_agg(ad_key, ',' ORDER BY ad_key), 'strong', true
        FROM rotation_links GROUP BY phone_a, phone_b"""


def _series(w: LinkWeights) -> str:
    # consecutive members of a group: a chain, not all pairs (n-1 links for n numbers)
    a, b = _pair(sql_key("phone", "prev"), sql_key("phone", "phone"))
    return f"""
        SELECT 'series', {a}, {b},
               CASE WHEN strength = 'strong' THEN {w.series_strong} ELSE {w.series_weak} END,
               prev || ' and ' || phone || ' lie ' || (nsn - prev_nsn) || ' apart in series group ' || group_id
                 || ' (' || n_in_group || ' numbers): ' || reason,
               'phone', 'phone', 'series_groups: ' || group_id, strength, true
        FROM (SELECT *, lag(phone) OVER g AS prev,
                     CAST(regexp_extract(phone, '(\\d{{4}})$') AS BIGINT) AS nsn,
                     CAST(regexp_extract(lag(phone) OVER g, '(\\d{{4}})$') AS BIGINT) AS prev_nsn
              FROM series_groups WINDOW g AS (PARTITION BY group_id ORDER BY phone))
        WHERE prev IS NOT NULL"""


def _directory(w: LinkWeights) -> str:
    return f"""
        SELECT 'directory', {sql_key('phone', 'phone')}, {sql_key('owner', 'owner_id')}, {w.directory},
               phone || ' registered to owner ' || owner_id || ' as ' || string_agg(DISTINCT '"' || name || '"', ', ' ORDER BY '"' || name || '"')
                 || ' (' || count(*) || ' listing(s))',
               'phone', 'owner', 'directory_matches: ' || string_agg(listing_id, ',' ORDER BY listing_id), 'strong', true
        FROM directory_matches WHERE owner_id IS NOT NULL GROUP BY phone, owner_id"""


def _owner_address(w: LinkWeights) -> str:
    return f"""
        SELECT 'owner_address', {sql_key('owner', 'm.owner_id')}, {sql_key('address', 'm.address_key')}, {w.owner_address},
               'owner ' || m.owner_id || ' registered at ' || min(ad.address) || ' (private address, '
                 || min(ad.n_owners) || ' owner(s) there)',
               'owner', 'address', 'directory_matches: ' || string_agg(DISTINCT m.listing_id, ',' ORDER BY m.listing_id),
               'strong', true
        FROM directory_matches m JOIN addresses ad USING (address_key)
        WHERE m.owner_id IS NOT NULL AND NOT ad.generic
        GROUP BY m.owner_id, m.address_key"""


def _photo(w: LinkWeights) -> str:
    a, b = _pair(sql_key("ad", "ad_a"), sql_key("ad", "ad_b"))
    return f"""
        SELECT 'photo', {a}, {b},
               CASE WHEN match = 'sha256' THEN {w.photo_same_file} ELSE {w.photo_near} END,
               'ads ' || ad_a || ' and ' || ad_b || CASE WHEN match = 'sha256' THEN ' show the same photo file'
                 ELSE ' show near-identical photos (' || distance || ' of 64 bits differ)' END
                 || ', seen on ' || n_ads_with_image || ' ad(s) in all',
               'ad', 'ad', 'photo_links: ' || image_a, 'strong', true
        FROM photo_links"""


def _text(w: LinkWeights) -> str:
    a, b = _pair(sql_key("ad", "ad_a"), sql_key("ad", "ad_b"))
    return f"""
        SELECT 'text', {a}, {b}, {w.text},
               'ads ' || ad_a || ' and ' || ad_b || ' have near-duplicate texts (similarity '
                 || round(similarity, 2) || '); weak: ad texts are copied widely',
               'ad', 'ad', 'text_links', 'weak', {str(w.texts_for_networks).lower()}
        FROM text_links WHERE NOT shared_boilerplate"""


def _contact(w: LinkWeights) -> str:
    # ads sharing a handle are chained in ad_key order: n-1 links for n ads, never all pairs
    handle = ("nullif(regexp_replace(lower(trim(contact->>'$.telegram')), "
              "'^(https?://)?(t\\.me/|telegram\\.me/)?@?', ''), '')")
    return f"""
        SELECT 'contact', {sql_key('ad', 'prev')}, {sql_key('ad', 'ad_key')}, {w.contact},
               'ads ' || prev || ' and ' || ad_key || ' give the same Telegram contact @' || handle
                 || ' (on ' || n_ads || ' ad(s))',
               'ad', 'ad', 'ad_observations: contact.telegram', 'strong', true
        FROM (SELECT handle, ad_key, lag(ad_key) OVER (PARTITION BY handle ORDER BY ad_key) AS prev,
                     count(*) OVER (PARTITION BY handle) AS n_ads
              FROM (SELECT DISTINCT {handle} AS handle, ad_key FROM ad_observations
                    WHERE json_type(contact, '$.telegram') = 'VARCHAR'))
        WHERE handle IS NOT NULL AND prev IS NOT NULL AND n_ads <= {int(w.max_ads_per_handle)}"""


_SOURCES = (
    (("observation_phones",), _ad_phone),
    (("rotation_links",), _rotation),
    (("series_groups",), _series),
    (("directory_matches",), _directory),
    (("directory_matches", "addresses"), _owner_address),
    (("photo_links",), _photo),
    (("text_links",), _text),
    (("ad_observations",), _contact),
)


def build_links(con: duckdb.DuckDBPyConnection, weights: LinkWeights = LinkWeights(),
                billing: BillingParams = DEFAULT_BILLING) -> dict[str, int]:
    """Replace ``links`` with every kind whose evidence table exists; returns rows per kind."""
    parts = [builder(weights) for tables, builder in _SOURCES if all(table_exists(con, t) for t in tables)]
    with_billing = table_exists(con, "billing_events")
    if with_billing:
        build_billing_counterparts(con, billing, use_networks=False, into=_PRESCORED)
        parts.append(billing_links_sql(billing, counterparts=_PRESCORED.name))
    try:
        select = " UNION ALL ".join(f"({p})" for p in parts) if parts else "SELECT * FROM links WHERE false"
        replace_table(con, LINKS, f"SELECT * FROM ({select}) AS t(kind, a, b, weight, evidence, a_type, b_type, source, strength, for_networks)")
    finally:
        if with_billing:
            con.execute(f'DROP TABLE IF EXISTS "{_PRESCORED.name}"')
    return dict(con.execute("SELECT kind, count(*) FROM links GROUP BY kind ORDER BY kind").fetchall())
