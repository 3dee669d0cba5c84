"""Where curator keeps what must survive a restart: collections, decisions, and dedup indexes."""
