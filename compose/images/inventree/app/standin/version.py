"""Which InvenTree version this image pretends to be, and the behaviour switches derived from it."""
import os

VERSION_FILE = '/home/inventree/VERSION'

# API versions reported by GET /api/ and `invoke version` (plausible values, not InvenTree's exact ones).
API_VERSIONS = {'0.12.0': 155, '0.17.0': 294, '1.0.0': 392, '1.1.0': 412, '1.2.0': 425, '1.3.0': 440}
DJANGO_VERSIONS = {'0.12.0': '3.2.20', '0.17.0': '4.2.16', '1.0.0': '4.2.24', '1.1.0': '4.2.25', '1.2.0': '4.2.26', '1.3.0': '5.2.7'}
COMMITS = {'0.12.0': ('f9e8d7c', '2023-07-01'), '0.17.0': ('d1a2b3c', '2024-12-09'), '1.0.0': ('e4f5a6b', '2025-09-15'),
           '1.1.0': ('a7b8c9d', '2025-11-02'), '1.2.0': ('b1c2d3e', '2026-01-20'), '1.3.0': ('c0d1e2f', '2026-04-11')}


def sw_version() -> str:
    try:
        with open(VERSION_FILE, encoding='utf-8') as f:
            return f.read().strip()
    except FileNotFoundError:
        # Development on the host (no image): the version comes from the environment.
        return os.environ.get('STANDIN_VERSION', '1.0.0')


def vtuple(v: str):
    parts = []
    for p in v.split(' ')[0].split('.'):
        try:
            parts.append(int(p))
        except ValueError:
            parts.append(0)
    while len(parts) < 3:
        parts.append(0)
    return tuple(parts[:3])


VERSION = sw_version()
V = vtuple(VERSION)
API_VERSION = API_VERSIONS.get(VERSION, 400)
DJANGO_VERSION = DJANGO_VERSIONS.get(VERSION, '4.2.24')
COMMIT_HASH, COMMIT_DATE = COMMITS.get(VERSION, ('0000000', '2025-01-01'))


def at_least(major: int, minor: int = 0, patch: int = 0) -> bool:
    return V >= (major, minor, patch)
