"""Scheduled campaigns: an audience, a reward and a message on a schedule, each period served once
(run history, deliveries)."""
