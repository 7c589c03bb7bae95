"""FlowPilot: get a stuck technician unstuck."""

__version__ = "0.1.0"
