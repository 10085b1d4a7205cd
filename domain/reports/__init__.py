"""Reporting a concern: routing, cases and their tamper-evident audit trail, reminders, alerts that are never
lost, the indecent-images words, evidence rules and the case export.
"""
