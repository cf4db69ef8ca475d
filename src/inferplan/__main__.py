"""``python -m inferplan`` runs the command-line interface."""

from inferplan.cli.main import main

raise SystemExit(main())
