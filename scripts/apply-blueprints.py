# Proves that authentik applied the stack's blueprints, through authentik's own API, from inside the server
# container (python3 and the standard library only: no second Django process in a memory-limited container).
#
# Read from stdin by `python3 -c`: the first line is the bootstrap token (never on a command line), the rest is this
# program. FILES ([path, sha512 of the content]) is prepended by the stack.
#
# 1. waits until authentik's own default and system blueprints have been applied (the stack's files need their flows,
#    scope mappings and brand);
# 2. for each file: waits until the worker has discovered it, gives the worker's own apply a moment, then asks for an
#    apply through the API if the file is not yet applied with this content;
# 3. fails with each file that does not reach "successful" with this content's hash.
#
# Settings (environment, for tests): SSO_APPLY_API, SSO_APPLY_TIMEOUT (seconds for everything, 900),
# SSO_APPLY_GRACE (seconds the worker's own apply gets, 60), SSO_APPLY_POLL (5).
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

API = os.environ.get("SSO_APPLY_API", "http://127.0.0.1:9000/api/v3")
TIMEOUT = float(os.environ.get("SSO_APPLY_TIMEOUT", "900"))
GRACE = float(os.environ.get("SSO_APPLY_GRACE", "60"))
POLL = float(os.environ.get("SSO_APPLY_POLL", "5"))
DEADLINE = time.time() + TIMEOUT


def call(method, path):
    request = urllib.request.Request(API + path, method=method, headers={"Authorization": "Bearer " + TOKEN, "Accept": "application/json"})  # noqa: F821 (TOKEN: first line of stdin)
    with urllib.request.urlopen(request, timeout=30) as response:
        body = response.read()
        return json.loads(body) if body else None


def instances(query=""):
    found, page = [], 1
    while page:
        answer = call("GET", "/managed/blueprints/?page_size=100&page=%d%s" % (page, query))
        found += answer["results"]
        page = answer["pagination"]["next"]
    return found


def instance(path):
    matches = instances("&path=" + urllib.parse.quote(path))
    return matches[0] if matches else None


def wait(what, look, until=None):
    """Looks every POLL seconds until look() gives something; None after the deadline."""
    until = DEADLINE if until is None else until
    while True:
        try:
            found = look()
        except (urllib.error.URLError, OSError, ValueError):
            # The server restarts, or answers before it is ready: look again.
            found = None
        if found:
            return found
        if time.time() >= until:
            return None
        time.sleep(POLL)


def defaults_applied():
    own = [item for item in instances() if item["path"].startswith(("default/", "system/"))]
    return own if own and all(item["status"] != "unknown" for item in own) else None


if wait("authentik's own blueprints", defaults_applied) is None:
    sys.exit("authentik has not applied its own default blueprints after %d s; see the worker's log" % TIMEOUT)

failed = 0
for path, digest in FILES:  # noqa: F821 (prepended by the stack)
    found = wait(path, lambda: instance(path))
    if found is None:
        print("blueprint %s: the worker has not discovered it after %d s (is the file in the worker?)" % (path, TIMEOUT), file=sys.stderr)
        failed += 1
        continue

    def applied():
        current = instance(path)
        return current if current and current["status"] == "successful" and current["last_applied_hash"] == digest else None

    done = wait(path, applied, until=min(DEADLINE, time.time() + GRACE))
    if done is None:
        try:
            call("POST", "/managed/blueprints/%s/apply/" % found["pk"])
        except (urllib.error.URLError, OSError) as error:
            print("blueprint %s: asking authentik to apply it failed: %s" % (path, error), file=sys.stderr)
        done = wait(path, applied)
    if done is None:
        current = instance(path) or {}
        print(
            "blueprint %s did not apply: status %s%s; authentik's reason is in the worker's log (docker logs <name>-worker, "
            "or System -> Tasks in the admin interface)" % (path, current.get("status"), "" if current.get("last_applied_hash") == digest else ", an older version applied"),
            file=sys.stderr,
        )
        failed += 1
    else:
        print("applied %s" % path)

sys.exit(1 if failed else 0)
