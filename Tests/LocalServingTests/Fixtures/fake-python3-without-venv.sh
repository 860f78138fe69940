#!/bin/sh
# python3 as Debian ships it without python3-venv: `python3 -m venv DIR` fails with Debian's
# message (text from Debian's patched Lib/venv/__init__.py); anything else runs the real python3.
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
    mkdir -p "$3/bin"
    cat <<END
The virtual environment was not created successfully because ensurepip is not
available.  On Debian/Ubuntu systems, you need to install the python3-venv
package using the following command.

    apt install python3.11-venv

You may need to use sudo with that command.  After installing the python3-venv
package, recreate your virtual environment.

Failing command: $3/bin/python3

END
    exit 1
fi
exec "${CELLBOOK_TEST_REAL_PYTHON:-/usr/bin/python3}" "$@"
