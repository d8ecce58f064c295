"""`python -m autograd_mini ...` is the `autograd-mini` command."""

from .cli import main

if __name__ == "__main__":  # importing the module (as the docs' reference does) runs nothing
    raise SystemExit(main())
