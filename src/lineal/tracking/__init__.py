"""Tracking: runs, the metric buffer, automatic capture, pipeline steps and run search."""
