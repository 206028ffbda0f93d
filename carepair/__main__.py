"""`python -m carepair …` is the `carepair` command."""

from carepair.cli import main

raise SystemExit(main())
