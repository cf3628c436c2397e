"""Run model-written Python in a separate, limited process, so that a code benchmark can execute it.

`run_python(code)` writes `code` into a fresh temporary directory, runs it there in a child
interpreter and deletes the directory afterwards. The program passes only if it runs to its end
(exit status 0, and the bootstrap's end-of-program token printed — an early `os._exit(0)` or
`sys.exit()` before the tests is a failure). Several layers contain it; `isolation_layers()` says
which ones this machine gives, probed once at run time. What each one guarantees:

Always (any POSIX machine):
- a separate process in its own session, killed as a group at the wall-clock timeout;
- resource limits set in the child: RLIMIT_CPU (CPU seconds), RLIMIT_AS (address space: a large
  allocation raises MemoryError), RLIMIT_FSIZE (largest file it may write, its output included),
  RLIMIT_NOFILE, no core dumps, and RLIMIT_NPROC when not root (the kernel ignores it for root;
  outside a user namespace it counts all of the user's processes, not only the sandbox's);
- the working directory, HOME and TMPDIR are the temporary directory; the environment is
  replaced; the interpreter runs with -I -S (no user site, no site-packages, no PYTHON* variables);
- a Python guard: an audit hook (PEP 578, cannot be removed once added) that refuses to open a
  file for writing outside the temporary directory, to read outside it and the standard library,
  to delete/rename/chmod outside it, to create sockets, to start processes (fork, exec, spawn,
  os.system, subprocess), to load C libraries (ctypes) and to change resource limits.
  It stops what buggy code does by accident. It is NOT a security boundary: code written to
  escape an in-process Python guard (e.g. by reaching C through a module it did not block) can.

Where the kernel allows it (root, or unprivileged user namespaces), checked by running a probe:
- network namespace: the program has no network interface at all (not even a working loopback),
  whatever it calls;
- pid namespace with its own /proc: the program is process 1 there; every process it starts dies
  with it, and it cannot see or signal any process outside;
- mount namespace and a new root: the program's / is a tmpfs holding bind mounts of /usr, /etc, /dev,
  the interpreter's own tree and the temporary directory only, all read-only but that directory, so
  it can neither write anywhere else nor read the user's other files, even through C;
- all capabilities dropped and no-new-privs, so it cannot undo the above.
It can still read /etc and the interpreter's tree, and it shares the CPU and memory of this machine
within the limits above.

Where a cgroup `pids` controller is writable (typically root): a pids cgroup per run caps the
number of processes and threads (a fork bomb stops there even without the Python guard).
Without a pid namespace, processes of the run that left its process group are found by their
working directory or command line (both name the temporary directory) and killed.

`preexec_fn` does the namespace set-up in the forked child; as for every preexec_fn, a parent
with other threads that hold locks could in principle deadlock the child: the code there only
makes system calls (everything is resolved before the fork).
"""

import ctypes
import ctypes.util
import functools
import os
import resource
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

# ---------------------------------------------------------------------------------------------
# The bootstrap: first code the child interpreter runs; installs the guard, then the program.
# argv: -c BOOTSTRAP PROGRAM_FILE GUARD(0/1)

_BOOTSTRAP = r'''
def _main():
    import os, sys
    token = os.environ.pop("RM_SANDBOX_TOKEN", "")
    end_fd = os.dup(1)  # the end token goes here: a program that replaces sys.stdout still ends visibly
    program, guard = sys.argv[1], sys.argv[2] == "1"
    root = os.path.realpath(os.getcwd())
    if guard:
        readable = [root] + [os.path.realpath(p) for p in sys.path if p]
        readable_files = {"/dev/null", "/dev/zero", "/dev/urandom", "/dev/random", "/etc/localtime"}
        _install_guard(root, readable, readable_files)
    with open(program, encoding="utf-8") as f:
        source = f.read()
    sys.argv = [program]
    code = compile(source, program, "exec")
    try:
        # not "__main__": as in the benchmarks' own harnesses (exec with fresh globals), a solution's
        # `if __name__ == "__main__":` demo block (often reading input()) does not run
        exec(code, {"__name__": "solution", "__builtins__": __builtins__})
    except SystemExit as e:
        if e.code not in (None, 0):
            raise
        sys.stderr.write("sandbox: the program exited before it reached its end\n")
        sys.exit(3)
    for stream in (sys.stdout, sys.__stdout__):
        try:
            stream.flush()
        except Exception:
            pass
    os.write(end_fd, ("\n" + token + "\n").encode())


def _install_guard(root, readable, readable_files):
    import os, sys
    if sys.modules.get("_posixsubprocess") is None:
        import _posixsubprocess  # subprocess' fork+exec has no audit event of its own: close it here
    def _no_fork_exec(*args, **kwargs):
        raise PermissionError("sandbox: starting processes is not allowed")
    sys.modules["_posixsubprocess"].fork_exec = _no_fork_exec

    write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
    realpath, fspath, sep = os.path.realpath, os.fspath, os.sep

    def inside(path, roots):
        p = realpath(fspath(path))
        if isinstance(p, bytes):
            p = p.decode("utf-8", "surrogateescape")
        return any(p == r or p.startswith(r.rstrip(sep) + sep) for r in roots)

    def is_path(arg):
        return isinstance(arg, (str, bytes, os.PathLike))

    def deny(what):
        raise PermissionError(f"sandbox: {what} is not allowed")

    refused = {
        "os.system": "running a shell command", "os.exec": "exec", "os.posix_spawn": "starting a process",
        "os.spawn": "starting a process", "os.fork": "fork", "os.forkpty": "fork",
        "subprocess.Popen": "starting a process", "os.kill": "sending signals", "os.killpg": "sending signals",
        "socket.__new__": "network access", "socket.connect": "network access", "socket.bind": "network access",
        "socket.getaddrinfo": "network access", "socket.gethostbyname": "network access",
        "socket.gethostbyaddr": "network access", "socket.sendto": "network access",
        "ctypes.dlopen": "loading C libraries", "ctypes.dlsym": "loading C libraries",
        "ctypes.cdata": "loading C libraries",
        "resource.setrlimit": "changing resource limits", "resource.prlimit": "changing resource limits",
    }
    fresh_copies = {"_posixsubprocess": "starting processes", "_ctypes": "loading C libraries",
                    "_posixshmem": "shared memory"}
    path_writers = {
        "os.remove", "os.rmdir", "os.mkdir", "os.rename", "os.link", "os.symlink", "os.truncate",
        "os.chmod", "os.chown", "os.utime", "os.chflags", "os.lchflags", "os.setxattr",
        "os.removexattr", "os.mknod", "os.mkfifo", "shutil.rmtree", "shutil.copyfile", "shutil.move",
        "sqlite3.connect",
    }

    def hook(event, args):
        if event == "open":
            path, mode, flags = args
            if not is_path(path):
                return  # an already open file descriptor
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or bool((flags or 0) & write_flags)
            if mode is None and not inside(path, [root]) and fspath(path) not in readable_files:
                # os.open: its dir_fd argument is not in the event, so a relative path could land anywhere
                deny(f"os.open outside the working directory ({path!r})")
            if writing:
                if not inside(path, [root]):
                    deny(f"writing outside the working directory ({path!r})")
            elif not (inside(path, readable) or fspath(path) in readable_files):
                deny(f"reading outside the working directory ({path!r})")
        elif event in ("os.listdir", "os.scandir", "os.chdir"):
            if args and is_path(args[0]) and not inside(args[0], readable):
                deny(f"listing outside the working directory ({args[0]!r})")
        elif event in path_writers:
            for arg in args:
                if is_path(arg) and not inside(arg, [root]):
                    deny(f"changing files outside the working directory ({arg!r})")
        elif event in refused:
            deny(refused[event])
        elif event == "import" and args[0] in fresh_copies:  # a second copy would come without the patch above
            deny(fresh_copies[args[0]])

    sys.addaudithook(hook)


_main()
'''

# ---------------------------------------------------------------------------------------------
# Linux system calls used by the namespace layer (resolved before any fork).

_CLONE_NEWNS, _CLONE_NEWUTS, _CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
_CLONE_NEWUSER, _CLONE_NEWPID, _CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
_MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MS_BIND, _MS_REC, _MS_PRIVATE = 2, 4, 8, 4096, 16384, 1 << 18
_MOUNT_ATTR_RDONLY, _MOUNT_ATTR_NOSUID, _MOUNT_ATTR_NODEV = 1, 2, 4
_AT_FDCWD, _AT_RECURSIVE = -100, 0x8000
_SYS_MOUNT_SETATTR = 442  # the same number on x86_64 and aarch64
_PR_SET_PDEATHSIG, _PR_CAPBSET_DROP, _PR_SET_NO_NEW_PRIVS = 1, 24, 38
_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
_SYS_CAPSET = {"x86_64": 126, "aarch64": 91}.get(os.uname().machine)


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True) if sys.platform == "linux" else None


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source, target, fstype, flags) -> None:
    enc = lambda s: None if s is None else os.fsencode(s)  # noqa: E731
    _check(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), None), f"mount {target}")


def _mount_setattr(path: str, flags: int, attr_set: int = 0, attr_clr: int = 0) -> None:
    attr = _MountAttr(attr_set, attr_clr, 0, 0)
    ret = _libc.syscall(_SYS_MOUNT_SETATTR, _AT_FDCWD, os.fsencode(path), flags, ctypes.byref(attr), ctypes.sizeof(attr))
    _check(ret, f"mount_setattr {path}")


def _drop_capabilities(last_cap: int) -> None:
    _check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    for cap in range(last_cap + 1):
        _libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0)  # EINVAL for caps this kernel lacks: fine
    _libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    data = (_CapData * 2)()
    _check(_libc.syscall(_SYS_CAPSET, ctypes.byref(_CapHeader(0x20080522, 0)), data), "capset")


def _read_last_cap() -> int:
    try:
        return int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    except (OSError, ValueError):
        return 63


# ---------------------------------------------------------------------------------------------
# What runs in the forked child before exec.

@dataclass(frozen=True)
class _Limits:
    cpu_seconds: int
    memory_bytes: int
    file_bytes: int
    max_procs: int


def _set_rlimits(limits: _Limits, nproc: bool) -> None:
    settings = [
        (resource.RLIMIT_CPU, limits.cpu_seconds), (resource.RLIMIT_AS, limits.memory_bytes),
        (resource.RLIMIT_FSIZE, limits.file_bytes), (resource.RLIMIT_CORE, 0), (resource.RLIMIT_NOFILE, 256),
    ]
    if nproc:
        settings.append((resource.RLIMIT_NPROC, limits.max_procs))
    for which, value in settings:
        resource.setrlimit(which, (value, value))


def _system_paths() -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """What the program's new root shows besides its working directory: (directories bound read-only, the
    top-level symlinks such as /lib -> usr/lib). The interpreter's own tree is in it wherever it lives
    (pyenv under /root, a venv); users' files (/home, /root, /work, /tmp, /var, /run's sockets) are not."""
    wanted = ["/usr", "/etc", "/dev", sys.base_prefix, sys.prefix, os.path.dirname(os.path.realpath(sys.executable))]
    links = []
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        top = "/" + name
        if os.path.islink(top):
            links.append((top, os.readlink(top)))
        elif os.path.isdir(top):
            wanted.append(top)
    real = sorted({os.path.realpath(d) for d in wanted if os.path.isdir(d)})
    keep = [d for d in real if not any(d != o and d.startswith(o.rstrip("/") + "/") for o in real)]  # outermost only
    return tuple(keep), tuple(links)


def _enter_new_root(new_root: str, workdir: str, system) -> None:
    """chroot into a tmpfs holding bind mounts of the system directories and the working directory, at their
    own paths: the program cannot even read the user's other files (capabilities are dropped after this)."""
    directories, links = system
    _mount("tmpfs", new_root, "tmpfs", _MS_NOSUID | _MS_NODEV)
    for source in (*directories, workdir):
        target = new_root + source
        os.makedirs(target, exist_ok=True)
        _mount(source, target, None, _MS_BIND | _MS_REC)
    for link, points_to in links:
        os.symlink(points_to, new_root + link)
    os.makedirs(new_root + "/proc", exist_ok=True)
    os.chdir(new_root)
    _check(_libc.chroot(b"."), "chroot")


def _child_setup(workdir: str, new_root: str, system, limits: _Limits, namespaces: bool, cgroup_procs: str | None,
                 uid: int, gid: int, last_cap: int, nproc: bool) -> None:
    """Runs in the child after fork (new session already made), before exec of the interpreter."""
    if cgroup_procs:
        with open(cgroup_procs, "w") as f:
            f.write(str(os.getpid()))
    if namespaces:
        flags = _CLONE_NEWNS | _CLONE_NEWNET | _CLONE_NEWPID | _CLONE_NEWIPC | _CLONE_NEWUTS
        _check(_libc.unshare(flags | (_CLONE_NEWUSER if uid != 0 else 0)), "unshare")
        if uid != 0:  # be root inside a user namespace of our own, mapped to the real user outside
            for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"), ("gid_map", f"0 {gid} 1")):
                with open(f"/proc/self/{name}", "w") as f:
                    f.write(text)
        _mount(None, "/", None, _MS_REC | _MS_PRIVATE)
        _enter_new_root(new_root, workdir, system)
        _mount_setattr("/", _AT_RECURSIVE, attr_set=_MOUNT_ATTR_RDONLY | _MOUNT_ATTR_NOSUID | _MOUNT_ATTR_NODEV)
        _mount_setattr(workdir, 0, attr_clr=_MOUNT_ATTR_RDONLY)
        os.chdir(workdir)  # the old cwd is the directory under the bind mount, now read-only
        pid = os.fork()  # the new pid namespace applies to children: the program is its process 1
        if pid:
            os.closerange(0, 65536)  # keep nothing open (the parent waits on a pipe until exec)
            _, status = os.waitpid(pid, 0)
            code = os.waitstatus_to_exitcode(status)
            os._exit(128 - code if code < 0 else code)
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        _mount("proc", "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC)
        _drop_capabilities(last_cap)
    _set_rlimits(limits, nproc)


# ---------------------------------------------------------------------------------------------
# The optional pids cgroup.

def _own_cgroup_dirs() -> list[Path]:
    """Directories where this process's pids cgroup lives (v1 `pids` controller or v2 unified)."""
    dirs = []
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return dirs
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "pids" in controllers.split(","):
            dirs.append(Path("/sys/fs/cgroup/pids") / path.lstrip("/"))
        elif controllers == "":
            dirs.append(Path("/sys/fs/cgroup") / path.lstrip("/"))
    return dirs


class _PidsCgroup:
    """A cgroup of our own with pids.max set; the child joins it before exec."""

    base: Path | None = None

    def __init__(self, max_procs: int):
        self.path = self.base / f"rm-sandbox-{os.getpid()}-{secrets.token_hex(4)}"
        self.path.mkdir()
        try:
            if not (self.path / "pids.max").is_file():  # the kernel makes it: else this is no pids cgroup
                raise OSError(f"{self.base} is not a pids cgroup")
            (self.path / "pids.max").write_text(str(max_procs))
        except OSError:
            self.path.rmdir()
            raise

    @property
    def procs(self) -> str:
        return str(self.path / "cgroup.procs")

    def remove(self) -> None:
        for _ in range(200):  # processes killed a moment ago may still be exiting
            try:
                for pid in (self.path / "cgroup.procs").read_text().split():
                    _kill(int(pid))
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.005)

    @classmethod
    def find_base(cls) -> Path | None:
        for d in _own_cgroup_dirs():
            if not d.is_dir():
                continue
            cls.base = d
            try:
                cls(8).remove()
                return d
            except OSError:
                cls.base = None
        return None


# ---------------------------------------------------------------------------------------------
# The parent side.

@dataclass
class SandboxResult:
    status: str  # "passed", "failed" (error or wrong result) or "timeout"
    returncode: int | None
    stdout: str  # the last few KB
    stderr: str
    seconds: float
    workdir: str  # already deleted; named so that callers can check nothing of the run is left

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def error(self) -> str:
        """The last line of stderr (the exception), or why the process ended."""
        lines = [ln for ln in self.stderr.strip().splitlines() if ln.strip()]
        if self.status == "timeout":
            return "timed out"
        if lines:
            return lines[-1][:300]
        if self.returncode is not None and self.returncode < 0:
            return f"killed by signal {signal.Signals(-self.returncode).name}"
        return "" if self.passed else f"exit status {self.returncode}"


_LAYERS: tuple[str, ...] | None = None
_NAMESPACES = "namespaces"  # net + pid + read-only mounts + no capabilities
_CGROUP = "pids cgroup"
_NPROC = "RLIMIT_NPROC"


def isolation_layers() -> tuple[str, ...]:
    """The OS layers this machine gives beyond the ones every run has; probed on first use."""
    global _LAYERS
    if _LAYERS is None:
        _LAYERS = ()
        layers = []
        if sys.platform == "linux" and _SYS_CAPSET is not None and _namespaces_work():
            layers.append(_NAMESPACES)
        if os.geteuid() == 0 and _PidsCgroup.find_base() is not None:
            layers.append(_CGROUP)
        if os.geteuid() != 0:
            layers.append(_NPROC)
        _LAYERS = tuple(layers)
    return _LAYERS


_PROBE = """
import errno, os, socket
assert os.getpid() == 1, "not alone in a pid namespace"
try:
    open(os.path.join(os.path.dirname(os.getcwd()), "rm-sandbox-probe"), "w")
    raise AssertionError("could write outside the working directory")
except OSError as e:
    assert e.errno == errno.EROFS, e
open("inside", "w").write("ok")
s = socket.socket()
try:
    s.connect(("127.0.0.1", 9))
    raise AssertionError("network reachable")
except OSError as e:
    assert e.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL), e
assert open("/proc/self/status").read().split("CapEff:")[1].split()[0].strip("0") == ""
assert not os.path.exists(HIDDEN), "the user's files are in sight"
"""


def _namespaces_work() -> bool:
    try:
        result = _run(f"HIDDEN = {os.path.abspath(__file__)!r}\n" + _PROBE, timeout=10, memory_mb=1024, max_procs=32, max_file_mb=1, python_guard=False,
                      layers=(_NAMESPACES,))
    except (OSError, subprocess.SubprocessError):
        return False
    return result.passed  # (a write outside that got through landed in the run's folder, deleted with it)


def run_python(code: str, *, timeout: float = 5.0, memory_mb: int = 1024, max_procs: int = 32,
               max_file_mb: int = 16, python_guard: bool = True) -> SandboxResult:
    """Run `code` as a Python program in the sandbox; see the module docstring for the layers.

    timeout: wall-clock seconds (the CPU limit is the same, rounded up, plus one);
    memory_mb: address-space limit; max_procs: processes/threads (where a layer enforces it);
    max_file_mb: largest file, stdout and stderr included. `python_guard=False` turns the
    in-process guard off: for tests of the OS layers only.
    """
    return _run(code, timeout=timeout, memory_mb=memory_mb, max_procs=max_procs, max_file_mb=max_file_mb,
                python_guard=python_guard, layers=isolation_layers())


def _run(code, *, timeout, memory_mb, max_procs, max_file_mb, python_guard, layers) -> SandboxResult:
    limits = _Limits(cpu_seconds=int(timeout) + 2, memory_bytes=memory_mb * 2**20,
                     file_bytes=max_file_mb * 2**20, max_procs=max_procs)
    base = tempfile.mkdtemp(prefix="rm-sandbox-")  # work/: the program's folder; root/: its new root's mount point
    workdir, new_root = os.path.join(base, "work"), os.path.join(base, "root")
    os.mkdir(workdir)
    os.mkdir(new_root)
    cgroup = None
    token = secrets.token_hex(16)
    env = {"PATH": "/usr/bin:/bin", "HOME": workdir, "TMPDIR": workdir, "LANG": "C.UTF-8", "RM_SANDBOX_TOKEN": token}
    try:
        if _CGROUP in layers:
            cgroup = _PidsCgroup(max_procs)
        setup = functools.partial(
            _child_setup, workdir, new_root, _system_paths(), limits, _NAMESPACES in layers, cgroup.procs if cgroup else None,
            os.geteuid(), os.getegid(), _read_last_cap(), _NPROC in layers)
        program = os.path.join(workdir, "solution.py")  # absolute: every process of the run names workdir
        Path(program).write_text(code, encoding="utf-8")
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            start = time.monotonic()
            proc = subprocess.Popen(
                # the interpreter itself, not a venv's link to it (the link's folder is not in the new root)
                [os.path.realpath(sys.executable), "-I", "-S", "-c", _BOOTSTRAP, program, "1" if python_guard else "0"],
                cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                start_new_session=True, preexec_fn=setup)
            timed_out = not _wait(proc, timeout)
            _kill_group(proc.pid)
            returncode = proc.wait()
            seconds = time.monotonic() - start
            stdout, stderr = _tail(out), _tail(err)
    finally:
        if _NAMESPACES not in layers:  # in a pid namespace, all of them died with the program
            _kill_leftovers(workdir)
        if cgroup:
            cgroup.remove()
        shutil.rmtree(base, ignore_errors=True)
    if timed_out or returncode in (-signal.SIGXCPU, 128 + signal.SIGXCPU):
        status = "timeout"
    elif returncode == 0 and token in stdout:
        status = "passed"
    else:
        status = "failed"
    stdout = stdout.replace("\n" + token + "\n", "").replace(token, "").rstrip("\n")
    return SandboxResult(status, returncode, stdout, stderr, seconds, workdir)


def _wait(proc: subprocess.Popen, timeout: float) -> bool:
    """Wait for the process to exit; False on timeout. A pidfd wakes us the moment it exits
    (Popen.wait(timeout) polls with sleeps of up to 50 ms, which would double a short run)."""
    try:
        pidfd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):
        try:
            proc.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False
    try:
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        return bool(poller.poll(timeout * 1000))
    finally:
        os.close(pidfd)


def _tail(f, limit: int = 8192) -> str:
    f.seek(0, os.SEEK_END)
    f.seek(max(0, f.tell() - limit))
    return f.read().decode("utf-8", "replace")


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _kill_leftovers(workdir: str) -> None:
    """Kill any process of this run that left the process group: every one of them was started
    with the program's path, inside `workdir`, on its command line."""
    marker = os.fsencode(workdir)
    for _ in range(3):
        found = False
        for pid in leftover_processes(marker):
            _kill(pid)
            found = True
        if not found:
            return
        time.sleep(0.01)


def leftover_processes(marker: bytes) -> list[int]:
    """Processes (other than zombies) whose command line or working directory mention `marker`."""
    pids = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            cmdline = Path(entry.path, "cmdline").read_bytes()
            cwd = os.fsencode(os.readlink(Path(entry.path, "cwd")))
            state = Path(entry.path, "stat").read_bytes().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if state != b"Z" and (marker in cmdline or cwd.startswith(marker)):
            pids.append(int(entry.name))
    return pids
