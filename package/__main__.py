"""`python -m pelihara` is the `pelihara` command."""

from pelihara.cli.main import main

main()
