"""A throw-away OpenSSH server on 127.0.0.1: host and user keys made in a temp dir, public-key login only."""

import getpass
import os
import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PRIVSEP_DIR = Path("/run/sshd")  # Debian's sshd refuses to start as root without it (the service makes it)


@dataclass
class Server:
    port: int
    user: str
    keyfile: Path  # the user's private key (ed25519, no passphrase)
    # A HOME for clients, away from the user's ~/.ssh; its .ssh/known_hosts holds the server's host key, which
    # OpenSSH's ssh checks. DVC does not: sshfs (under dvc-ssh 4.3.0) connects with known_hosts=None.
    home: Path

    def url(self, path: Path) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.port}{path}"


def keygen(path: Path) -> str:
    """A new ed25519 key pair at `path` (no passphrase); returns the public key line."""
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "nnrepro-test", "-f", str(path)],
        check=True,
        capture_output=True,
    )
    return path.with_suffix(".pub").read_text().strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def sshd(tmp: Path, timeout: float = 20):
    """Run `sshd -D -e` on a free port of 127.0.0.1 as a child process; yield a Server; stop it on exit."""
    host_pub, user_pub = keygen(tmp / "host_ed25519"), keygen(tmp / "user_ed25519")
    (tmp / "authorized_keys").write_text(user_pub + "\n")
    port, user = free_port(), getpass.getuser()
    (tmp / "sshd_config").write_text(f"""\
Port {port}
ListenAddress 127.0.0.1
HostKey {tmp / "host_ed25519"}
PidFile {tmp / "sshd.pid"}
AuthorizedKeysFile {tmp / "authorized_keys"}
AllowUsers {user}
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
Subsystem sftp internal-sftp
""")
    home = tmp / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_pub}\n")
    if os.geteuid() == 0:
        PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
    log_path = tmp / "sshd.log"
    with log_path.open("w") as log:  # a file, not a pipe: sshd never blocks on a full pipe
        proc = subprocess.Popen(
            [shutil.which("sshd"), "-D", "-e", "-f", str(tmp / "sshd_config")],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + timeout
        while "Server listening" not in log_path.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"sshd did not start (exit {proc.poll()}):\n{log_path.read_text()}")
            time.sleep(0.05)
        yield Server(port, user, tmp / "user_ed25519", home)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
