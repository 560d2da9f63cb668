"""The one job: a window's snapshots and everything downstream of them, in one run."""

import dagster as dg

# Partitioned ingest plus every unpartitioned asset downstream: a new snapshot reaches the end of
# the pipeline in the same run (no eager automation that a never-materialised window could block).
# The shared (pseudonymised) exports are left out: they need ADNET_PSEUDONYM_KEY, and a delivery to
# partners is a decision (`adnet share`), not a side effect of every run.
adnet_job = dg.define_asset_job(
    "adnet_job",
    selection=dg.AssetSelection.all() - dg.AssetSelection.assets("shared_exports"),
    description="Ingest the selected window(s) of snapshots and rebuild every table and export downstream "
                "(not the shared exports: `adnet share`).",
)
