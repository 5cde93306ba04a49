"""ML operations console: MLflow, Kubernetes and Prometheus behind one audited Streamlit app."""
