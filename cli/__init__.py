"""The `pelihara` command line: parse, call the packages, print."""
