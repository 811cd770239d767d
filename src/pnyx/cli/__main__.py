"""`python -m pnyx.cli`: the same as the `pnyx` command."""

from pnyx.cli.main import main

if __name__ == "__main__":
    main()
