"""Getting messages out: the outgoing message and its delivery result, the persistent outbox (exactly once per
key), and the worker that delivers it through the edge's transport within Teams' limits.
"""
