"""A minimal copy of the original execution service: Flask, POST /execute, `python3 -c`.

Runs the posted code with `subprocess.run([python, "-c", code], timeout=...)` and answers
`{success, output, error, execution_time}`, served by Flask's threaded development server
(the same Werkzeug server `app.run(threaded=True)` starts).

    /usr/bin/python3 bench/flask_app.py --port 0 [--python /usr/bin/python3] [--timeout 10]

`--port 0` picks a free port; the chosen one is printed as `listening on http://...`.
The default interpreter is the one running Flask (`sys.executable`, Debian's python3 when
started as above), so the comparison uses the same interpreter as the other targets.
"""

import argparse
import subprocess
import sys
import time

from flask import Flask, jsonify, request
from werkzeug.serving import make_server

app = Flask(__name__)
PYTHON = sys.executable
TIMEOUT = 10.0


@app.route("/execute", methods=["POST"])
def execute():
    data = request.get_json(silent=True) or {}
    code = data.get("code")
    if not isinstance(code, str) or not code:
        return jsonify(success=False, output="", error="No code provided", execution_time=0), 400
    start = time.time()
    try:
        result = subprocess.run(
            [PYTHON, "-c", code],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        return jsonify(
            success=False,
            output="",
            error="Execution timed out after %g seconds" % TIMEOUT,
            execution_time=time.time() - start,
        )
    success = result.returncode == 0
    return jsonify(
        success=success,
        output=result.stdout,
        error=None if success else result.stderr,
        execution_time=time.time() - start,
    )


def main():
    global PYTHON, TIMEOUT
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args()
    PYTHON = args.python
    TIMEOUT = args.timeout
    server = make_server(args.host, args.port, app, threaded=True)
    print("flask listening on http://%s:%d" % (args.host, server.port), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
