"""Print Odoo's requirements.txt pins as they apply to Python 3.12.

Odoo's pins for Python 3.11 need source builds that fail on this kind of machine; the pins it
gives for 3.12 are wheels that run Odoo 18 on 3.11 too. So markers are evaluated as 3.12.
"""

import sys

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement

TARGET = {
    "python_version": "3.12",
    "python_full_version": "3.12.0",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "os_name": "posix",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
}


def applicable_pins(lines):
    for raw in lines:
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        if req.marker is None or Marker(str(req.marker)).evaluate(TARGET):
            req.marker = None
            yield str(req)


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as handle:
        for pin in applicable_pins(handle):
            print(pin)
