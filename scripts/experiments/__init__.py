"""Helpers of scripts/experiment.py: the experiment plan and the docker/local backends."""
