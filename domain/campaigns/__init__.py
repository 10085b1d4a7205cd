"""Yearly policy acknowledgement: campaign lifecycle, audience and acknowledgements, chasing, digests and
exports, the yearly start and the jobs that run them.
"""
