"""The SOP's documents (the *Berita Acara*, the forms), made from what the ticket holds:
one Jinja2 template per document serves HTML, PDF (WeasyPrint) and Markdown."""
