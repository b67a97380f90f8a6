"""Fixtures of the awx scenario's tests: the first job's launch and result (molecule/_shared/awx_helpers.py)."""

from awx_helpers import first_job, launch

__all__ = ["first_job", "launch"]  # fixtures, found by pytest here
