"""The facts model, the parsers of Linux tools' output and their shell sections; pure: no I/O.

`model` (the typed, versioned facts and their JSON form), `keys` (each collection's stable
key, the volatile fields), `section` (a shell section next to its parser), one module per
fact family (`system`, `storage`, `network`, `software`, `host_keys`), `output` (what every
parser shares), and `bundle` (the sections in one SSH round trip, and its parse).

The snapshot diff: `diff` (`diff_facts`), `changes` (what a diff says, its dict form),
`diff_rules` (+ `diff_rules.yaml`, the packaged defaults), `intents`, `identity` (the
verdict), `diff_render` (Markdown, HTML), `yaml_text` (YAML text to checked plain data).
"""
