"""Benchmarks: each is `python -m bench.<name>`, prints progress on stderr and one JSON object
as the last line of stdout. They use the public domain API and never import `p13n.server`."""

__all__: list[str] = []
