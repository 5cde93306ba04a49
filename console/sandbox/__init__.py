"""The local world for the demo and the tests: a Kubernetes API server, an MLflow store, Prometheus, demo users."""
