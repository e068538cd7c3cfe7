"""The re-check policy: properties (hypothesis), the documented defaults, durations, errors."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scraper.core.recheck import (
    DEFAULT_POLICY,
    DURATION_FORMS,
    DurationError,
    Policy,
    PolicyError,
    RecheckState,
    StateError,
    clamp,
    default_table,
    format_duration,
    next_check,
    parse_duration,
    policy_with_overrides,
    table_markdown,
)

DOC = Path(__file__).resolve().parent.parent / "docs" / "recheck-policy.md"
T0 = datetime(2025, 12, 29, 18, 0, tzinfo=UTC)
MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)

# --------------------------------------------------------------------------------------------
# strategies

# short spans often (where the tiers are), long ones too (past the horizon)
spans = st.one_of(
    st.timedeltas(min_value=timedelta(), max_value=timedelta(hours=6)),
    st.timedeltas(min_value=timedelta(), max_value=timedelta(days=10)),
    st.timedeltas(min_value=timedelta(), max_value=timedelta(days=120)),
)
counts = st.integers(min_value=0, max_value=10_000)


def seconds(n: int) -> timedelta:
    return timedelta(seconds=n)


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    n = draw(st.integers(min_value=1, max_value=6))
    ages = sorted(draw(st.sets(st.integers(min_value=60, max_value=90 * 86400), min_size=n, max_size=n)))
    intervals = sorted(draw(st.lists(st.integers(min_value=1, max_value=7 * 86400), min_size=n, max_size=n)))
    low = draw(st.integers(min_value=1, max_value=86400))
    high = draw(st.integers(min_value=low, max_value=30 * 86400))
    return Policy(
        tiers=tuple(
            (timedelta(seconds=a), timedelta(seconds=i)) for a, i in zip(ages, intervals, strict=True)
        ),
        min_interval=timedelta(seconds=low),
        max_interval=timedelta(seconds=high),
        horizon=timedelta(seconds=draw(st.integers(min_value=1, max_value=90 * 86400))),
        backoff=draw(st.floats(min_value=1, max_value=4)),
        max_backoff=draw(st.floats(min_value=1, max_value=16)),
    )


any_policy = st.one_of(st.just(DEFAULT_POLICY), policies())


def state(changed_after: timedelta, unchanged: int) -> RecheckState:
    return RecheckState(first_seen=T0, last_changed=T0 + changed_after, unchanged_checks=unchanged)


# --------------------------------------------------------------------------------------------
# properties


@given(any_policy, spans, spans, counts)
def test_interval_is_positive_within_bounds_and_sets_next_check(policy, changed_after, quiet, unchanged):
    now = T0 + changed_after + quiet
    decision = next_check(policy, state(changed_after, unchanged), now)
    if decision.retired:
        assert decision.next_check is None and decision.interval is None
        return
    assert decision.interval is not None and decision.interval > timedelta()
    assert policy.min_interval <= decision.interval <= policy.max_interval
    assert decision.next_check == now + decision.interval


@given(any_policy, spans, spans, spans, counts)
def test_interval_never_shrinks_as_time_passes_without_change(policy, changed_after, quiet, later, unchanged):
    s = state(changed_after, unchanged)
    earlier = next_check(policy, s, T0 + changed_after + quiet)
    after = next_check(policy, s, T0 + changed_after + quiet + later)
    if not after.retired:
        assert earlier.interval is not None and after.interval is not None
        assert earlier.interval <= after.interval


@given(any_policy, spans, spans, counts, counts)
def test_interval_never_shrinks_with_more_unchanged_checks(policy, changed_after, quiet, n, extra):
    now = T0 + changed_after + quiet
    fewer = next_check(policy, state(changed_after, n), now)
    more = next_check(policy, state(changed_after, n + extra), now)
    assert fewer.retired == more.retired
    if not fewer.retired:
        assert fewer.interval is not None and more.interval is not None
        assert fewer.interval <= more.interval


@given(any_policy, spans)
def test_a_change_now_resets_to_the_base_interval_of_the_youngest_tier(policy, age):
    now = T0 + age
    decision = next_check(policy, RecheckState(T0, now, 0), now)
    if age <= policy.horizon:
        assert decision.interval == clamp(policy, policy.tiers[0][1])
    else:
        assert decision.retired


@given(any_policy, spans, counts)
def test_retired_exactly_past_the_horizon(policy, age, unchanged):
    s = RecheckState(T0, T0, unchanged)
    assert next_check(policy, s, T0 + age).retired == (age > policy.horizon)
    assert not next_check(policy, s, T0 + policy.horizon).retired
    assert next_check(policy, s, T0 + policy.horizon + timedelta(microseconds=1)).retired


@given(st.timedeltas(min_value=timedelta()))
def test_format_then_parse_gives_the_same_duration(td):
    assert parse_duration(format_duration(td)) == td


@given(any_policy, spans, counts)
def test_overrides_bound_every_interval(policy, quiet, unchanged):
    narrowed = policy_with_overrides(policy, recheck_min=HOUR, recheck_max=2 * HOUR)
    decision = next_check(narrowed, state(timedelta(), unchanged), T0 + min(quiet, narrowed.horizon))
    assert decision.interval is not None and HOUR <= decision.interval <= 2 * HOUR


# --------------------------------------------------------------------------------------------
# the defaults, and the doc that shows them


def test_default_table():
    assert default_table(DEFAULT_POLICY) == [
        ("under 3h", "5m to 10m"),
        ("3h to 1d", "30m to 1h"),
        ("1d to 3d", "2h to 4h"),
        ("3d to 7d", "6h to 12h"),
        ("7d to 30d", "1d to 2d"),
        ("first seen over 30d ago", "retired"),
    ]


def test_doc_table_is_generated_from_the_code():
    text = DOC.read_text(encoding="utf-8")
    match = re.search(r"<!-- recheck-table:start[^>]*-->\n(.*?)<!-- recheck-table:end -->", text, re.DOTALL)
    assert match, "docs/recheck-policy.md lost its recheck-table markers"
    assert match.group(1) == table_markdown(DEFAULT_POLICY)


def test_doc_states_the_default_bounds():
    text = DOC.read_text(encoding="utf-8")
    low, high = format_duration(DEFAULT_POLICY.min_interval), format_duration(DEFAULT_POLICY.max_interval)
    assert f"every {low} (`recheck_min`)" in text
    assert f"every {high} (`recheck_max`)" in text


def _schedule(policy: Policy) -> list[datetime]:
    """Check times of a document that never changes, from first sight to retirement."""
    now, checks = T0, list[datetime]()
    while not (decision := next_check(policy, RecheckState(T0, T0, len(checks)), now)).retired:
        assert decision.next_check is not None
        now = decision.next_check
        checks.append(now)
    return checks


def test_check_counts_stated_in_the_doc():
    checks = _schedule(DEFAULT_POLICY)
    within = {limit: sum(1 for c in checks if c - T0 <= limit) for limit in (3 * HOUR, DAY, 7 * DAY)}
    assert (len(checks), within[3 * HOUR], within[DAY], within[7 * DAY]) == (73, 19, 40, 60)
    text = DOC.read_text(encoding="utf-8")
    assert (
        "checked 73 times in all: 19 times in its\nfirst 3 hours, 40 in its first day, 60 in its first week"
        in text
    )
    assert checks[-2] - T0 <= DEFAULT_POLICY.horizon < checks[-1] - T0


@pytest.mark.parametrize(
    ("quiet", "unchanged", "expected"),
    [
        (timedelta(), 0, 5 * MINUTE),
        (timedelta(), 1, timedelta(minutes=6, seconds=15)),
        (2 * HOUR, 10, 10 * MINUTE),
        (5 * HOUR, 0, 30 * MINUTE),
        (2 * DAY, 0, 2 * HOUR),
        (4 * DAY, 100, 12 * HOUR),
        (20 * DAY, 0, DAY),
        (29 * DAY, 9, 2 * DAY),
    ],
)
def test_default_intervals(quiet, unchanged, expected):
    decision = next_check(DEFAULT_POLICY, RecheckState(T0, T0, unchanged), T0 + quiet)
    assert decision.interval == expected
    assert format_duration(expected) in decision.reason


def test_a_change_in_an_old_document_brings_it_back_to_minutes():
    now = T0 + 20 * DAY
    assert next_check(DEFAULT_POLICY, RecheckState(T0, now, 0), now).interval == 5 * MINUTE


def test_retirement_reason_names_the_horizon():
    decision = next_check(DEFAULT_POLICY, RecheckState(T0, T0, 3), T0 + 31 * DAY)
    assert decision.retired and decision.next_check is None
    assert "30d horizon" in decision.reason


def test_clock_skew_counts_as_no_quiet_time():
    later = T0 + HOUR
    decision = next_check(DEFAULT_POLICY, RecheckState(T0, later, 0), later - MINUTE)
    assert decision.interval == 5 * MINUTE


# --------------------------------------------------------------------------------------------
# overrides and validation


def test_overrides_replace_bounds_and_horizon():
    policy = policy_with_overrides(DEFAULT_POLICY, recheck_min=10 * MINUTE, recheck_max=DAY, horizon=90 * DAY)
    assert (policy.min_interval, policy.max_interval, policy.horizon) == (10 * MINUTE, DAY, 90 * DAY)
    assert policy.tiers == DEFAULT_POLICY.tiers
    assert default_table(policy)[-2] == ("7d to 90d", "1d")
    assert default_table(policy)[-1] == ("first seen over 90d ago", "retired")


def test_a_bound_given_alone_moves_the_other_out_of_its_way():
    slow = policy_with_overrides(DEFAULT_POLICY, recheck_min=3 * DAY)
    assert (slow.min_interval, slow.max_interval) == (3 * DAY, 3 * DAY)
    fast = policy_with_overrides(DEFAULT_POLICY, recheck_max=MINUTE)
    assert (fast.min_interval, fast.max_interval) == (MINUTE, MINUTE)


def test_a_short_horizon_cuts_the_table():
    policy = policy_with_overrides(DEFAULT_POLICY, horizon=2 * DAY)
    assert default_table(policy) == [
        ("under 3h", "5m to 10m"),
        ("3h to 1d", "30m to 1h"),
        ("1d to 2d", "2h to 4h"),
        ("first seen over 2d ago", "retired"),
    ]


def test_conflicting_bounds_are_refused_with_a_sentence():
    with pytest.raises(PolicyError, match=r"^recheck_min \(3d\) cannot be larger than recheck_max \(1d\)\.$"):
        policy_with_overrides(DEFAULT_POLICY, recheck_min=3 * DAY, recheck_max=DAY)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"tiers": ()}, "at least one tier"),
        ({"tiers": ((DAY, HOUR), (HOUR, DAY))}, "strictly increasing"),
        ({"tiers": ((HOUR, DAY), (DAY, HOUR))}, "must not shrink"),
        ({"min_interval": timedelta()}, "recheck_min must be positive"),
        ({"horizon": -DAY}, "horizon must be positive"),
        ({"backoff": 0.5}, "backoff factor"),
        ({"max_backoff": float("inf")}, "backoff cap"),
    ],
)
def test_invalid_policies(changes, message):
    fields = {
        "tiers": DEFAULT_POLICY.tiers,
        "min_interval": MINUTE,
        "max_interval": DAY,
        "horizon": 30 * DAY,
        "backoff": 1.25,
        "max_backoff": 2.0,
    }
    with pytest.raises(PolicyError, match=message):
        Policy(**{**fields, **changes})


def test_naive_times_and_negative_counts_are_refused():
    with pytest.raises(StateError, match="first_seen .* timezone-aware"):
        RecheckState(datetime(2025, 12, 29), T0, 0)
    with pytest.raises(StateError, match="unchanged_checks cannot be negative"):
        RecheckState(T0, T0, -1)
    with pytest.raises(StateError, match="now .* timezone-aware"):
        next_check(DEFAULT_POLICY, RecheckState(T0, T0, 0), datetime(2025, 12, 30))


# --------------------------------------------------------------------------------------------
# durations


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5m", 5 * MINUTE),
        ("10m", 10 * MINUTE),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1h 30m", timedelta(hours=1, minutes=30)),
        ("1d", DAY),
        ("90s", timedelta(seconds=90)),
        ("2w", timedelta(weeks=2)),
        (" 1D12H ", timedelta(days=1, hours=12)),
        ("250ms", timedelta(milliseconds=250)),
        ("0s", timedelta()),
    ],
)
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "5", "5 minutes", "m5", "-5m", "1.5h", "5m1h", "5m5m", "1h30", "1y"])
def test_unreadable_durations_name_the_text_and_the_forms(text):
    with pytest.raises(DurationError) as caught:
        parse_duration(text)
    assert repr(text) in str(caught.value)
    assert DURATION_FORMS in str(caught.value)
    assert caught.value.text == text


def test_overlong_duration_is_a_duration_error():
    with pytest.raises(DurationError, match="too long"):
        parse_duration("9999999999w")


@pytest.mark.parametrize(
    ("td", "text"),
    [
        (timedelta(), "0s"),
        (timedelta(hours=1, minutes=30), "1h30m"),
        (30 * DAY, "30d"),
        (timedelta(seconds=1, microseconds=1500), "1s1ms500us"),
    ],
)
def test_format_duration(td, text):
    assert format_duration(td) == text


def test_negative_durations_cannot_be_formatted():
    with pytest.raises(DurationError, match="cannot be negative"):
        format_duration(-MINUTE)


UNIT_SIZES = {
    "w": timedelta(weeks=1),
    "d": DAY,
    "h": HOUR,
    "m": MINUTE,
    "s": timedelta(seconds=1),
    "ms": timedelta(milliseconds=1),
    "us": timedelta(microseconds=1),
}


@settings(max_examples=50)
@given(st.sampled_from(sorted(UNIT_SIZES)), st.integers(min_value=0, max_value=10_000))
def test_single_units_parse(unit, amount):
    assert parse_duration(f"{amount}{unit}") == amount * UNIT_SIZES[unit]
