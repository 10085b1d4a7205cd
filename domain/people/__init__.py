"""Who is who: schools, staff, roles and lead spaces (the directory), who may read each lead's alerts, set-up,
personal data requests and retention.
"""
