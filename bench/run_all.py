"""Run every benchmark (bench/bench_*.py) in turn; each prints its own figures.

make bench                      # all of them, on PostgreSQL from scripts/services.sh
.venv/bin/python bench/bench_<name>.py [--help]   # one of them
"""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    status = 0
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"\n=== {script.name} ===", flush=True)
        status |= subprocess.call([sys.executable, str(script), *sys.argv[1:]], cwd=HERE.parent)
    return status


if __name__ == "__main__":
    sys.exit(main())
