"""Articles of the demo site, written for storytrail, and how each changes from round to round.

Round 0 is the first publication. Later rounds rewrite a headline, add a paragraph, change a
number, append a correction, delete one article (tombstone) and restore another, and flip a
headline back (revert). ``article(slug, round)`` returns None while an article is deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

ROUNDS = 5
SITE = "The Daily Ledger (demo)"


@dataclass(frozen=True)
class Article:
    slug: str
    date: str  # ISO date of publication
    title: str
    byline: str
    summary: str
    paragraphs: tuple[str, ...]
    section: str = "world"
    modified: str | None = None


RESIDENCE = Article(
    slug="2025/12/29/russia-says-drones-targeted-putin-residence",
    date="2025-12-29T18:40:00+00:00",
    title="Russia says Ukraine fired 91 drones at Putin's Valdai residence",
    byline="Marta Kowalczyk",
    summary="Moscow says air defences downed 91 drones over the Novgorod region overnight; Kyiv denies it.",
    paragraphs=(
        "Russia's foreign minister said on Monday that Ukraine had launched 91 long-range drones at "
        "President Vladimir Putin's state residence near Valdai in the Tver region overnight.",
        "According to the Russian defence ministry, all of the drones were intercepted by air defence "
        "systems and no one was hurt. No images of debris or damage were released.",
        "The claim came as negotiators from Washington, Moscow and Kyiv prepared for another round of "
        "talks on ending the war.",
    ),
)

KREMLIN = Article(
    slug="2025/12/30/kremlin-to-revise-stance-in-peace-talks",
    date="2025-12-30T09:15:00+00:00",
    title="Kremlin says it will revise its stance in peace talks after alleged drone attack",
    byline="Daniel Okafor",
    summary="Peskov says Russia's negotiating position will be reviewed after the alleged attack on the "
    "Valdai residence.",
    paragraphs=(
        'Kremlin spokesman Dmitry Peskov said on Tuesday that Russia would "revise its stance" in peace '
        "negotiations following what Moscow describes as a drone attack on President Putin's residence.",
        "Peskov did not say what would change. He repeated the defence ministry's figure of 91 drones.",
        "Ukrainian officials have called the account a fabrication intended to derail the talks.",
    ),
)

TRUMP = Article(
    slug="2025/12/31/trump-on-valdai-drone-claim",
    date="2025-12-31T14:05:00+00:00",
    title="Trump sides with Putin over Valdai drone claim",
    byline="Sarah Lindqvist",
    summary="The US president said he believed the Russian leader's account of the alleged attack.",
    paragraphs=(
        "President Donald Trump said on Wednesday that he had spoken with Vladimir Putin and believed "
        "the Russian leader's account of a drone attack on his residence.",
        "Ukraine's foreign ministry said no such attack took place and accused Moscow of seeking a "
        "pretext to harden its position.",
    ),
)

SATELLITE = Article(
    slug="2026/01/01/satellite-images-valdai-residence",
    date="2026-01-01T11:30:00+00:00",
    title="Satellite images show no damage at Valdai residence",
    byline="Open Source Desk",
    summary="Commercial satellite images taken on 30 December show no visible damage at the Valdai compound.",
    paragraphs=(
        "Commercial satellite images of the Valdai compound taken on 30 December show no craters, "
        "scorch marks or damaged buildings.",
        "Analysts cautioned that intercepted drones could fall far from their target and that the "
        "images cannot settle the question on their own.",
    ),
)

DENIAL = Article(
    slug="2026/01/02/ukraine-denies-valdai-attack",
    date="2026-01-02T08:00:00+00:00",
    title="Ukraine denies attacking Putin's residence, calls claim a fabrication",
    byline="Olena Marchenko",
    summary="Kyiv says the Valdai drone claim is invented and asks partners not to believe it.",
    paragraphs=(
        "Ukraine's foreign minister said on Friday that Kyiv had not attacked the Valdai residence and "
        "called the Russian claim a fabrication.",
        "He urged partners to look at the absence of any evidence and said Moscow was preparing the ground "
        "to walk away from the talks.",
    ),
)

UNRELATED = Article(
    slug="2026/01/02/kyiv-winter-power-cuts",
    date="2026-01-02T10:20:00+00:00",
    title="Kyiv schedules rolling power cuts as cold snap deepens",
    byline="Olena Marchenko",
    summary="The city's grid operator announced four-hour outages by district for the coming week.",
    paragraphs=(
        "Kyiv's grid operator said on Friday that households would face rolling four-hour outages as "
        "temperatures fell below minus 15 degrees.",
        "Hospitals and water pumping stations are exempt from the schedule.",
    ),
    section="europe",
)

ALL = (RESIDENCE, KREMLIN, TRUMP, SATELLITE, DENIAL, UNRELATED)
STORY_SLUG = "valdai-residence-claim"
STORY_TITLE = "Alleged drone attack on Putin's Valdai residence"
STORY_QUERY = "(Putin OR Kremlin OR Valdai) AND (residence OR Valdai OR Novgorod OR drone*)"


def _residence(r: int) -> Article:
    a = RESIDENCE
    if r >= 1:
        a = replace(
            a,
            title="Russia claims 91-drone attack on Putin residence; Kyiv calls it a fabrication",
            modified="2025-12-30T07:00:00+00:00",
        )
    if r >= 2:
        fixed = a.paragraphs[0].replace("in the Tver region", "in the Novgorod region")
        a = replace(
            a,
            paragraphs=(
                fixed,
                *a.paragraphs[1:],
                "Correction: An earlier version of this article said the Valdai residence is "
                "in the Tver region. It is in the Novgorod region.",
            ),
            modified="2025-12-30T16:45:00+00:00",
        )
    return a


def _kremlin(r: int) -> Article:
    a = KREMLIN
    if r >= 1:
        a = replace(
            a,
            paragraphs=(
                *a.paragraphs,
                "European officials said they had seen no evidence of an attack and asked "
                "Moscow to share what it had.",
            ),
            modified="2025-12-30T13:10:00+00:00",
        )
    if r >= 2:
        second = (
            "Peskov did not say what would change. He cited a revised defence ministry figure of 89 drones."
        )
        a = replace(
            a, paragraphs=(a.paragraphs[0], second, *a.paragraphs[2:]), modified="2025-12-31T09:00:00+00:00"
        )
    return a


def _trump(r: int) -> Article:
    if r == 2:
        return replace(
            TRUMP,
            title="Trump now says it is 'possible' the Valdai attack never happened",
            modified="2026-01-01T19:30:00+00:00",
        )
    return TRUMP


def article(slug: str, r: int) -> Article | None:
    """The article as published in round ``r`` (None while it is deleted)."""
    if slug == SATELLITE.slug and r in (1, 2):
        return None  # deleted, tombstoned on the second miss, restored in round 3
    if slug == DENIAL.slug and r >= 3:
        return None  # deleted for good: tombstoned in round 4
    base = {RESIDENCE.slug: _residence, KREMLIN.slug: _kremlin, TRUMP.slug: _trump}.get(slug)
    if base is not None:
        return base(r)
    return next((a for a in ALL if a.slug == slug), None)


ROUND_NOTES = (
    "first publication of five articles about the claim and one unrelated article",
    "headline rewritten (residence), paragraph added (Kremlin), satellite article deleted",
    "correction appended (residence), number changed 91 -> 89 (Kremlin), Trump headline changed, "
    "satellite article still gone (tombstone)",
    "Trump headline back to the original (revert), satellite article restored, denial article deleted",
    "denial article still gone (tombstone); nothing else changes (unchanged / HTTP 304)",
)
