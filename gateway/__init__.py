"""The asyncio shell: sources, MQTT, storage, HTTP API, dashboard and the p1gw CLI."""
