"""``python -m tests.hub_server --port 8900``: run the Hub test server by hand."""

from . import _main

_main()
