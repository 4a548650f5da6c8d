"""The spend page: `page.render_page(reader)` draws it, `server` serves it."""
