"""carepair as a system: the `carepair` command, the launcher of `carepair up` and the demo county.

`shared/` is the library every service builds on and imports no service; this package is
the one that puts the services together, so it may import them.
"""
