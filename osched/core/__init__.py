"""The core: the rules every other part of osched calls, in one place.

Standard library only, and it imports nothing else from osched (an import contract in CI
holds it to that), so the firing fast lane can use it without paying for the rest:

* ``ids``      what a job or schedule name may be (it becomes part of a path)
* ``timefmt``  the one formatter of instants (``2026-11-29T22:00:00+00:00``)
* ``rule``     the window rule over UTC seconds: which window a start firing belongs to, what
               keeps a job running, the next start
* ``trust``    the trust predicates: owned by the user, writable by others, a folder another
               user could change
* ``store``    the state store: the only door to the state dir (paths, checked reads, private
               folders and files, atomic writes, the events log, locks)
* ``cache``    the caches' one key and one freshness rule, and the fire file's format
* ``jobstate`` the state file's fields and what they must hold
* ``events``   the events log's line format (one encoder for every path)
* ``collect``  pausing the garbage collector around bulk work that makes no cycles
"""
