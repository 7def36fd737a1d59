"""Admin pages of customer groups, segments and the member import/export."""
