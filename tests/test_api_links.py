"""api.links: the hand-made query strings read exactly as urllib's urlencode writes them."""

from __future__ import annotations

from urllib.parse import urlencode

from hypothesis import given
from hypothesis import strategies as st

from api.links import _q

values = st.none() | st.integers() | st.booleans() | st.floats(allow_nan=False) | st.text()


@given(st.dictionaries(st.sampled_from(["channel", "from", "to", "format", "view"]), values))
def test_query_strings_match_urlencode(params: dict[str, object]) -> None:
    given_ = {k: v for k, v in params.items() if v is not None}
    assert _q(**params) == ("?" + urlencode(given_) if given_ else "")
