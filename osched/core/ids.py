"""Names osched gives and accepts for jobs and schedules: a letter or digit, then letters,
digits, ``_`` and ``-``, 50 at most.  A name becomes part of a path in the state dir and of
unit and task names, so nothing else is ever accepted."""

ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
MAX_LEN = 50


def is_id(name: object) -> bool:
    return (
        isinstance(name, str)
        and 0 < len(name) <= MAX_LEN
        and name[0] not in "_-"
        and ID_CHARS.issuperset(name)
    )
