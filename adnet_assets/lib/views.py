"""Friendly views for analysts: the questions reporters ask, without the raw tables' plumbing.

The raw tables are built for the method: typed keys (``phone:+47…``, ``ad:site:id``), one row per
listing, members of every type in one table. The views here join them into what an analyst reads:
a network's phones with their owners and dates, its ads with their cities and URL, every link with
both ends named, one line per network. They are plain ``CREATE OR REPLACE VIEW`` statements kept in
one registry (``VIEWS``), each with a one-line description (stored as the view's comment, so
``SELECT view_name, comment FROM duckdb_views()`` lists them in any SQL client).

A view copies no data: it reads the tables when it is queried, so it is always current. DuckDB
stores views in the database file, so creating them needs a write connection (the
``analyst_views`` asset); the analysts' copy (``lib/publish.py``) carries them along.

Rules every view follows:

* It is created only when the tables (and views) it reads exist; otherwise it is dropped, so a
  view never points at a missing table.
* Columns are listed, never ``SELECT *``: DuckDB binds a view's columns when it is created, and a
  table that later gains a column would otherwise make the view fail.
* Lists are sorted (or ordered by time) and no row depends on scan order: the same tables give
  the same view rows, run after run.
* No view reads ``network_history`` or the pipeline's own ``_``-prefixed tables (they change with
  every run by design).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from adnet_assets.lib.store import table_exists


@dataclass(frozen=True)
class View:
    name: str
    description: str
    needs: tuple[str, ...]  # tables and views it reads
    sql: str                # the SELECT

    def ddl(self) -> str:
        return f'CREATE OR REPLACE VIEW "{self.name}" AS\n{self.sql.strip()}'


def _set(expr: str) -> str:
    """A sorted list of the distinct non-NULL values of ``expr`` (deterministic, unlike list())."""
    return f"list_sort(list_distinct(list({expr})))"


_EMPTY = "[]::VARCHAR[]"

# One row per phone: its owners' names and ids, and the addresses they are registered at.
_OWNERS_PER_PHONE = f"""
    SELECT phone, {_set('owner_name')} AS owners, {_set('owner_id')} AS owner_ids,
           list_sort(list_distinct(flatten(list(addresses)))) AS addresses
    FROM phone_owners GROUP BY phone"""

# red flags per entity
_FLAGS = f"""
    SELECT entity_type, entity_key, {_set('flag')} AS flags FROM red_flags GROUP BY entity_type, entity_key"""


_VIEW_LIST = [
    View(
        "phone_owners",
        "one phone and one registered owner: the owner's name, the names and addresses the directory lists "
        "(owner_id NULL for reserved or hidden listings)",
        ("directory_matches", "owners"),
        f"""
        SELECT dm.phone,
               dm.owner_id,
               o.name AS owner_name,
               {_set('dm.name')} AS listed_names,
               {_set('dm.address')} AS addresses,
               {_set("CASE WHEN NOT coalesce(dm.address_generic, false) THEN dm.address_key END")} AS private_address_keys,
               bool_or(coalesce(dm.address_generic, false)) AS any_generic_address,
               {_set('dm.city')} AS cities,
               count(*) AS n_listings,
               {_set('dm.visibility')} AS visibility
        FROM directory_matches dm
        LEFT JOIN owners o ON o.owner_id = dm.owner_id
        GROUP BY dm.phone, dm.owner_id, o.name
        """,
    ),
    View(
        "ad_phones",
        "one number shown on one ad: when and how often, how it was written, and who it is registered to",
        ("observation_phones", "phone_owners"),
        f"""
        SELECT op.ad_key,
               op.phone,
               min(op.seen_at) AS first_seen,
               max(op.seen_at) AS last_seen,
               count(DISTINCT op.snapshot_id) AS n_snapshots,
               bool_or(coalesce(op.obfuscated, false)) AS obfuscated,
               {_set('op.raw')} AS displayed_as,
               coalesce(any_value(po.owners), {_EMPTY}) AS owners,
               coalesce(any_value(po.owner_ids), {_EMPTY}) AS owner_ids
        FROM observation_phones op
        LEFT JOIN ({_OWNERS_PER_PHONE}) po ON po.phone = op.phone
        WHERE op.phone IS NOT NULL
        GROUP BY op.ad_key, op.phone
        """,
    ),
    View(
        "network_phones",
        "one phone of one network: its owners and their addresses, first and last seen, ads, red flags, "
        "and why it is in the network",
        ("network_members", "phones", "phone_owners", "red_flags"),
        f"""
        SELECT m.network_id,
               m.member_key AS phone,
               coalesce(po.owners, {_EMPTY}) AS owners,
               coalesce(po.owner_ids, {_EMPTY}) AS owner_ids,
               coalesce(po.addresses, {_EMPTY}) AS addresses,
               p.first_seen,
               p.last_seen,
               p.n_ads,
               p.country,
               p.number_type,
               p.ever_obfuscated,
               p.cities,
               coalesce(f.flags, {_EMPTY}) AS flags,
               m.explanation
        FROM network_members m
        LEFT JOIN phones p ON p.phone = m.member_key
        LEFT JOIN ({_OWNERS_PER_PHONE}) po ON po.phone = m.member_key
        LEFT JOIN ({_FLAGS}) f ON f.entity_type = 'phone' AND f.entity_key = m.member_key
        WHERE m.member_type = 'phone'
        """,
    ),
    View(
        "network_ads",
        "one ad of one network: site, ad id, advertised name, numbers, cities in the order visited, "
        "first and last seen, URL, red flags, and why it is in the network",
        ("network_members", "ads", "ad_observations", "ad_itineraries", "red_flags"),
        f"""
        WITH member_ads AS (
            SELECT network_id, member_key AS ad_key, explanation FROM network_members WHERE member_type = 'ad'
        ), urls AS (
            SELECT o.ad_key, arg_max(o.url, o.seen_at) AS url
            FROM ad_observations o SEMI JOIN member_ads USING (ad_key)
            GROUP BY o.ad_key
        ), routes AS (
            SELECT i.ad_key, list(i.city ORDER BY i.stay_no) AS route, {_set('i.city')} AS cities
            FROM ad_itineraries i SEMI JOIN member_ads USING (ad_key)
            GROUP BY i.ad_key
        )
        SELECT m.network_id,
               m.ad_key,
               a.site,
               a.ad_id,
               a.last_name,
               a.phones,
               coalesce(r.cities, {_EMPTY}) AS cities,
               coalesce(r.route, {_EMPTY}) AS route,
               a.first_seen,
               a.last_seen,
               a.n_snapshots,
               u.url,
               coalesce(f.flags, {_EMPTY}) AS flags,
               m.explanation
        FROM member_ads m
        LEFT JOIN ads a ON a.ad_key = m.ad_key
        LEFT JOIN urls u ON u.ad_key = m.ad_key
        LEFT JOIN routes r ON r.ad_key = m.ad_key
        LEFT JOIN ({_FLAGS}) f ON f.entity_type = 'ad' AND f.entity_key = m.ad_key
        """,
    ),
    View(
        "network_owners",
        "one registered owner in one network: name and spellings, the network's phones registered to them, "
        "their private addresses, and why they are in the network",
        ("network_members", "owners", "directory_matches", "addresses"),
        f"""
        WITH member_owners AS (
            SELECT network_id, member_key AS owner_id, explanation FROM network_members WHERE member_type = 'owner'
        ), phones_of AS (
            SELECT mo.network_id, mo.owner_id, {_set('dm.phone')} AS phones
            FROM member_owners mo
            JOIN directory_matches dm ON dm.owner_id = mo.owner_id
            JOIN network_members mp ON mp.network_id = mo.network_id AND mp.member_type = 'phone'
                                   AND mp.member_key = dm.phone
            GROUP BY mo.network_id, mo.owner_id
        ), addresses_of AS (
            SELECT o.owner_id, {_set("ad.address || coalesce(', ' || ad.city, '')")} AS private_addresses
            FROM owners o, unnest(o.address_keys) AS k(address_key)
            JOIN addresses ad ON ad.address_key = k.address_key AND NOT ad.generic
            GROUP BY o.owner_id
        )
        SELECT m.network_id,
               m.owner_id,
               o.name,
               o.variants,
               coalesce(p.phones, {_EMPTY}) AS phones_in_network,
               o.n_phones AS n_phones_registered,
               coalesce(a.private_addresses, {_EMPTY}) AS private_addresses,
               m.explanation
        FROM member_owners m
        LEFT JOIN owners o ON o.owner_id = m.owner_id
        LEFT JOIN phones_of p ON p.network_id = m.network_id AND p.owner_id = m.owner_id
        LEFT JOIN addresses_of a ON a.owner_id = m.owner_id
        """,
    ),
    View(
        "ad_moves",
        "one ad's observed route: stays, city changes (n_moves), distinct cities, the route in order, "
        "and its network if any",
        ("ad_itineraries", "ads", "network_members"),
        """
        WITH routes AS (
            SELECT ad_key,
                   count(*) AS n_stays,
                   count(*) - 1 AS n_moves,
                   count(DISTINCT city_key) AS n_cities,
                   list(city ORDER BY stay_no) AS route,
                   min(arrived) AS first_arrived,
                   max("left") AS last_left
            FROM ad_itineraries GROUP BY ad_key
        )
        SELECT r.ad_key,
               a.site,
               a.ad_id,
               a.last_name,
               r.n_stays,
               r.n_moves,
               r.n_cities,
               r.route,
               r.first_arrived,
               r.last_left,
               m.network_id
        FROM routes r
        LEFT JOIN ads a ON a.ad_key = r.ad_key
        LEFT JOIN network_members m ON m.member_type = 'ad' AND m.member_key = r.ad_key
        """,
    ),
    View(
        "evidence",
        "every link with both ends readable (numbers with their owners, ads with their names, owners by name, "
        "addresses as written) and the network holding both ends, if any",
        ("links", "network_members", "phones", "phone_owners", "ads", "owners", "addresses"),
        f"""
        WITH owners_per_phone AS ({_OWNERS_PER_PHONE}
        ), labels AS (
            SELECT 'phone:' || p.phone AS key,
                   p.phone || coalesce(' (' || nullif(array_to_string(po.owners, ', '), '') || ')', '') AS label
            FROM phones p LEFT JOIN owners_per_phone po ON po.phone = p.phone
            UNION ALL
            SELECT 'ad:' || ad_key, ad_key || coalesce(' "' || last_name || '"', '') FROM ads
            UNION ALL
            SELECT 'owner:' || owner_id, coalesce(name, '?') || ' [' || owner_id || ']' FROM owners
            UNION ALL
            SELECT 'address:' || address_key, coalesce(address, address_key) || coalesce(', ' || city, '') FROM addresses
        ), members AS (
            SELECT member_type || ':' || member_key AS key, network_id FROM network_members
        )
        SELECT l.kind,
               l.strength,
               l.weight,
               coalesce(la.label, l.a) AS a_label,
               coalesce(lb.label, l.b) AS b_label,
               l.evidence,
               -- the network holding both ends: b's network when it is a's (a member is in one network,
               -- so each end matches one members row; joined on the key alone, because a join also on
               -- ma.network_id let DuckDB choose a plan that ran for minutes at 1M observations)
               CASE WHEN mb.network_id = ma.network_id THEN mb.network_id END AS network_id,
               l.for_networks,
               l.a_type,
               substr(l.a, length(l.a_type) + 2) AS a_key,
               l.b_type,
               substr(l.b, length(l.b_type) + 2) AS b_key,
               l.a,
               l.b,
               l.source
        FROM links l
        LEFT JOIN labels la ON la.key = l.a
        LEFT JOIN labels lb ON lb.key = l.b
        LEFT JOIN members ma ON ma.key = l.a
        LEFT JOIN members mb ON mb.key = l.b
        """,
    ),
    View(
        "network_flags",
        "red flags of one network and of its member ads and phones, with their evidence (screening signals, "
        "not verdicts)",
        ("red_flags", "network_members", "networks"),
        """
        SELECT n.network_id, r.entity_type, r.entity_key, r.flag, r.category, r.evidence, r.value, r.note, r.source
        FROM red_flags r JOIN networks n ON r.entity_type = 'network' AND r.entity_key = n.network_id
        UNION ALL
        SELECT m.network_id, r.entity_type, r.entity_key, r.flag, r.category, r.evidence, r.value, r.note, r.source
        FROM red_flags r JOIN network_members m ON m.member_type = r.entity_type AND m.member_key = r.entity_key
        WHERE r.entity_type IN ('ad', 'phone')
        """,
    ),
    View(
        "billing_contacts",
        "one other party and one recovered phone in the billing records: how often and when they were in touch, "
        "the party's role and rank, and the phone's network",
        ("billing_events", "billing_counterparts", "network_members"),
        """
        WITH pairs AS (
            SELECT counterpart, subscriber,
                   count(*) AS n_events,
                   count(*) FILTER (WHERE kind = 'sms') AS n_sms,
                   count(*) FILTER (WHERE kind = 'call') AS n_calls,
                   count(DISTINCT local_date) AS n_days,
                   min(event_at) AS first_event,
                   max(event_at) AS last_event
            FROM billing_events WHERE counterpart IS NOT NULL
            GROUP BY counterpart, subscriber
        )
        SELECT p.counterpart,
               c.role,
               c.rank,
               c.score,
               c.country AS counterpart_country,
               p.subscriber,
               m.network_id,
               p.n_events,
               p.n_sms,
               p.n_calls,
               p.n_days,
               p.first_event,
               p.last_event,
               c.reason
        FROM pairs p
        JOIN billing_counterparts c ON c.counterpart = p.counterpart
        LEFT JOIN network_members m ON m.member_type = 'phone' AND m.member_key = p.subscriber
        """,
    ),
    View(
        "number_disguises",
        "one way a number was written in disguise on the ads: the string as shown, the tricks undone, how often, "
        "on how many ads, and when",
        ("observation_phones", "phone_strings"),
        """
        WITH tricks AS (
            SELECT raw, phone, min(obfuscation) AS obfuscation
            FROM phone_strings WHERE obfuscated AND phone IS NOT NULL
            GROUP BY raw, phone
        )
        SELECT op.phone,
               op.raw AS written_as,
               t.obfuscation,
               count(*) AS n_observations,
               count(DISTINCT op.ad_key) AS n_ads,
               min(op.seen_at) AS first_seen,
               max(op.seen_at) AS last_seen
        FROM observation_phones op
        JOIN tricks t ON t.raw = op.raw AND t.phone = op.phone
        WHERE op.obfuscated
        GROUP BY op.phone, op.raw, t.obfuscation
        """,
    ),
    View(
        "network_summary",
        "one line per network: sizes, dates, cities, owners, score, its red flags, how much its ads move, "
        "the controller-like numbers in its billing records, the countries its phones were run from, "
        "and the strongest evidence",
        ("networks", "network_members", "red_flags", "network_movement", "billing_counterparts", "billing_roaming"),
        f"""
        WITH own_flags AS (
            SELECT entity_key AS network_id, {_set('flag')} AS red_flags
            FROM red_flags WHERE entity_type = 'network' GROUP BY entity_key
        ), member_flags AS (
            SELECT m.network_id, count(*) AS n_member_flags
            FROM red_flags r JOIN network_members m ON m.member_type = r.entity_type AND m.member_key = r.entity_key
            WHERE r.entity_type IN ('ad', 'phone')
            GROUP BY m.network_id
        ), controllers AS (
            SELECT network_id, {_set('counterpart')} AS controller_like_numbers
            FROM (SELECT counterpart, unnest(subscriber_networks) AS network_id
                  FROM billing_counterparts WHERE role = 'controller-like')
            GROUP BY network_id
        ), abroad AS (
            SELECT m.network_id, {_set('r.country')} AS run_from_countries
            FROM billing_roaming r JOIN network_members m ON m.member_type = 'phone' AND m.member_key = r.subscriber
            GROUP BY m.network_id
        )
        SELECT n.network_id,
               n.n_ads,
               n.n_phones,
               n.n_owners,
               n.n_addresses,
               n.first_seen,
               n.last_seen,
               n.cities,
               n.owners,
               n.score,
               coalesce(f.red_flags, {_EMPTY}) AS red_flags,
               coalesce(mf.n_member_flags, 0) AS n_member_flags,
               mv.share_moved,
               mv.n_moves,
               coalesce(c.controller_like_numbers, {_EMPTY}) AS controller_like_numbers,
               coalesce(ab.run_from_countries, {_EMPTY}) AS run_from_countries,
               n.strongest_evidence
        FROM networks n
        LEFT JOIN own_flags f ON f.network_id = n.network_id
        LEFT JOIN member_flags mf ON mf.network_id = n.network_id
        LEFT JOIN network_movement mv ON mv.network_id = n.network_id
        LEFT JOIN controllers c ON c.network_id = n.network_id
        LEFT JOIN abroad ab ON ab.network_id = n.network_id
        """,
    ),
]

VIEWS: dict[str, View] = {v.name: v for v in _VIEW_LIST}


def _exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return table_exists(con, name)  # information_schema.tables lists views too


def missing_inputs(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """For each view that cannot be created now, the tables or views it lacks (in registry order,
    so a view missing only because an earlier view is missing says so)."""
    available: set[str] = set()
    out: dict[str, list[str]] = {}
    for view in VIEWS.values():
        lacking = [n for n in view.needs if n not in available and (n in VIEWS or not _exists(con, n))]
        if lacking:
            out[view.name] = lacking
        else:
            available.add(view.name)
    return out


def create_views(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Create (or replace) every view whose inputs exist; drop the others. Returns the created names.

    Runs inside the caller's transaction if there is one. A table of the same name as a view is an
    error (a view never hides a table)."""
    missing = missing_inputs(con)
    created = []
    for view in VIEWS.values():
        kind = con.execute(
            "SELECT table_type FROM information_schema.tables WHERE table_name = ? AND table_schema = current_schema()",
            [view.name]).fetchall()
        if kind and kind[0][0] != "VIEW":
            raise RuntimeError(f"cannot create view {view.name}: a table of that name exists")
        if view.name in missing:
            con.execute(f'DROP VIEW IF EXISTS "{view.name}"')
            continue
        con.execute(view.ddl())
        con.execute(f"COMMENT ON VIEW \"{view.name}\" IS '{view.description.replace(chr(39), chr(39) * 2)}'")
        created.append(view.name)
    return created
