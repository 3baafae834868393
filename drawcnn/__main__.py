"""``python -m drawcnn`` is the same as the ``drawcnn`` command."""

from .cli import main

raise SystemExit(main())
