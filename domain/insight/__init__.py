"""Figures for the head teacher and governors: the termly summary and the policy review, counted from the
records and protected by the small-number rule.
"""
