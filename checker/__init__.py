"""Parcel policy checker: carriers' terms as versioned YAML data, checked against shipment manifests before dispatch."""

__version__ = "0.1.0"
