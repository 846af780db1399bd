"""The facts model, the parsers of Linux tools' output and their shell sections; pure: no I/O.

`model` (the typed, versioned facts and their JSON form), `keys` (each collection's stable
key, the volatile fields), `section` (a shell section next to its parser), one module per
fact family (`system`, `storage`, `network`, `software`, `host_keys`), `output` (what every
parser shares), and `bundle` (the sections in one SSH round trip, and its parse).
"""
