"""The back office shows what the POS recorded: its tests record sales through the POS API on
the demo programme's configuration."""

from tests.pos.conftest import demo_programme  # noqa: F401 -- a fixture shared with the POS tests
