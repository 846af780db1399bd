"""pelihara: maintain servers hosted for other agencies in a data center, and prove what happened.

The one import name of the distribution. Its rooms live in the repository's top-level folders
and are installed beneath it (see `../shared/DESIGN.md`, "Architecture"):

    pelihara.cli          click commands: parse, call, print
    pelihara.maintenance  the SOP as data, tickets, gates, the documents
    pelihara.collector    probes from outside, verify, snapshots
    pelihara.agent        on the server            pelihara.inventory  the estate, the database
    pelihara.timeseries   the stores, the spool    pelihara.facts      the facts model (pure)
    pelihara.core         errors, exit codes, config, secrets, canonical JSON + SHA-256
"""
