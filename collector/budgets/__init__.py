"""Budgets per service: the budget file, periods and trajectory, evaluation, notifications."""
