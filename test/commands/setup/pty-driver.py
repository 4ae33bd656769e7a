"""Runs a command inside a real pseudo-terminal and answers prompts.

usage: pty-driver.py '<json: {"cmd": [...], "env": {...}, "steps": [[expect, send], ...], "timeout": s}>'
Waits for each `expect` text in the output (ANSI codes stripped), then writes `send`.
Prints {"exit": code, "output": text} as JSON on stdout.
"""
import json, os, pty, re, select, signal, subprocess, sys, time

spec = json.loads(sys.argv[1])
master, slave = pty.openpty()
env = dict(os.environ)
env.update(spec.get("env", {}))
proc = subprocess.Popen(spec["cmd"], stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True, start_new_session=True)
os.close(slave)
deadline = time.time() + spec.get("timeout", 60)
raw = b""
ansi = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Za-z0-9]|\r")

def text():
    return ansi.sub("", raw.decode("utf8", "replace"))

def pump(wait):
    global raw
    r, _, _ = select.select([master], [], [], wait)
    if r:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            return False
        if not chunk:
            return False
        raw += chunk
    return True

seen = 0
for expect, send in spec["steps"]:
    while expect not in text()[seen:]:
        if time.time() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            print(json.dumps({"exit": None, "output": text(), "waitingFor": expect}))
            sys.exit(0)
        if not pump(0.1) and proc.poll() is not None:
            print(json.dumps({"exit": proc.returncode, "output": text(), "waitingFor": expect}))
            sys.exit(0)
    seen = text().index(expect, seen) + len(expect)
    time.sleep(0.15)
    os.write(master, send.encode("utf8"))

while proc.poll() is None and time.time() < deadline:
    pump(0.1)
while pump(0.05):
    pass
if proc.poll() is None:
    os.killpg(proc.pid, signal.SIGKILL)
print(json.dumps({"exit": proc.poll(), "output": text()}))
