"""Audiences: customer groups (static lists, also imported from Excel) and rule-based segments,
the member import and export. Scheduled campaigns send to them."""
