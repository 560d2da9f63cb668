"""Who runs the recovered phones: every other party in the billing records, ranked.

Most numbers a working phone talks to are customers. The few that matter are the ones running
the phones: they talk to *several* of a network's phones, on *most* days, at *fixed times*
(a morning and an evening check-in), mostly by SMS, and often from abroad. A regular customer
who calls several phones of one network is the trap: frequent, but at irregular evening and
night times, and by calls. ``build_billing_counterparts`` writes ``billing_counterparts``: one
row per other party (E.164; short codes and sender names are not ranked) with the features a
reader can check, a ``score`` and a ``reason`` in words.

Features (set-based SQL over ``billing_events``; calls and SMS only, data sessions have no
other party):

* ``n_subscribers``; ``persistence``: over the recovered phones it talks to, the mean share of
  each phone's days (days with any event at all: a phone that was off cannot be called) with
  contact; ``coverage``: those shares summed over the recovered phones of one network and
  divided by their number (each phone's network from ``network_members`` when that table
  exists; otherwise all recovered phones are one group), the largest over networks
  (``best_group``). ``n_days`` over ``n_days_possible`` (days its phones have any event) is
  shown in the reason.
* Contacts: events of one pair (phone, other party) less than ``contact_gap_min`` apart are one
  contact (an SMS and its answer), so a chat counts once.
* ``regularity``: per pair, the two usual times of day (the busiest disjoint windows of
  ±``regular_window_min`` around a contact's local time of day, as written in the record) and
  the share of the pair's contacts inside them, shrunk towards chance for few contacts; averaged
  over pairs weighted by contacts. ``usual_times`` shows the busiest pair's times and spread
  ("10:39 ± 4 min": mean distance to the time).
* ``sms_share``, ``evening_share`` (contacts 18:00-06:00 local), ``country`` of the number and
  ``foreign_number`` (not the recovered phones' home country), ``in_ads``/``n_ads`` (in ``phones``, when
  that table exists), ``network_ids`` (networks it is itself a member phone of).

The score is ``presence × pattern`` (see ``BillingParams`` for the weights and why):

    presence = (w_coverage · coverage + w_persistence · persistence) / (w_coverage + w_persistence)
    pattern  = (w_regular · regularity + w_sms · sms_share + w_foreign · foreign_number
                + w_daytime · (1 - evening_share)) / (w_regular + w_sms + w_foreign + w_daytime)

``role``: 'occasional' below ``min_days`` contact days, else 'controller-like' at
``score ≥ controller_score``, else 'customer-like'. ``rank`` 1 is the most controller-like.

Nothing here is tuned to one data set: each feature is a habit of people who run phones that a
reader can check in the records, and the weights are round numbers argued in ``BillingParams``.

``billing_links_sql`` turns other parties that are themselves phones seen in ads or members of a
network into ``links`` rows (kind 'billing'): strong only for controller-like numbers.
"""

from __future__ import annotations

import duckdb

from adnet_assets.lib.billing import DEFAULT_PARAMS, BillingParams, country_adjective_sql
from adnet_assets.lib.keys import sql_key
from adnet_assets.lib.store import replace_table, table_exists
from adnet_assets.schema import BILLING_COUNTERPARTS, Table

__all__ = ["BillingParams", "billing_links_sql", "build_billing_counterparts"]

_WORK_TABLES = ("_adnet_bc_contacts", "_adnet_bc_pairs", "_adnet_bc_groups", "_adnet_bc_features")


def _hhmm(minute_sql: str) -> str:
    return f"lpad(CAST(({minute_sql}) // 60 AS VARCHAR), 2, '0') || ':' || lpad(CAST(({minute_sql}) % 60 AS VARCHAR), 2, '0')"


def _circ(a: str, b: str) -> str:
    """Distance in minutes between two times of day, around midnight."""
    return f"least(abs(({a}) - ({b})), 1440 - abs(({a}) - ({b})))"


def _signed(x: str, m: str) -> str:
    """Signed difference x - m in minutes of day, in [-720, 720)."""
    return f"((({x}) - ({m}) + 720 + 1440) % 1440 - 720)"


def build_billing_counterparts(con: duckdb.DuckDBPyConnection, params: BillingParams = DEFAULT_PARAMS, *,
                               use_networks: bool = True, into: Table = BILLING_COUNTERPARTS) -> int:
    """Replace ``billing_counterparts`` (or ``into``) from ``billing_events``, ``phones`` when it exists and,
    with ``use_networks``, ``network_members``. Returns the number of rows. Runs inside the caller's
    transaction.

    ``use_networks=False`` is for evidence that networks are built from (``links``): it must not depend on
    the networks of an earlier run, so every recovered phone is in one group and no number is marked as a
    network's phone. The formula is the same."""
    p = params
    W = int(p.regular_window_min)
    gap = int(p.contact_gap_min)
    ev_start, ev_end = int(p.evening_start_hour) * 60, int(p.evening_end_hour) * 60
    has_members = use_networks and table_exists(con, "network_members")
    has_phones = table_exists(con, "phones")
    try:
        # Contacts: events of one pair less than contact_gap_min apart count once, at the first one's time.
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _adnet_bc_contacts AS
            WITH ev AS (
              SELECT counterpart, subscriber, event_at, local_date, local_minute,
                     lag(event_at) OVER (PARTITION BY counterpart, subscriber ORDER BY event_at, local_minute) AS prev_at
              FROM billing_events
              WHERE counterpart IS NOT NULL AND kind IN ('call', 'sms') AND counterpart <> subscriber
            )
            SELECT counterpart, subscriber, local_date, local_minute
            FROM ev WHERE prev_at IS NULL OR event_at - prev_at >= INTERVAL {gap} MINUTE""")
        # Per pair: the two usual times of day and how many contacts fall within +-W of them.
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _adnet_bc_pairs AS
            WITH cand AS (SELECT DISTINCT counterpart, subscriber, local_minute AS c FROM _adnet_bc_contacts),
            cover AS (
              SELECT k.counterpart, k.subscriber, k.c, count(*) AS n
              FROM cand k JOIN _adnet_bc_contacts x USING (counterpart, subscriber)
              WHERE {_circ('x.local_minute', 'k.c')} <= {W}
              GROUP BY ALL
            ), m1 AS (
              SELECT counterpart, subscriber, c AS m1 FROM cover
              QUALIFY row_number() OVER (PARTITION BY counterpart, subscriber ORDER BY n DESC, c) = 1
            ), m2 AS (
              SELECT v.counterpart, v.subscriber, v.c AS m2 FROM cover v JOIN m1 USING (counterpart, subscriber)
              WHERE {_circ('v.c', 'm1.m1')} > {2 * W}
              QUALIFY row_number() OVER (PARTITION BY v.counterpart, v.subscriber ORDER BY v.n DESC, v.c) = 1
            ), x AS (
              SELECT x.counterpart, x.subscriber, x.local_minute, m1.m1, m2.m2,
                     {_circ('x.local_minute', 'm1.m1')} <= {W} AS in1,
                     m2.m2 IS NOT NULL AND {_circ('x.local_minute', 'm2.m2')} <= {W} AS in2,
                     {_signed('x.local_minute', 'm1.m1')} AS d1, {_signed('x.local_minute', 'm2.m2')} AS d2
              FROM _adnet_bc_contacts x JOIN m1 USING (counterpart, subscriber)
              LEFT JOIN m2 USING (counterpart, subscriber)
            )
            SELECT counterpart, subscriber, count(*) AS n_contacts,
                   count(*) FILTER (in1 OR in2) AS hits,
                   (count(*) FILTER (in1 OR in2) + {float(p.regular_pseudo_contacts)} * {float(p.regular_prior)})
                     / (count(*) + {float(p.regular_pseudo_contacts)}) AS regularity,
                   CAST(round(any_value(m1) + avg(d1) FILTER (in1) + 1440) AS INTEGER) % 1440 AS t1,
                   avg(abs(d1)) FILTER (in1) AS spread1, count(*) FILTER (in1) AS n1,
                   CAST(round(any_value(m2) + avg(d2) FILTER (in2) + 1440) AS INTEGER) % 1440 AS t2,
                   avg(abs(d2)) FILTER (in2) AS spread2, count(*) FILTER (in2) AS n2
            FROM x GROUP BY counterpart, subscriber""")
        # Groups of recovered phones: their network when known.
        members = ("""LEFT JOIN (SELECT member_key, min(network_id) AS network_id FROM network_members
                                 WHERE member_type = 'phone' GROUP BY member_key) nm ON nm.member_key = s.subscriber"""
                   if has_members else "LEFT JOIN (SELECT NULL::VARCHAR AS network_id) nm ON false")
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _adnet_bc_groups AS
            WITH s AS (SELECT DISTINCT subscriber FROM billing_events)
            SELECT s.subscriber, nm.network_id, coalesce(nm.network_id, '') AS grp,
                   count(*) OVER (PARTITION BY coalesce(nm.network_id, '')) AS group_size
            FROM s {members}""")
        ads = ("LEFT JOIN (SELECT phone, max(n_ads) AS n_ads FROM phones GROUP BY phone) ph ON ph.phone = f.counterpart"
               if has_phones else "LEFT JOIN (SELECT NULL::VARCHAR AS phone, NULL::BIGINT AS n_ads) ph ON false")
        nets = ("""LEFT JOIN (SELECT member_key, list(DISTINCT network_id ORDER BY network_id) AS network_ids
                              FROM network_members WHERE member_type = 'phone' GROUP BY member_key) mn
                     ON mn.member_key = f.counterpart"""
                if has_members else "LEFT JOIN (SELECT NULL::VARCHAR AS member_key, NULL::VARCHAR[] AS network_ids) mn ON false")
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _adnet_bc_features AS
            WITH ev AS (
              SELECT e.*, g.grp, g.network_id AS sub_network FROM billing_events e JOIN _adnet_bc_groups g USING (subscriber)
              WHERE e.counterpart IS NOT NULL AND e.kind IN ('call', 'sms') AND e.counterpart <> e.subscriber
            ), base AS (
              SELECT counterpart, count(DISTINCT subscriber) AS n_subscribers, count(*) AS n_events,
                     list(DISTINCT subscriber ORDER BY subscriber) AS subscribers,
                     coalesce(list(DISTINCT sub_network ORDER BY sub_network) FILTER (sub_network IS NOT NULL),
                              []::VARCHAR[]) AS subscriber_networks,
                     count(DISTINCT local_date) AS n_days,
                     count(*) FILTER (kind = 'call') AS n_calls, count(*) FILTER (kind = 'sms') AS n_sms,
                     count(*) FILTER (direction = 'in') AS n_in, count(*) FILTER (direction = 'out') AS n_out,
                     coalesce(sum(duration_s) FILTER (kind = 'call'), 0) AS call_seconds,
                     any_value(counterpart_region) AS country,
                     bool_or(counterpart_region IS NOT NULL AND subscriber_region IS NOT NULL
                             AND counterpart_region <> subscriber_region) AS foreign_number,
                     min(event_at) AS first_event, max(event_at) AS last_event
              FROM ev GROUP BY counterpart
            ), pair_days AS (
              -- per pair: the share of the phone's active days (any event) with contact
              SELECT e.counterpart, e.subscriber, e.grp, count(DISTINCT e.local_date) / any_value(a.active_days) AS day_share
              FROM ev e JOIN (SELECT subscriber, count(DISTINCT local_date) AS active_days FROM billing_events
                              GROUP BY subscriber) a USING (subscriber)
              GROUP BY e.counterpart, e.subscriber, e.grp
            ), persist AS (
              SELECT counterpart, avg(day_share) AS persistence FROM pair_days GROUP BY counterpart
            ), grp AS (
              SELECT counterpart, grp AS best_group_key, group_size, n AS n_group_subscribers, coverage
              FROM (SELECT d.counterpart, d.grp, g.group_size, count(*) AS n, sum(d.day_share) / g.group_size AS coverage
                    FROM pair_days d JOIN (SELECT DISTINCT grp, group_size FROM _adnet_bc_groups) g USING (grp)
                    GROUP BY d.counterpart, d.grp, g.group_size)
              QUALIFY row_number() OVER (PARTITION BY counterpart ORDER BY coverage DESC, n DESC, grp) = 1
            ), possible AS (
              SELECT pr.counterpart, count(DISTINCT d.local_date) AS n_days_possible
              FROM (SELECT DISTINCT counterpart, subscriber FROM ev) pr
              JOIN (SELECT DISTINCT subscriber, local_date FROM billing_events) d USING (subscriber)
              GROUP BY pr.counterpart
            ), pairs AS (
              SELECT counterpart, sum(n_contacts) AS n_contacts,
                     sum(n_contacts * regularity) / sum(n_contacts) AS regularity,
                     first(CASE WHEN n2 > 0 AND t2 < t1 THEN [t2, t1] WHEN n2 > 0 THEN [t1, t2] ELSE [t1] END
                           ORDER BY n_contacts DESC, subscriber) AS times,
                     first(CASE WHEN n2 > 0 AND t2 < t1 THEN [spread2, spread1] WHEN n2 > 0 THEN [spread1, spread2]
                                ELSE [spread1] END
                           ORDER BY n_contacts DESC, subscriber) AS spreads
              FROM _adnet_bc_pairs GROUP BY counterpart
            ), tod AS (
              SELECT counterpart,
                     avg(CASE WHEN local_minute >= {ev_start} OR local_minute < {ev_end} THEN 1.0 ELSE 0.0 END) AS evening_share
              FROM _adnet_bc_contacts GROUP BY counterpart
            )
            SELECT b.*, g.best_group_key, g.group_size, g.n_group_subscribers, g.coverage, pe.persistence,
                   ps.n_days_possible,
                   pr.n_contacts, pr.regularity, pr.times, pr.spreads, t.evening_share,
                   CASE WHEN b.n_calls + b.n_sms > 0 THEN b.n_sms / (b.n_calls + b.n_sms) ELSE 0 END AS sms_share,
                   ph.n_ads IS NOT NULL AS in_ads, coalesce(ph.n_ads, 0) AS n_ads,
                   coalesce(mn.network_ids, []::VARCHAR[]) AS network_ids,
                   b.counterpart IN (SELECT subscriber FROM _adnet_bc_groups) AS is_recovered
            FROM base b JOIN grp g USING (counterpart) JOIN persist pe USING (counterpart)
            JOIN possible ps USING (counterpart)
            JOIN pairs pr USING (counterpart) JOIN tod t USING (counterpart)
            {ads.replace('f.counterpart', 'b.counterpart')} {nets.replace('f.counterpart', 'b.counterpart')}""")

        any_network = con.execute("SELECT count(*) FROM _adnet_bc_groups WHERE network_id IS NOT NULL").fetchone()[0] > 0
        no_net_label = "recovered phones in no network" if any_network else "all recovered phones"
        w_pat = p.w_regular + p.w_sms + p.w_foreign + p.w_daytime
        usual = ("array_to_string(list_transform(range(1, len(f.times) + 1), lambda i: "
                 + _hhmm("f.times[i]") + " || ' ± ' || CAST(round(f.spreads[i]) AS BIGINT) || ' min'), ', ')")
        return replace_table(con, into, f"""
            WITH s AS (
              SELECT f.*,
                     CASE WHEN f.best_group_key = '' THEN '{no_net_label}' ELSE f.best_group_key END AS best_group,
                     {usual} AS usual_times
              FROM _adnet_bc_features f
            ), sc AS (
              SELECT *,
                     ({p.w_coverage} * coverage + {p.w_persistence} * persistence)
                       / {p.w_coverage + p.w_persistence} AS presence,
                     ({p.w_regular} * regularity + {p.w_sms} * sms_share
                      + {p.w_foreign} * CASE WHEN foreign_number THEN 1 ELSE 0 END
                      + {p.w_daytime} * (1 - evening_share)) / {w_pat} AS pattern_score
              FROM s
            ), r AS (
              SELECT *, round(presence * pattern_score, 4) AS score,
                     CASE WHEN n_days < {int(p.min_days)} THEN 'occasional'
                          WHEN round(presence * pattern_score, 4) >= {p.controller_score} THEN 'controller-like'
                          ELSE 'customer-like' END AS role
              FROM sc
            )
            SELECT *, row_number() OVER (ORDER BY score DESC, n_events DESC, counterpart) AS rank,
                   CASE WHEN sms_share >= 0.7 THEN 'texts' WHEN sms_share <= 0.3 THEN 'calls' ELSE 'talks to' END
                   || ' ' || n_group_subscribers || ' of ' || group_size || ' recovered phone' || CASE WHEN group_size > 1 THEN 's' ELSE '' END
                   || CASE WHEN best_group_key <> '' THEN ' of ' || best_group_key ELSE '' END
                   || CASE WHEN n_subscribers > n_group_subscribers THEN ' (' || n_subscribers || ' in all)' ELSE '' END
                   || ' on ' || n_days || ' of ' || n_days_possible || ' day' || CASE WHEN n_days_possible > 1 THEN 's' ELSE '' END
                   || ' (' || n_events || ' event' || CASE WHEN n_events > 1 THEN 's' ELSE '' END || ')'
                   || ', ' || CAST(round(100 * sms_share) AS BIGINT) || '% SMS'
                   || CASE WHEN n_contacts < 3 THEN ', too few contacts to tell its times'
                           WHEN regularity >= 0.6 THEN ', at regular times (' || usual_times || ')'
                           ELSE ', at irregular ' || CASE WHEN evening_share >= 0.7 THEN 'evening/night '
                                                          WHEN evening_share <= 0.3 THEN 'daytime ' ELSE '' END
                                || 'times (' || CAST(round(100 * regularity) AS BIGINT) || '% regular)' END
                   || CASE WHEN foreign_number THEN ', ' || {country_adjective_sql('country')} || ' number' ELSE '' END
                   || CASE WHEN is_recovered THEN ', itself one of the recovered phones' ELSE '' END
                   || CASE WHEN in_ads THEN ', itself shown in ' || n_ads || ' ad' || CASE WHEN n_ads > 1 THEN 's' ELSE '' END ELSE '' END
                   || CASE WHEN len(network_ids) > 0 THEN ', itself a phone of ' || array_to_string(network_ids, ', ') ELSE '' END
                   || ': ' || role AS reason
            FROM r""")
    finally:
        for t in _WORK_TABLES:
            con.execute(f"DROP TABLE IF EXISTS {t}")


def billing_links_sql(params: BillingParams = DEFAULT_PARAMS, counterparts: str = BILLING_COUNTERPARTS.name) -> str:
    """SELECT of ``links`` rows (kind 'billing') from ``billing_events`` and ``counterparts`` (a table in the
    shape of ``billing_counterparts``; ``links`` uses one scored without networks).

    A recovered phone and an other party it talked to are linked when that party is itself a phone
    seen in ads (``in_ads``) or a member phone of a network (``network_ids``). The link is strong
    (weight ``link_strong``, used for networks) only when the party is controller-like
    (``score ≥ controller_score``); otherwise it is weak (``link_weak``) and never used for
    networks: a client texting two women's phones must not merge two networks. Columns in the
    order of ``links``: kind, a, b, weight, evidence, a_type, b_type, source, strength,
    for_networks; a < b; one row per pair of phones (two recovered phones talking to each other
    appear in both records: one link).
    """
    strong = f"c.score >= CAST({float(params.controller_score)} AS DOUBLE)"
    a, b = sql_key("phone", "least(e.subscriber, e.counterpart)"), sql_key("phone", "greatest(e.subscriber, e.counterpart)")
    return f"""
        SELECT 'billing' AS kind, a, b,
               max(weight) AS weight,
               string_agg(evidence, '; ' ORDER BY evidence) AS evidence,
               'phone' AS a_type, 'phone' AS b_type,
               'billing_events: ' || array_to_string(list_sort(list_distinct(flatten(list(files)))), ',') AS source,
               CASE WHEN bool_or(is_strong) THEN 'strong' ELSE 'weak' END AS strength,
               bool_or(is_strong) AS for_networks
        FROM (
          SELECT {a} AS a, {b} AS b, {strong} AS is_strong,
                 CAST(CASE WHEN {strong} THEN {float(params.link_strong)} ELSE {float(params.link_weak)} END AS DOUBLE) AS weight,
                 e.counterpart || ' is in the billing records of recovered phone ' || e.subscriber || ': '
                   || count(*) || ' call(s)/SMS on ' || count(DISTINCT e.local_date) || ' day(s), '
                   || strftime(min(e.event_at), '%Y-%m-%d') || ' to ' || strftime(max(e.event_at), '%Y-%m-%d')
                   || '; ' || e.counterpart || ' is itself '
                   || array_to_string(list_filter([
                        CASE WHEN any_value(c.in_ads) THEN 'shown in ' || any_value(c.n_ads) || ' ad(s)' END,
                        CASE WHEN len(any_value(c.network_ids)) > 0
                             THEN 'a phone of ' || array_to_string(any_value(c.network_ids), ', ') END],
                        lambda x: x IS NOT NULL), ' and ')
                   || '; ' || any_value(c.role) || ' (score ' || round(any_value(c.score), 2) || ', rank '
                   || any_value(c.rank) || ')'
                   || CASE WHEN {strong} THEN '' ELSE ': weak, not used to build networks' END AS evidence,
                 list(DISTINCT e.source_file ORDER BY e.source_file) AS files
          FROM billing_events e JOIN "{counterparts}" c ON c.counterpart = e.counterpart
          WHERE e.kind IN ('call', 'sms') AND e.counterpart <> e.subscriber
            AND (c.in_ads OR len(c.network_ids) > 0)
          GROUP BY e.subscriber, e.counterpart, c.score
        )
        GROUP BY a, b"""
