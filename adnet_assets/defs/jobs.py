"""The one job: a window's snapshots and everything downstream of them, in one run."""

import dagster as dg

# Partitioned ingest plus every unpartitioned asset downstream: a new snapshot reaches the end of
# the pipeline in the same run (no eager automation that a never-materialised window could block).
adnet_job = dg.define_asset_job(
    "adnet_job",
    selection=dg.AssetSelection.all(),
    description="Ingest the selected window(s) of snapshots and rebuild every table and export downstream.",
)
