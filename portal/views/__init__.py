"""The member pages' views, one module per page (member-web.md)."""
