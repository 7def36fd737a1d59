"""Dates that move: the Vietnamese lunar calendar, the holiday list the admin edits, and date
schedules ("the 3 days before Tết and the first 3 of the lunar year") resolved per year."""
