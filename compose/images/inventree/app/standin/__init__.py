"""Stand-in for the InvenTree application image (test equipment for upshift).

Reproduces the task interface of InvenTree's tasks.py (invoke) against a real PostgreSQL
database, including the documented traps. See compose/images/inventree/README.md.
"""
