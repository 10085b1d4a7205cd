""""Can I ...?" and the policy: the policy document, the rule base, the lexicon and reading of a question, the
matcher, the understanding step (what a typed message asks for), and questions the policy does not answer.
"""
