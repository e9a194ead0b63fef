"""Celery workers: the one app, thin tasks and the schedule."""
