"""One interface to the time-series stores (see DESIGN.md)."""
