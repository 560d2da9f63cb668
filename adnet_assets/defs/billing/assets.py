"""Billing records of recovered phones, who runs them, where they were, and the red flags.

billing_events feeds the billing evidence in ``links`` (scored there without networks);
billing_counterparts and billing_roaming are the analysts' view, downstream of the networks; the
red flags read everything. They are screening signals, not verdicts: the UI says so with them.
"""

import dagster as dg

from adnet_assets.defs.billing.checks import (
    billing_events_are_typed, counterparts_ranked_and_explained, red_flags_are_grounded,
)
from adnet_assets.defs.checks import specs
from adnet_assets.defs.metadata import build_table, markdown_table, report_metadata
from adnet_assets.defs.resources import DUCKDB_POOL, AdnetData
from adnet_assets.defs.settings import MethodSettings
from adnet_assets.lib.billing import QUARANTINE_LEVEL, BillingParams, load_billing
from adnet_assets.lib.billing_counterparts import build_billing_counterparts
from adnet_assets.lib.billing_roaming import build_billing_roaming
from adnet_assets.lib.red_flags import DISCLAIMER, RedFlagParams, indicator_rows, run_red_flags
from adnet_assets.lib.store import replace_quarantine
from adnet_assets.schema import BILLING_COUNTERPARTS, BILLING_EVENTS, BILLING_ROAMING, RED_FLAGS

GROUP = "billing"


@dg.asset(deps=["phone_strings"], group_name=GROUP, pool=DUCKDB_POOL, kinds={"duckdb"},
          description=BILLING_EVENTS.description + " Bad rows go to quarantine (level 'billing') with file and line.",
          check_specs=specs(billing_events_are_typed))
def billing_events(context: dg.AssetExecutionContext, adnet: AdnetData, settings: MethodSettings) -> dg.MaterializeResult:
    params = settings.params("billing", BillingParams)

    def build(con):
        report = load_billing(con, adnet.layout, default_country=adnet.default_country, params=params)
        replace_quarantine(con, QUARANTINE_LEVEL, report.quarantine)
        context.log.info(f"{report.rows_loaded:,} billing event(s) of {report.subscribers} recovered phone(s) "
                         f"from {len(report.files)} file(s), {report.rows_quarantined} quarantined")
        return report_metadata(report)

    return build_table(context, adnet, build, BILLING_EVENTS,
                       preview_columns=["subscriber", "event_at", "direction", "kind", "counterpart", "country"],
                       order_by="subscriber, event_at", checks=[billing_events_are_typed])


@dg.asset(deps=[billing_events, "phones", "network_members"], group_name=GROUP, pool=DUCKDB_POOL, kinds={"duckdb"},
          description=BILLING_COUNTERPARTS.description, check_specs=specs(counterparts_ranked_and_explained))
def billing_counterparts(context: dg.AssetExecutionContext, adnet: AdnetData, settings: MethodSettings) -> dg.MaterializeResult:
    params = settings.params("billing", BillingParams)

    def build(con):
        n = build_billing_counterparts(con, params)
        top = con.execute("SELECT count(*) FROM billing_counterparts WHERE role = 'controller-like'").fetchone()[0]
        context.log.info(f"{n:,} other parties ranked; {top} controller-like")
        return {"controller_like": top}

    return build_table(context, adnet, build, BILLING_COUNTERPARTS,
                       preview_columns=["rank", "counterpart", "score", "role", "reason"], order_by="rank",
                       checks=[counterparts_ranked_and_explained])


@dg.asset(deps=[billing_events], group_name=GROUP, pool=DUCKDB_POOL, kinds={"duckdb"},
          description=BILLING_ROAMING.description)
def billing_roaming(context: dg.AssetExecutionContext, adnet: AdnetData) -> dg.MaterializeResult:
    return build_table(context, adnet, lambda con: {"periods": build_billing_roaming(con)}, BILLING_ROAMING,
                       preview_columns=["subscriber", "country", "first_day", "last_day", "n_days", "description"],
                       order_by="subscriber, country, period_no")


@dg.asset(deps=["ads", "phones", "observation_phones", "ad_observations", "rotation_links", "series_groups",
                "photo_links", "ad_itineraries", "network_members", "network_travel", "network_movement",
                billing_roaming, billing_counterparts],
          group_name=GROUP, pool=DUCKDB_POOL, kinds={"duckdb"},
          description=RED_FLAGS.description, check_specs=specs(red_flags_are_grounded))
def red_flags(context: dg.AssetExecutionContext, adnet: AdnetData, settings: MethodSettings) -> dg.MaterializeResult:
    params = settings.params("red_flags", RedFlagParams)

    def build(con):
        report = run_red_flags(con, params)
        for flag, why in sorted(report.skipped.items()):
            context.log.info(f"{flag} skipped: {why}")
        context.log.info(f"{report.n_rows:,} red flag(s); {DISCLAIMER}")
        indicators = [(r["entity_type"], r["flag"], r["category"], r["threshold"], r["source"])
                      for r in indicator_rows(params)]
        return {
            "disclaimer": dg.MetadataValue.md(f"**{DISCLAIMER}**"),
            "by_flag": dg.MetadataValue.md(markdown_table(["flag", "rows"], sorted(report.counts.items()))),
            "indicators": dg.MetadataValue.md(markdown_table(
                ["entity", "flag", "category", "threshold", "source"], indicators)),
            **({"skipped": dg.MetadataValue.md(markdown_table(["flag", "why"], sorted(report.skipped.items())))}
               if report.skipped else {}),
        }

    return build_table(context, adnet, build, RED_FLAGS,
                       preview_columns=["entity_type", "entity_key", "flag", "evidence"],
                       order_by="entity_type DESC, flag, entity_key", checks=[red_flags_are_grounded])
