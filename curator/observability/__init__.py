"""What operators watch: Prometheus metrics (the web dashboard lives in curator.web)."""
