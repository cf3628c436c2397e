"""The code sandbox: a correct program passes; an infinite loop, a fork bomb, a large allocation, a
write outside the temporary directory, a socket connection (to 127.0.0.1 only) and an early exit
are contained and count as failures; nothing of a run is left behind. Where this machine gives the
OS layers, the same holds with the in-process Python guard switched off."""

import os
import socket

import pytest

from rm_cli import sandbox

LAYERS = sandbox.isolation_layers()
GUARDS = [True, False] if "namespaces" in LAYERS else [True]  # guard off: the OS layers alone
PROCESS_CAP = "pids cgroup" in LAYERS or "RLIMIT_NPROC" in LAYERS


def nothing_left(result):
    return not os.path.exists(result.workdir) and sandbox.leftover_processes(os.fsencode(result.workdir)) == []


@pytest.fixture
def listener():
    """A TCP server on 127.0.0.1 that the sandboxed code tries to reach."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.setblocking(False)
    yield server
    server.close()


def was_contacted(server) -> bool:
    try:
        server.accept()[0].close()
        return True
    except BlockingIOError:
        return False


def test_correct_solution_passes_in_a_private_working_directory(monkeypatch):
    monkeypatch.setenv("RM_TEST_SECRET", "do-not-leak")
    code = (
        "import os\n"
        "def add(a, b):\n    return a + b\n"
        "assert add(2, 3) == 5\n"
        "with open('notes.txt', 'w') as f:\n    f.write('scratch')\n"
        "print(os.getcwd() == os.environ['HOME'] == os.environ['TMPDIR'], open('notes.txt').read(),"
        " 'RM_TEST_SECRET' in os.environ)\n"
    )
    result = sandbox.run_python(code, timeout=2)
    assert result.passed, result.stderr
    assert result.stdout.strip() == "True scratch False"
    assert nothing_left(result)


def test_failing_test_fails_with_its_exception():
    result = sandbox.run_python("def f():\n    return 1\nassert f() == 2, 'wrong'\n", timeout=2)
    assert result.status == "failed" and "AssertionError: wrong" in result.error


@pytest.mark.parametrize("exit_call", ["import os; os._exit(0)", "import sys; sys.exit(0)", "exit()"])
def test_exiting_before_the_tests_is_not_a_pass(exit_call):
    result = sandbox.run_python(f"{exit_call}\nassert False\n", timeout=2)
    assert result.status == "failed"


@pytest.mark.parametrize("code", ["while True:\n    pass\n", "import time\ntime.sleep(60)\n"])
def test_infinite_loop_is_stopped_at_the_timeout(code):
    result = sandbox.run_python(code, timeout=1)
    assert result.status == "timeout" and not result.passed
    assert result.seconds < 2.5
    assert nothing_left(result)


@pytest.mark.parametrize("guard", GUARDS)
def test_fork_bomb_is_contained(guard):
    bomb = (
        "import os\n"
        "while True:\n"
        "    try:\n        os.fork()\n"
        "    except Exception:\n        pass\n"
    )
    if not guard and not PROCESS_CAP:  # with no OS process cap, only a bounded bomb is safe to run
        bomb = bomb.replace("while True:", "for _ in range(6):") + "import time\ntime.sleep(60)\n"
    result = sandbox.run_python(bomb, timeout=1, max_procs=16, python_guard=guard)
    assert not result.passed and result.seconds < 3
    assert nothing_left(result)


if "namespaces" in LAYERS and PROCESS_CAP:  # a machine without these layers has no such claim to test
    def test_os_process_cap_limits_a_fork_bomb_without_the_python_guard():
        bomb = (
            "import os, time\n"
            "for _ in range(8):\n"  # 255 forks if nothing stops them
            "    try:\n        os.fork() or print('child', flush=True)\n"
            "    except OSError:\n        pass\n"
            "time.sleep(60)\n"
        )
        result = sandbox.run_python(bomb, timeout=1, max_procs=16, python_guard=False)
        assert result.status == "timeout"
        assert 0 < result.stdout.count("child") < 16
        assert nothing_left(result)


@pytest.mark.parametrize("guard", GUARDS)
def test_large_allocation_fails(guard):
    result = sandbox.run_python("x = bytearray(4 * 1024**3)\n", timeout=2, memory_mb=512, python_guard=guard)
    assert result.status == "failed" and "MemoryError" in result.error


@pytest.mark.parametrize("guard", GUARDS)
def test_write_outside_the_temporary_directory_fails(tmp_path, guard):
    target = tmp_path / "escaped.txt"
    result = sandbox.run_python(f"open({str(target)!r}, 'w').write('x')\n", timeout=2, python_guard=guard)
    assert result.status == "failed"
    assert ("PermissionError" if guard else "No such file or directory") in result.error  # not in the new root
    assert not target.exists()
    beside = "import os\nopen(os.path.join(os.path.dirname(os.getcwd()), 'escaped.txt'), 'w').write('x')\n"
    result = sandbox.run_python(beside, timeout=2, python_guard=guard)  # a folder the new root does show
    assert result.status == "failed"
    assert ("PermissionError" if guard else "Read-only file system") in result.error


@pytest.mark.parametrize("guard", GUARDS)
def test_reading_outside_the_temporary_directory_fails(tmp_path, guard):
    secret = tmp_path / "secret.txt"
    secret.write_text("private")
    result = sandbox.run_python(f"print(open({str(secret)!r}).read())\n", timeout=2, python_guard=guard)
    assert result.status == "failed" and "private" not in result.stdout
    if not guard:  # the new root: the user's files are not there at all
        assert "No such file or directory" in result.error


def test_a_fresh_copy_of_the_process_module_is_refused():
    """Deleting the guarded _posixsubprocess and importing it again gave an unguarded fork_exec."""
    code = "import sys\ndel sys.modules['_posixsubprocess']\nimport _posixsubprocess\nprint('escaped')\n"
    result = sandbox.run_python(code, timeout=2)
    assert result.status == "failed" and "sandbox: starting processes" in result.error and "escaped" not in result.stdout


@pytest.mark.parametrize("code", [
    "import io, sys\nsys.stdout = io.StringIO()\nassert 1 + 1 == 2\n",  # replaced stdout: still reaches its end
    "def f():\n    return 1\nif __name__ == '__main__':\n    input()\nassert f() == 1\n",  # demo block: not run
])
def test_correct_programs_pass_however_they_treat_stdout_and_main(code):
    assert sandbox.run_python(code, timeout=2).passed


@pytest.mark.parametrize("guard", GUARDS)
def test_socket_connection_fails(listener, guard):
    port = listener.getsockname()[1]
    code = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1).sendall(b'hi')\n"
    result = sandbox.run_python(code, timeout=2, python_guard=guard)
    assert result.status == "failed"
    assert not was_contacted(listener)


@pytest.mark.parametrize("code", ["import os\nos.system('true')\n",
                                  "import subprocess\nsubprocess.run(['true'])\n",
                                  "import ctypes\n"])
def test_shell_subprocess_and_c_libraries_are_refused(code):
    result = sandbox.run_python(code, timeout=2)
    assert result.status == "failed" and "sandbox:" in result.error


def test_output_flood_is_cut_off():
    result = sandbox.run_python("while True:\n    print('x' * 10000)\n", timeout=2, max_file_mb=1)
    assert not result.passed and result.seconds < 2.5
