"""When the recovered phones were run from abroad: roaming periods from ``billing_events``.

A billing record names the network that carried each event and that network's country. A phone
whose events are carried by a foreign network was abroad (or its SIM card was: the published
case found SIM cards run from Russia). ``build_billing_roaming`` writes ``billing_roaming``: per
recovered phone and foreign country, the *periods* on that country's networks.

* Home is the phone number's own country (``subscriber_region``); an event is abroad when its
  ``country`` is another one (``billing_events.roaming``). Events without a country are not used.
* Days are local days as written in the records. Consecutive days abroad in one country form a
  period, and a gap of at most one day joins (a day with no event at all, or a day trip home,
  does not split a stay): gaps and islands in SQL, no loop.
* Each period has its first and last day, the days with events there, the events, the networks
  (as written), the files, and a sentence.
"""

from __future__ import annotations

import duckdb

from adnet_assets.lib.billing import country_adjective_sql
from adnet_assets.lib.store import replace_table
from adnet_assets.schema import BILLING_ROAMING

__all__ = ["MAX_GAP_DAYS", "build_billing_roaming"]

#: Days without a foreign event that still join two days abroad into one period.
MAX_GAP_DAYS = 1


def build_billing_roaming(con: duckdb.DuckDBPyConnection, *, max_gap_days: int = MAX_GAP_DAYS) -> int:
    """Replace ``billing_roaming`` from ``billing_events``; returns the number of periods."""
    step = int(max_gap_days) + 1
    return replace_table(con, BILLING_ROAMING, f"""
        WITH d AS (
          SELECT subscriber, subscriber_region AS home_country, country, local_date, count(*) AS n_events,
                 list(DISTINCT network ORDER BY network) FILTER (network IS NOT NULL) AS nets,
                 list(DISTINCT source_file ORDER BY source_file) AS files
          FROM billing_events WHERE roaming
          GROUP BY subscriber, subscriber_region, country, local_date
        ), g AS (
          SELECT *, CASE WHEN local_date - lag(local_date) OVER w <= {step} THEN 0 ELSE 1 END AS starts
          FROM d WINDOW w AS (PARTITION BY subscriber, country ORDER BY local_date)
        ), i AS (
          SELECT *, sum(starts) OVER (PARTITION BY subscriber, country ORDER BY local_date
                                      ROWS UNBOUNDED PRECEDING) AS period_no
          FROM g
        ), p AS (
          SELECT subscriber, any_value(home_country) AS home_country, country, period_no,
                 min(local_date) AS first_day, max(local_date) AS last_day, count(*) AS n_days,
                 max(local_date) - min(local_date) + 1 AS span_days, sum(n_events) AS n_events,
                 list_sort(list_distinct(flatten(list(coalesce(nets, []::VARCHAR[]))))) AS networks,
                 list_sort(list_distinct(flatten(list(files)))) AS source_files
          FROM i GROUP BY subscriber, country, period_no
        )
        SELECT *,
               subscriber || ' was on the ' || {country_adjective_sql('country')} || ' network'
               || CASE WHEN len(networks) > 1 THEN 's ' ELSE ' ' END
               || coalesce(nullif(array_to_string(networks, ', '), ''), '(not named)')
               || CASE WHEN first_day = last_day THEN ' on ' || strftime(first_day, '%Y-%m-%d')
                       ELSE ' from ' || strftime(first_day, '%Y-%m-%d') || ' to ' || strftime(last_day, '%Y-%m-%d') END
               || ': ' || n_events || ' event' || CASE WHEN n_events > 1 THEN 's' ELSE '' END
               || ' on ' || n_days || ' of ' || span_days || ' day' || CASE WHEN span_days > 1 THEN 's' ELSE '' END
               || ', run from ' || country || ' instead of ' || coalesce(home_country, '?') AS description
        FROM p
        ORDER BY subscriber, first_day, country""")
