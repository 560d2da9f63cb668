"""Evidence assets: directory, addresses, owners, rotation, series, photos, texts -> links.

Each asset reads its inputs in adnet.duckdb, calls one lib function, writes its table(s) in one
transaction and reports what a data engineer wants to see.
"""

import dagster as dg

from adnet_assets.defs.checks import results, specs
from adnet_assets.defs.evidence.checks import LINKS_CHECKS, every_listing_has_one_owner
from adnet_assets.defs.metadata import build_table, markdown_table, report_metadata, table_metadata
from adnet_assets.defs.resources import DUCKDB_POOL, AdnetData, PhoneDirectory
from adnet_assets.defs.settings import MethodSettings
from adnet_assets.lib import audit
from adnet_assets.lib.addresses import AddressParams, build_addresses
from adnet_assets.lib.billing import BillingParams
from adnet_assets.lib.directory import DirectoryParams, load_directory, phones_due_for_lookup, record_lookups
from adnet_assets.lib.links import LinkWeights, build_links
from adnet_assets.lib.owners import OwnerParams, resolve_owners
from adnet_assets.lib.photos import PhotoParams, build_photo_links
from adnet_assets.lib.rotation import RotationParams, build_rotation_links
from adnet_assets.lib.series import SeriesParams, build_series_groups
from adnet_assets.lib.store import replace_quarantine, transaction
from adnet_assets.lib.texts import TextParams, build_text_links
from adnet_assets.schema import (
    ADDRESSES, DIRECTORY_LISTINGS, DIRECTORY_MATCHES, LINKS, OWNER_VARIANTS, OWNERS, PHOTO_LINKS, PHOTOS,
    ROTATION_LINKS, SERIES_GROUPS, TEXT_LINKS,
)

GROUP = "evidence"
_DIRECTORY_LEVEL = "directory"


@dg.asset(deps=["phones"], group_name=GROUP, pool=DUCKDB_POOL, kinds={"duckdb", "python"},
          description="Numbers seen in ads looked up in the configured directory service; every answer cached "
                      "with its time in directory_lookups, asked again only after max_age_days.")
def directory_lookups(context: dg.AssetExecutionContext, adnet: AdnetData, directory: PhoneDirectory) -> dg.MaterializeResult:
    if not directory.configured:
        return dg.MaterializeResult(metadata={"service": dg.MetadataValue.text(
            "not configured: set ADNET_DIRECTORY_URL and ADNET_DIRECTORY_API_KEY to look numbers up; "
            "the CSV extracts in directory/ are read either way"), "looked_up": 0})
    client = directory.client()
    # short read, network calls with no database lock held, short write
    with adnet.connect(read_only=True, log=context.log.info) as con:
        due = phones_due_for_lookup(con, client.service, directory.max_age_days, regions=directory.regions,
                                    limit=directory.max_lookups_per_run)
    context.log.info(f"{len(due)} number(s) due for a look-up at {client.service}")
    results = []
    try:
        for i, result in enumerate(client.lookup_many(due), 1):
            results.append(result)
            if i % 50 == 0 or i == len(due):
                context.log.info(f"looked up {i}/{len(due)}")
    finally:  # numbers already sent are cached and audited even when the service stops answering
        statuses = {s: sum(r.status == s for r in results) for s in ("found", "not_found", "error")}
        with adnet.connect(log=context.log.info) as con:
            with transaction(con):
                record_lookups(con, results)
                if results:
                    audit.record(con, "directory_lookup",
                                 f"{len(results)} number(s) sent to {client.service}: " +
                                 f"{statuses['found']} found, {statuses['not_found']} not found, {statuses['error']} failed",
                                 run_id=context.run.run_id)
    return dg.MaterializeResult(metadata={"service": dg.MetadataValue.text(client.service), "looked_up": len(results),
                                          **statuses})


@dg.asset(deps=["phone_strings", "phones", directory_lookups], group_name=GROUP, pool=DUCKDB_POOL, kinds={"duckdb", "python"},
          description=DIRECTORY_LISTINGS.description + " Bad rows go to quarantine (level 'directory') with file and line.")
def directory_listings(context: dg.AssetExecutionContext, adnet: AdnetData, settings: MethodSettings) -> dg.MaterializeResult:
    params = settings.params("directory", DirectoryParams)

    def build(con):
        report = load_directory(con, adnet.layout, default_country=adnet.default_country, params=params)
        replace_quarantine(con, _DIRECTORY_LEVEL, report.quarantine)
        for note in report.notes:
            context.log.info(note)
        context.log.info(f"{report.rows_loaded} directory row(s) loaded from {len(report.files)} file(s), "
                         f"{report.rows_quarantined} quarantined")
        return report_metadata(report)

    return build_table(context, adnet, build, DIRECTORY_LISTINGS,
                       preview_columns=["listing_id", "phone", "name", "address", "visibility"], order_by="listing_id")


@dg.asset(deps=[directory_listings], group_name=GROUP, pool=DUCKDB_POOL, kinds={"duckdb", "python"},
          description=ADDRESSES.description)
def addresses(context: dg.AssetExecutionContext, adnet: AdnetData, settings: MethodSettings) -> dg.MaterializeResult:
    params = settings.params("addresses", AddressParams)

    def kinds(con):
        rows = con.execute("SELECT kind, count(*), sum(n_owners) FROM addresses GROUP BY ALL ORDER BY 2 DESC").fetchall()
        return {"by_kind": dg.MetadataValue.md(markdown_table(["kind", "addresses", "owners"], rows))}

    return build_table(context, adnet, lambda con: build_addresses(con, params), ADDRESSES,
                       preview_columns=["address", "kind", "generic", "n_owners", "reason"],
                       order_by="generic DESC, n_owners DESC", extra=kinds)


@dg.multi_asset(
    specs=[
        dg.AssetSpec("owners", deps=[directory_listings, addresses, "phones"], description=OWNERS.description, kinds={"duckdb"}),
        dg.AssetSpec("owner_variants", deps=[directory_listings, addresses], description=OWNER_VARIANTS.description, kinds={"duckdb"}),
        dg.AssetSpec("directory_matches", deps=[directory_listings, addresses, "phones"], description=DIRECTORY_MATCHES.description,
                     kinds={"duckdb"}),
    ],
    group_name=GROUP, pool=DUCKDB_POOL,
    check_specs=specs(every_listing_has_one_owner),
)
def owner_tables(context: dg.AssetExecutionContext, adnet: AdnetData, settings: MethodSettings):
    """One owner per person, not per spelling; the directory matched to the phones seen in ads."""
    params = settings.params("owners", OwnerParams)
    aliases = adnet.layout.aliases if adnet.layout.aliases.is_file() else None
    with adnet.connect(log=context.log.info) as con:
        with transaction(con):
            report = resolve_owners(con, params, aliases)
        context.log.info(f"{report.n_listings} named listing(s) resolved to {report.n_owners} owner(s)"
                         + (f"; {len(report.homonym_splits)} name(s) kept apart as different people" if report.homonym_splits else ""))
        yield dg.MaterializeResult(asset_key="owners", metadata={
            **table_metadata(con, OWNERS, preview_columns=["owner_id", "name", "n_phones", "variants", "resolution"],
                             order_by="n_phones DESC, owner_id"),
            **report_metadata(report), "aliases_file": dg.MetadataValue.text(str(aliases) if aliases else "none")},
            check_results=results([every_listing_has_one_owner], adnet, con))
        yield dg.MaterializeResult(asset_key="owner_variants", metadata=table_metadata(
            con, OWNER_VARIANTS, preview_columns=["owner_id", "name", "rule", "score", "matched_to"],
            order_by="owner_id, name"))
        yield dg.MaterializeResult(asset_key="directory_matches", metadata=table_metadata(
            con, DIRECTORY_MATCHES, preview_columns=["phone", "owner_id", "name", "address", "address_generic"],
            order_by="phone"))


@dg.asset(deps=["observation_phones", "directory_matches"], group_name=GROUP, pool=DUCKDB_POOL, kinds={"duckdb"},
          description=ROTATION_LINKS.description)
def rotation_links(context: dg.AssetExecutionContext, adnet: AdnetData, settings: MethodSettings) -> dg.MaterializeResult:
    params = settings.params("rotation", RotationParams)
    return build_table(context, adnet, lambda con: build_rotation_links(con, params, log=context.log.info), ROTATION_LINKS,
                       preview_columns=["ad_key", "phone_a", "phone_b", "n_snapshots", "n_switches", "owners_differ"],
                       order_by="n_snapshots DESC, ad_key")


@dg.asset(deps=["phones", rotation_links, "directory_matches"], group_name=GROUP, pool=DUCKDB_POOL, kinds={"duckdb"},
          description=SERIES_GROUPS.description)
def series_groups(context: dg.AssetExecutionContext, adnet: AdnetData, settings: MethodSettings) -> dg.MaterializeResult:
    params = settings.params("series", SeriesParams)
    return build_table(context, adnet, lambda con: report_metadata(build_series_groups(con, params, log=context.log.info)),
                       SERIES_GROUPS, preview_columns=["group_id", "phone", "n_in_group", "strength", "reason"],
                       order_by="strength, group_id, phone")


@dg.multi_asset(
    specs=[
        dg.AssetSpec("photos", deps=["ad_observations", "observation_phones"], description=PHOTOS.description, kinds={"duckdb"}),
        dg.AssetSpec("photo_links", deps=["ad_observations", "observation_phones"], description=PHOTO_LINKS.description,
                     kinds={"duckdb"}),
    ],
    group_name=GROUP, pool=DUCKDB_POOL,
)
def photo_tables(context: dg.AssetExecutionContext, adnet: AdnetData, settings: MethodSettings):
    """Reused photos: the same file or a near-identical perceptual hash; stock photos never link."""
    params = settings.params("photos", PhotoParams)
    with adnet.connect(log=context.log.info) as con:
        with transaction(con):
            report = build_photo_links(con, params)
        yield dg.MaterializeResult(asset_key="photos", metadata={
            **table_metadata(con, PHOTOS, preview_columns=["image_key", "n_ads", "n_components", "stock", "reason"],
                             order_by="stock DESC, n_ads DESC"), **report_metadata(report)})
        yield dg.MaterializeResult(asset_key="photo_links", metadata=table_metadata(
            con, PHOTO_LINKS, preview_columns=["ad_a", "ad_b", "match", "distance", "n_ads_with_image"], order_by="ad_a, ad_b"))


@dg.asset(deps=["ad_observations"], group_name=GROUP, pool=DUCKDB_POOL, kinds={"duckdb"},
          description=TEXT_LINKS.description)
def text_links(context: dg.AssetExecutionContext, adnet: AdnetData, settings: MethodSettings) -> dg.MaterializeResult:
    params = settings.params("texts", TextParams)
    return build_table(context, adnet, lambda con: report_metadata(build_text_links(con, params)), TEXT_LINKS,
                       preview_columns=["ad_a", "ad_b", "similarity", "shared_boilerplate"], order_by="similarity DESC")


@dg.asset(deps=["observation_phones", rotation_links, series_groups, "directory_matches", addresses, "photo_links", text_links,
                "billing_events"],
          group_name=GROUP, pool=DUCKDB_POOL, kinds={"duckdb"}, description=LINKS.description,
          check_specs=specs(*LINKS_CHECKS))
def links(context: dg.AssetExecutionContext, adnet: AdnetData, settings: MethodSettings) -> dg.MaterializeResult:
    weights = settings.params("links", LinkWeights)
    billing = settings.params("billing", BillingParams)

    def by_kind(con):
        rows = con.execute("SELECT kind, strength, count(*), round(avg(weight), 2) FROM links GROUP BY ALL ORDER BY 1, 2").fetchall()
        return {"by_kind": dg.MetadataValue.md(markdown_table(["kind", "strength", "links", "mean weight"], rows))}

    return build_table(context, adnet, lambda con: build_links(con, weights, billing), LINKS,
                       preview_columns=["kind", "a", "b", "weight", "evidence"], order_by="weight DESC, kind, a, b",
                       extra=by_kind, checks=LINKS_CHECKS)
