"""Output folders are named `<prefix>-<UTC time to the microsecond>Z` by one function: names that sort in
time order, that the README's `<time>` pattern matches, and that two runs in one second do not share."""

import re
from datetime import datetime, timezone

from simengine.results.publish import stamped_name, utc_stamp

README_TIME = re.compile(r"\d{8}T\d{6}\d*Z")  # what tests/test_readme.py replaces by <time>


def test_a_stamped_name_is_the_prefix_and_the_utc_time_to_the_microsecond():
    before = datetime.now(timezone.utc).replace(microsecond=0)
    name = stamped_name("fatigue-boom_joint")
    after = datetime.now(timezone.utc)
    match = re.fullmatch(r"fatigue-boom_joint-(\d{8}T\d{12}Z)", name)
    assert match, name
    assert README_TIME.fullmatch(match.group(1))
    when = datetime.strptime(match.group(1), "%Y%m%dT%H%M%S%fZ").replace(tzinfo=timezone.utc)
    assert before <= when <= after


def test_stamps_sort_as_the_times_they_stand_for():
    stamps = [utc_stamp() for _ in range(50)]
    assert stamps == sorted(stamps)
    parsed = [datetime.strptime(s, "%Y%m%dT%H%M%S%fZ") for s in stamps]
    assert parsed == sorted(parsed)
