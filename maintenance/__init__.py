"""The SOP: tickets, steps, attachments and the Berita Acara report (see DESIGN.md)."""
