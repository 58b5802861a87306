"""``python -m ganmut``: see :mod:`ganmut.cli`."""
from .cli import main

raise SystemExit(main())
