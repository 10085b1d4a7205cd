"""The few pieces every capability uses: the clock, the school calendar, dates and counts as people read
them, and scheduled job specs.
"""
