"""Time units the whole package counts in, said once.

A year is 365 days of 24 hours (8,760 h), as the engine's horizon, the duty
model's seasons, the fatigue batch's blocks and every plotted time axis count
it: a 10-year horizon ends at 10 on an axis. Nothing here imports anything, so
any module (the standalone fatigue toolkit included) may use it.
"""

HOURS_PER_DAY = 24.0
DAYS_PER_YEAR = 365.0
HOURS_PER_YEAR = HOURS_PER_DAY * DAYS_PER_YEAR  # 8760.0
SECONDS_PER_HOUR = 3600.0
SECONDS_PER_DAY = SECONDS_PER_HOUR * HOURS_PER_DAY  # 86400.0
