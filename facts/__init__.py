"""The facts model, the parsers of Linux tools' output and their shell sections; pure: no I/O."""
