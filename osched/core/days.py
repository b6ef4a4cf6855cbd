"""The names of the days a schedule runs on: the only place they are spelled (``parse`` reads
them, shell completion offers them).  Monday is 0, as in ``datetime.weekday()``."""

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FULL_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DAY_SETS = {
    "daily": frozenset(range(7)),
    "weekdays": frozenset(range(5)),
    "weekends": frozenset({5, 6}),
}
