from tests.pos.conftest import demo_programme, pho  # noqa: F401 -- the demo programme's fixtures
