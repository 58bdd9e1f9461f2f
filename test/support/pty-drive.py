"""Drives a command in a real pseudo-terminal, as a person at a terminal would.

usage: pty-drive.py SCRIPT.json -- CMD...
SCRIPT is a list of steps: {"resize": [rows, cols]}, {"send": "text"}, {"expect": "regex"}.
Prints a JSON report: {"ok": bool, "exit": code, "output": "...", "failed": step}.
"""
import fcntl, json, os, pty, re, select, struct, sys, termios, time

steps = json.load(open(sys.argv[1]))
cmd = sys.argv[sys.argv.index('--') + 1:]

def set_size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))

pid, fd = pty.fork()
if pid == 0:
    os.execvp(cmd[0], cmd)

output = b''
def read_for(seconds, pattern=None, since=0):
    global output
    end = time.time() + seconds
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return False
            if not chunk:
                return False
            output += chunk
        if pattern and re.search(pattern, output[since:].decode('utf8', 'replace')):
            return True
    return False

report = {'ok': True, 'failed': None}
set_size(fd, 24, 80)
mark = 0
for step in steps:
    if 'resize' in step:
        set_size(fd, *step['resize'])
        time.sleep(0.3)
    elif 'send' in step:
        mark = len(output)
        os.write(fd, step['send'].encode())
    elif 'expect' in step:
        if not read_for(float(os.environ.get("PTY_EXPECT_SECONDS", "60")), step['expect'], mark):
            report.update(ok=False, failed=step)
            break
# Give the command a moment to finish on its own, then make sure it does.
read_for(2)
report['exit'] = None
# (up to 30 s: CI machines are shared and slow at times)
for attempt in range(300):
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        report['exit'] = os.waitstatus_to_exitcode(status)
        break
    if attempt == 250:
        os.kill(pid, 15)
    read_for(0.05)
    time.sleep(0.1)
else:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
report['output'] = output.decode('utf8', 'replace')
print(json.dumps(report))
