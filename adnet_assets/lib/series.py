"""Series groups: numbers of one country that lie close together in their number series.

Numbers bought together (a batch of prepaid SIMs) lie next to each other in the number series.
That is evidence of one buyer only where close numbers are rare by chance, and they are not rare
everywhere: recent sales crowd into a few busy blocks of 10,000 numbers, where unrelated ad
numbers sit a few numbers apart. So every group carries a strength from a chance model.

**Groups.** Per country and per 10,000-block (``block`` = the E.164 number without its last four
digits, "+474123"), seen numbers are sorted by their national significant number; a group is a
maximal chain in which consecutive numbers differ by at most ``max_gap``. Everything is window
functions over the sorted numbers of a block (LAG to find the chain breaks, a running sum to
number the chains, RANGE frames to count the neighbourhood): no pair of numbers is ever compared
outside its block, and no Python loop runs over rows.

**Chance model.** For a group of ``n`` numbers spanning ``s`` (last minus first, at least 1) in a
block where ``k`` numbers are seen:

* background density: the block's seen numbers within ``neighbourhood`` of the group's ends that
  are not in runs of three or more (a network's other runs are not chance neighbours), per number
  of series, floored at one number per block;
* clumping: near busy ranges SIMs are sold one after another to whoever walks in, so unrelated
  ad numbers come in clumps and independent placement understates chance neighbours. The
  density is multiplied by a factor rising from 1 at ``quiet_density`` to ``busy_clumping`` at
  ``busy_density``;
* ``expected_by_chance`` = ``k · P(Poisson(density · s) ≥ n-1)``: each of the ``k`` numbers of
  the block is a chance to start a group of at least ``n`` numbers within ``s``. For a pair in
  an evenly filled block this is about (k choose 2)·(2s/N), the textbook figure.

``strength`` is 'strong' for groups of three or more with ``expected_by_chance <
max_expected_strong``. A pair is strong only when ``span <= max_span_strong_pair`` and fewer than
``max_expected_strong_pair`` pairs that tight are expected by chance across the country: its
``expected_by_chance`` times the country's blocks with two numbers or more (chance pairs are
everywhere, and a pair is the least a series can show). Everything else is 'weak'.

**Cutting chains.** Chaining can join two batches of different buyers through one gap. A chain
of four or more is cut at its weakest link (both sides two numbers or more) when a chance
neighbour that close, at the density of all numbers around it, is at least ``1/split_odds``
as likely as a gap that wide inside one batch (exponential gaps with the group's other gaps'
mean); repeated until no link qualifies. The reason of a cut group says so.

**Corroboration.** ``corroborate`` makes a weak group strong when other evidence (numbers shown on
one ad: ``rotation_links``; numbers registered to one owner: ``directory_matches``) joins *all* of
its numbers, and says so in ``reason``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import pandas as pd
import phonenumbers

from adnet_assets.lib.store import replace_table, table_exists
from adnet_assets.schema import SERIES_GROUPS

BLOCK_DIGITS = 4
BLOCK_SIZE = 10 ** BLOCK_DIGITS


@dataclass(frozen=True)
class SeriesParams:
    """How close is close, and how unlikely by chance a group must be to count as strong.

    max_gap 10: batches in the published case were consecutive or a few numbers apart; 10 lets
    several numbers of a batch never show in an ad and still keeps the chain, while near a busy
    range (one ad number per ~80) a gap of 10 happens by chance one time in eight, so chains of
    chance neighbours stay short. 20 doubles every link's chance: on the demo markets it forms
    chance chains of five or six unrelated numbers in busy blocks and made some strong (seed 5).

    neighbourhood 500: density is measured within 500 numbers either side of the group, wide
    enough to count a dozen numbers in a busy range (a stable estimate), narrow enough that a
    batch bought in the quiet part of a busy block is judged by its quiet surroundings.

    quiet_density 1/1000, busy_density 1/200, busy_clumping 4: where other ad numbers are seen
    at least once per 200 numbers, operators are selling now, SIMs go out in sequence, and people
    who buy at the same kiosk in the same week hold neighbouring numbers without knowing each
    other. The data cannot measure that clumping (it looks like a batch), so there the model
    counts chance neighbours four times as often as independent placement says, less in thinner
    ranges, not at all at one other number per 1,000 or fewer. With it, runs of three to five
    unrelated numbers in busy ranges stay weak on every demo market tried (without it, up to
    three such runs per market were strong), while real batches of five or more still stand out.

    split_odds 1 and min_batch_gap 2: cut a chain where chance explains a gap at least as well
    as one batch does (even odds: a false link costs more than a missed one, and the two parts
    keep their own strength). Batch gaps are taken as at least 2 on average, because a batch
    with a few numbers unseen in ads has wider gaps than its shown numbers suggest.

    max_expected_strong 0.05: a group of three or more is strong when fewer than one group in
    twenty that tight is expected by chance in its block.

    max_expected_strong_pair 0.05 (across the country) and max_span_strong_pair 2: a pair is the
    least a series can show, and with hundreds of thinly filled blocks a country always holds
    some chance pairs; judged per block, adjacent pairs of unrelated people in quiet blocks came
    out strong on the four-times-larger demo market (four of them). Counting every block with two
    or more numbers as a place where such a pair could have turned up, a pair alone is strong
    only in a thin market (or country), adjacent or one apart in an empty stretch of series;
    anything else needs other evidence (``corroborate``).

    corroborate True: run ``corroborate`` at the end of the build, so other evidence already in
    the database is taken into account.
    """

    max_gap: int = 10
    neighbourhood: int = 500
    quiet_density: float = 1 / 1000
    busy_density: float = 1 / 200
    busy_clumping: float = 4.0
    split_odds: float = 1.0
    min_batch_gap: float = 2.0
    max_split_passes: int = 20
    max_expected_strong: float = 0.05
    max_expected_strong_pair: float = 0.05
    max_span_strong_pair: int = 2
    corroborate: bool = True

    def __post_init__(self):
        if not 1 <= self.max_gap < BLOCK_SIZE:
            raise ValueError(f"max_gap must be between 1 and {BLOCK_SIZE - 1}")
        if self.neighbourhood < 1 or self.busy_clumping < 1 or not 0 <= self.quiet_density < self.busy_density:
            raise ValueError("neighbourhood >= 1, busy_clumping >= 1 and 0 <= quiet_density < busy_density please")
        if self.min_batch_gap < 1 or self.split_odds < 0 or self.max_split_passes < 0:
            raise ValueError("min_batch_gap >= 1, split_odds >= 0 and max_split_passes >= 0 please")


@dataclass(frozen=True)
class SeriesReport:
    """What the build found, for the asset's metadata and the README's figures."""

    n_groups: int
    n_strong: int
    n_weak: int
    n_phones: int  # rows written: phones in groups
    n_strong_by_density: int
    n_corroborated: int  # weak by density, made strong by other evidence
    expected_chance_groups: float  # groups of >=2 expected by chance over all blocks (even spread)
    n_blocks: int  # blocks with at least one seen number
    n_skipped: int  # phones with no country or a number not of that country's calling code
    n_cuts: int = 0  # chains cut at a link no better than chance




def _calling_codes(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Country calling code of each distinct region in ``phones`` (phonenumbers, distinct regions only)."""
    regions = [r for (r,) in con.execute("SELECT DISTINCT country FROM phones WHERE country IS NOT NULL").fetchall()]
    rows = [(r, str(phonenumbers.country_code_for_region(r))) for r in regions]
    return pd.DataFrame([x for x in rows if x[1] != "0"], columns=["region", "cc"]).astype(str)


_POISSON_TAIL = """
    CREATE OR REPLACE TEMP MACRO adnet_poisson_tail(mu, j) AS
    CASE WHEN j <= 0 THEN 1.0
         WHEN mu <= 0 THEN 0.0
         WHEN mu >= j THEN 1.0 - list_sum(list_transform(range(0, j), lambda i: exp(-mu + i * ln(mu) - lgamma(i + 1))))
         ELSE list_sum(list_transform(range(j, j + 200), lambda i: exp(-mu + i * ln(mu) - lgamma(i + 1)))) END
"""


def _numbers_sql() -> str:
    """Every phone whose country is known and whose number carries that country's calling code.

    ``block``: the E.164 number without its last four digits; ``nsn``: the national significant
    number (E.164 without the calling code) as an integer, the order of the series.
    """
    return f"""
        SELECT p.phone, p.country, left(p.phone, length(p.phone) - {BLOCK_DIGITS}) AS block,
               CAST(substr(p.phone, 2 + length(c.cc)) AS BIGINT) AS nsn
        FROM (SELECT DISTINCT phone, country FROM phones WHERE phone IS NOT NULL AND country IS NOT NULL) p
        JOIN adnet_calling_codes c ON c.region = p.country
        WHERE regexp_full_match(p.phone, '\\+[0-9]{{7,15}}') AND starts_with(p.phone, '+' || c.cc)
              AND length(p.phone) - 1 - length(c.cc) > {BLOCK_DIGITS}
    """


def _nums_table_sql(p: SeriesParams) -> str:
    """The numbers of every block in series order, with chain breaks and neighbourhood counts.

    ``n_before``/``n_after``: all seen numbers within ``neighbourhood`` below/above (for cutting
    chains); ``bg_before``/``bg_after``: only background numbers, i.e. not in a chain of three or
    more (for the chance of a group: a network's other runs in the block are not chance
    neighbours and must not make its runs look crowded).
    """
    g, w = int(p.max_gap), int(p.neighbourhood)
    below = f"RANGE BETWEEN {w} PRECEDING AND 1 PRECEDING"
    above = f"RANGE BETWEEN 1 FOLLOWING AND {w} FOLLOWING"
    return f"""
        CREATE OR REPLACE TEMP TABLE adnet_series_nums AS
        SELECT phone, country, block, nsn, block_seen, gap_prev, brk, false AS cut,
               count(*) OVER (blk {below}) AS n_before, count(*) OVER (blk {above}) AS n_after,
               count(*) FILTER (NOT in_run) OVER (blk {below}) AS bg_before,
               count(*) FILTER (NOT in_run) OVER (blk {above}) AS bg_after
        FROM (
            SELECT *, count(*) OVER (PARTITION BY country, block, chain_no) >= 3 AS in_run
            FROM (
                SELECT *, sum(brk::INT) OVER (PARTITION BY country, block ORDER BY nsn ROWS UNBOUNDED PRECEDING) AS chain_no
                FROM (
                    SELECT *, count(*) OVER (PARTITION BY country, block) AS block_seen,
                           nsn - lag(nsn) OVER (PARTITION BY country, block ORDER BY nsn) AS gap_prev,
                           coalesce(nsn - lag(nsn) OVER (PARTITION BY country, block ORDER BY nsn) > {g}, true) AS brk
                    FROM ({_numbers_sql()}))))
        WINDOW blk AS (PARTITION BY country, block ORDER BY nsn)
    """


def _ramp_sql(p: SeriesParams, density: str) -> str:
    """Clumping factor: 1 at or below ``quiet_density``, ``busy_clumping`` at or above ``busy_density``."""
    quiet, busy = float(p.quiet_density), float(p.busy_density)
    return (f"(1 + {float(p.busy_clumping) - 1.0} * "
            f"least(1.0, greatest(0.0, ({density} - {quiet}) / {busy - quiet})))")


def _rows_sql(p: SeriesParams) -> str:
    """Each number with its group (chains between breaks) and the group's density figures.

    ``chance_density``: background numbers per number of series around the group (at least one
    per block), times the clumping of the range: the rate of chance neighbours for its strength.
    ``link_density``: the same from all numbers around it, for cutting chains.
    """
    w = int(p.neighbourhood)
    return f"""
        WITH numbered AS (
            SELECT *, sum(brk::INT) OVER (PARTITION BY country, block ORDER BY nsn ROWS UNBOUNDED PRECEDING) AS group_no,
                   lead(cut) OVER (PARTITION BY country, block ORDER BY nsn) AS cut_next,
                   lead(gap_prev) OVER (PARTITION BY country, block ORDER BY nsn) AS gap_next
            FROM adnet_series_nums
        ), grouped AS (
            SELECT *, count(*) OVER grp AS n_in_group,
                   row_number() OVER grp_ordered AS idx,
                   max(nsn) OVER grp - min(nsn) OVER grp AS span,
                   first_value(phone) OVER grp_ordered AS first_phone, last_value(phone) OVER grp_ordered AS last_phone,
                   first_value(n_before) OVER grp_ordered + last_value(n_after) OVER grp_ordered AS n_around,
                   first_value(bg_before) OVER grp_ordered + last_value(bg_after) OVER grp_ordered AS bg_around,
                   first_value(CASE WHEN cut THEN gap_prev END) OVER grp_ordered AS cut_below,
                   last_value(CASE WHEN cut_next THEN gap_next END) OVER grp_ordered AS cut_above
            FROM numbered
            WINDOW grp AS (PARTITION BY country, block, group_no),
                   grp_ordered AS (PARTITION BY country, block, group_no ORDER BY nsn
                                   ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
        ), dens AS (
            SELECT *, bg_around / ({2 * w} + span) AS bg_density, n_around / ({2 * w} + span) AS all_density
            FROM grouped
        )
        SELECT *, {_ramp_sql(p, 'bg_density')} AS clumping,
               greatest(bg_density, {1.0 / BLOCK_SIZE}) * {_ramp_sql(p, 'bg_density')} AS chance_density,
               greatest(all_density, {1.0 / BLOCK_SIZE}) * {_ramp_sql(p, 'all_density')} AS link_density
        FROM dens
    """


def _split_pass_sql(p: SeriesParams) -> str:
    """Cut each group at its one weakest link, where a chance neighbour explains the gap as well as a batch.

    Only a link between two parts of at least two numbers each is tested. Batch: the group's
    other gaps, mean g (at least ``min_batch_gap``), gaps roughly exponential: (1/g) e^(-d/g).
    Chance: the part above starts at the first other number after the part below, at the
    range's chance density c: c e^(-c d). Cut when batch/chance < ``split_odds``.
    """
    return f"""
        UPDATE adnet_series_nums n SET brk = true, cut = true
        FROM (
            SELECT arg_min(phone, log_odds) AS phone
            FROM (
                SELECT *, -ln(gbar) - gap_prev / gbar - ln(link_density) + link_density * gap_prev AS log_odds
                FROM (SELECT *, greatest((span - gap_prev) / (n_in_group - 2), {float(p.min_batch_gap)}) AS gbar
                      FROM ({_rows_sql(p)})
                      WHERE NOT brk AND n_in_group >= 4 AND idx >= 3 AND n_in_group - idx + 1 >= 2))
            GROUP BY country, block, group_no
            HAVING min(log_odds) < ln({float(p.split_odds)})
        ) c
        WHERE n.phone = c.phone
    """


def _groups_sql(p: SeriesParams) -> str:
    w = int(p.neighbourhood)
    return f"""
    WITH rows AS (SELECT * FROM ({_rows_sql(p)}) WHERE n_in_group >= 2),
    pair_blocks AS (
        SELECT country, count(DISTINCT block) AS pair_blocks FROM adnet_series_nums WHERE block_seen >= 2 GROUP BY country
    ),
    scored AS (
        SELECT *, expected_by_chance * pair_blocks AS country_expected
        FROM (SELECT *, block_seen * adnet_poisson_tail(chance_density * greatest(span, 1), n_in_group - 1) AS expected_by_chance
              FROM rows) JOIN pair_blocks USING (country)
    ),
    judged AS (
        SELECT *,
               CASE WHEN n_in_group >= 3 AND expected_by_chance < {float(p.max_expected_strong)} THEN 'strong'
                    WHEN n_in_group = 2 AND country_expected < {float(p.max_expected_strong_pair)}
                         AND span <= {int(p.max_span_strong_pair)} THEN 'strong'
                    ELSE 'weak' END AS strength
        FROM scored
    )
    SELECT 'S-' || country || '-' || first_phone AS group_id, phone, country, block,
           n_in_group, span, block_seen, expected_by_chance, strength,
           strength || ': ' ||
           CASE WHEN n_in_group = 2 THEN 'a pair ' || span || ' apart'
                ELSE n_in_group || ' numbers within ' || span END
           || ' (' || first_phone || ' to ' || last_phone || '); '
           || {_expected_words('expected_by_chance', 'block', 'block_seen')}
           || ', ' || bg_around || ' other number(s) within {w} of the group that are not in runs of three'
           || CASE WHEN clumping > 1.05 THEN '; near a busy range, where numbers sold one after another go to '
                   || 'unrelated buyers, so chance neighbours are counted ' || printf('%.1f', clumping) || ' times as often'
                   ELSE '' END
           || CASE WHEN cut_below IS NOT NULL OR cut_above IS NOT NULL THEN
                   '; cut from its neighbours at a gap of '
                   || concat_ws(' and ', CAST(cut_below AS VARCHAR), CAST(cut_above AS VARCHAR))
                   || ', where a chance neighbour is as likely as a gap that wide in one batch' ELSE '' END
           || CASE WHEN n_in_group = 2 THEN '; ' || printf('%.2g', country_expected) || ' pair(s) this tight expected across the '
                   || pair_blocks || ' block(s) of ' || country || ' with two numbers or more' ELSE '' END
           || CASE WHEN strength = 'strong' THEN ''
                   WHEN n_in_group = 2 THEN '; a pair alone needs under {p.max_expected_strong_pair:g} there and a span of at most '
                                            || {int(p.max_span_strong_pair)} || ': needs other evidence'
                   ELSE '; strong needs under {p.max_expected_strong:g}: needs other evidence' END
           AS reason
    FROM judged
    """


def _expected_words(e: str, block: str, seen: str) -> str:
    return (f"printf('%.2g', {e}) || ' group(s) this tight expected by chance in ' || {block} || "
            f"' (' || {seen} || ' number(s) seen in the block)'")


def _expected_chance_groups_sql(p: SeriesParams) -> str:
    """Groups of two or more expected by chance over all blocks, each block's numbers spread evenly.

    With k numbers in a block of N, a gap is at most g with probability q = 1 - exp(-g(k+1)/N); a
    group starts at the first gap when it is close, and at any later gap that is close after one
    that is not: q + (k - 2) q (1 - q).
    """
    return f"""
        SELECT coalesce(sum(q + (k - 2) * q * (1 - q)), 0) FROM (
            SELECT k, 1 - exp(-{int(p.max_gap)} * (k + 1) / {BLOCK_SIZE}) AS q
            FROM (SELECT count(*) AS k FROM adnet_series_nums GROUP BY country, block) WHERE k >= 2)
    """


def build_series_groups(con: duckdb.DuckDBPyConnection, params: SeriesParams = SeriesParams(), *,
                        log: Callable[[str], None] | None = None) -> SeriesReport:
    """Rebuild ``series_groups`` from ``phones`` (and corroborate, when ``params.corroborate``)."""
    codes = _calling_codes(con)
    con.register("adnet_calling_codes_df", codes)
    con.execute("CREATE OR REPLACE TEMP TABLE adnet_calling_codes AS SELECT region, cc FROM adnet_calling_codes_df")
    con.unregister("adnet_calling_codes_df")
    con.execute(_POISSON_TAIL)
    try:
        con.execute(_nums_table_sql(params))
        n_cuts = 0
        for _ in range(params.max_split_passes):
            cut = con.execute(_split_pass_sql(params)).fetchall()[0][0]
            n_cuts += cut
            if not cut:
                break
        n_rows = replace_table(con, SERIES_GROUPS, _groups_sql(params) + " ORDER BY country, block, group_id, phone")
        n_all = con.execute("SELECT count(DISTINCT phone) FROM phones WHERE phone IS NOT NULL").fetchall()[0][0]
        n_used, n_blocks = con.execute(
            "SELECT count(*), count(DISTINCT (country, block)) FROM adnet_series_nums").fetchall()[0]
        expected = float(con.execute(_expected_chance_groups_sql(params)).fetchall()[0][0])
    finally:
        con.execute("DROP TABLE IF EXISTS adnet_calling_codes")
        con.execute("DROP TABLE IF EXISTS adnet_series_nums")
    n_strong_density = con.execute(
        "SELECT count(DISTINCT group_id) FROM series_groups WHERE strength = 'strong'").fetchall()[0][0]
    n_corroborated = corroborate(con) if params.corroborate else 0
    n_groups, n_strong = con.execute(
        "SELECT count(DISTINCT group_id), count(DISTINCT group_id) FILTER (strength = 'strong') FROM series_groups"
    ).fetchall()[0]
    report = SeriesReport(n_groups=n_groups, n_strong=n_strong, n_weak=n_groups - n_strong, n_phones=n_rows,
                          n_strong_by_density=n_strong_density, n_corroborated=n_corroborated,
                          expected_chance_groups=expected, n_blocks=n_blocks, n_skipped=n_all - n_used,
                          n_cuts=n_cuts)
    if log is not None:
        log(f"series groups: {n_groups} ({n_strong} strong, {n_corroborated} of them by other evidence), "
            f"{expected:.1f} groups expected by chance over {n_blocks} blocks; {n_all - n_used} phone(s) skipped")
    return report


def _evidence_edges_sql(con: duckdb.DuckDBPyConnection) -> str | None:
    """Pairs of phones joined by other evidence, with the words for it: (phone_a, phone_b, why)."""
    parts = []
    if table_exists(con, "rotation_links"):
        parts.append("""
            SELECT least(phone_a, phone_b) AS phone_a, greatest(phone_a, phone_b) AS phone_b,
                   'on ad ' || ad_key AS why
            FROM rotation_links WHERE phone_a IS NOT NULL AND phone_b IS NOT NULL AND phone_a <> phone_b""")
    if table_exists(con, "directory_matches"):
        # only phones in series groups: an owner with many phones stays a small join
        parts.append("""
            SELECT a.phone AS phone_a, b.phone AS phone_b, 'registered to owner ' || a.owner_id AS why
            FROM (SELECT DISTINCT phone, owner_id FROM directory_matches
                  WHERE owner_id IS NOT NULL AND phone IN (SELECT phone FROM series_groups)) a
            JOIN (SELECT DISTINCT phone, owner_id FROM directory_matches
                  WHERE owner_id IS NOT NULL AND phone IN (SELECT phone FROM series_groups)) b
              ON a.owner_id = b.owner_id AND a.phone < b.phone""")
    return " UNION ALL ".join(parts) if parts else None


def corroborate(con: duckdb.DuckDBPyConnection) -> int:
    """Make weak groups strong where other evidence joins all their numbers; returns groups upgraded.

    Other evidence is two numbers shown on one ad (``rotation_links``) or registered to one owner
    (``directory_matches``); a missing table adds nothing. A group is upgraded only when those
    links, within the group, connect every one of its numbers: a chance group in a busy range
    that holds one rotating pair must not tie the pair to its unrelated neighbours. Partly joined
    groups stay weak and their reason says which numbers are joined. Strong groups whose numbers
    are joined too get the evidence added to their reason.
    """
    if not table_exists(con, "series_groups"):
        return 0
    edges_sql = _evidence_edges_sql(con)
    if edges_sql is None:
        return 0
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE adnet_series_edges AS
        SELECT e.phone_a, e.phone_b, ga.group_id,
               string_agg(DISTINCT e.why, ', ' ORDER BY e.why) AS why
        FROM ({edges_sql}) e
        JOIN series_groups ga ON ga.phone = e.phone_a
        JOIN series_groups gb ON gb.phone = e.phone_b AND gb.group_id = ga.group_id
        GROUP BY ALL
    """)
    try:
        # connected parts of each group's evidence graph: every number takes the smallest number it reaches
        con.execute("""
            CREATE OR REPLACE TEMP TABLE adnet_series_parts AS
            WITH RECURSIVE und AS (
                SELECT group_id, phone_a AS x, phone_b AS y FROM adnet_series_edges
                UNION SELECT group_id, phone_b, phone_a FROM adnet_series_edges
            ), reach(group_id, phone, root) AS (
                SELECT group_id, phone, phone FROM series_groups WHERE group_id IN (SELECT group_id FROM adnet_series_edges)
                UNION
                SELECT r.group_id, r.phone, u.y FROM reach r JOIN und u ON u.group_id = r.group_id AND u.x = r.root
            )
            SELECT group_id, phone, min(root) AS root FROM reach GROUP BY group_id, phone
        """)
        con.execute("""
            CREATE OR REPLACE TEMP TABLE adnet_series_verdict AS
            SELECT p.group_id, count(DISTINCT p.root) = 1 AS joined_all,
                   (SELECT string_agg(e.phone_a || ' and ' || e.phone_b || ' ' || e.why, '; ' ORDER BY e.phone_a, e.phone_b)
                    FROM adnet_series_edges e WHERE e.group_id = p.group_id) AS evidence,
                   (SELECT count(*) FROM (SELECT phone_a FROM adnet_series_edges e WHERE e.group_id = p.group_id
                                          UNION SELECT phone_b FROM adnet_series_edges e WHERE e.group_id = p.group_id)) AS n_joined
            FROM adnet_series_parts p GROUP BY p.group_id
        """)
        n_up = con.execute("""
            SELECT count(*) FROM adnet_series_verdict v
            WHERE joined_all AND v.group_id IN (SELECT group_id FROM series_groups WHERE strength = 'weak')
        """).fetchall()[0][0]
        con.execute("""
            UPDATE series_groups s SET
                strength = CASE WHEN v.joined_all THEN 'strong' ELSE s.strength END,
                reason = CASE
                    WHEN v.joined_all AND s.strength = 'weak' THEN
                        'strong (corroborated): weak by density (' || printf('%.2g', s.expected_by_chance)
                        || ' group(s) this tight expected by chance in ' || s.block || ', ' || s.block_seen
                        || ' number(s) seen) but ' || CASE WHEN s.n_in_group = 2 THEN 'both' ELSE 'all ' || s.n_in_group END
                        || ' joined by other evidence: ' || v.evidence || '. Density alone said: ' || s.reason
                    WHEN v.joined_all THEN s.reason || '; also joined by other evidence: ' || v.evidence
                    WHEN s.strength = 'strong' THEN s.reason || '; ' || v.n_joined || ' of its ' || s.n_in_group
                         || ' numbers also joined by other evidence (' || v.evidence || ')'
                    ELSE s.reason || '; ' || v.n_joined || ' of its ' || s.n_in_group
                         || ' numbers are joined by other evidence (' || v.evidence || '), not enough to tie in the others'
                END
            FROM adnet_series_verdict v WHERE v.group_id = s.group_id
        """)
    finally:
        for t in ("adnet_series_edges", "adnet_series_parts", "adnet_series_verdict"):
            con.execute(f"DROP TABLE IF EXISTS {t}")
    return n_up
