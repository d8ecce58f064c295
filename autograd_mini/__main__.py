"""`python -m autograd_mini ...` is the `autograd-mini` command."""

from .cli import main

raise SystemExit(main())
