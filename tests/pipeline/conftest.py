from tests.ingest.conftest import any_bus_platform, platform, tansu_url  # noqa: F401 (shared fixtures)
