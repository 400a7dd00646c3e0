"""gc's grace period as people write it, and the gc result's one JSON shape."""

from __future__ import annotations

import pytest

from lineal.collect import GRACE, GcResult, parse_grace, show_grace
from lineal.errors import InvalidInput


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0),
        ("now", 0),
        (" NOW ", 0),
        ("90", 90),
        ("90s", 90),
        ("30m", 1800),
        ("2h", 7200),
        ("1d", 86400),
        ("1.5h", 5400),
        ("2w", 14 * 86400),
    ],
)
def test_grace_periods_read_as_people_write_them(text: str, seconds: float) -> None:
    assert parse_grace(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "-1h", "1y", "2 h", "h"])
def test_a_bad_grace_period_says_how_to_write_one(text: str) -> None:
    with pytest.raises(InvalidInput, match="bad grace period") as caught:
        parse_grace(text)
    assert "1d" in (caught.value.hint or "")


@pytest.mark.parametrize("seconds", [GRACE, 0, 90, 1800, 5400, 14 * 86400, 0.5])
def test_a_grace_period_is_shown_as_it_is_written(seconds: float) -> None:
    assert parse_grace(show_grace(seconds)) == seconds
    assert show_grace(GRACE) == "1d"


def test_the_result_has_one_json_shape() -> None:
    result = GcResult(
        removed=1, bytes=2, kept=3, young=4, young_bytes=5, temp_files=6, temp_bytes=7, grace=8
    )
    assert result.as_dict() == {
        "removed": 1,
        "bytes": 2,
        "kept": 3,
        "young": 4,
        "young_bytes": 5,
        "temp_files": 6,
        "temp_bytes": 7,
        "grace_seconds": 8,
    }
