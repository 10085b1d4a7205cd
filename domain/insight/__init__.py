"""Figures for the head teacher and governors: the termly summary and the policy review, counted from the
records and protected by the small-number rule.

figures.py works the figures out (InsightService, the termly post); periods.py reads the period asked for;
summary.py holds the figures and turns them into what a governor may see; disclosure.py is the small-number rule.
"""
