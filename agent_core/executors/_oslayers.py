"""OS isolation layers the sandbox worker applies to itself before running any code.

Each layer is tried, and what happened is reported (never silently skipped): the
kernel or container may not allow some (a Docker Space often lacks user
namespaces), and the executor must still start with the layers that work.

Order matters: the network namespace needs capabilities, so it comes first; then
privileges are dropped; then rlimits; then Landlock and seccomp, which need
``no_new_privs`` and must be applied while the process is still single-threaded
(both restrict the calling thread and the threads it creates later).
"""

from __future__ import annotations

import ctypes
import errno
import os
import resource
import sys
from typing import Any, Iterable

__all__ = ["apply_layers", "set_step_cpu_limit", "readable_by_others", "LAYERS"]

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
CLONE_THREAD = 0x00010000
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
NOBODY = 65534
_MB = 1 << 20


def _errno_text() -> str:
    code = ctypes.get_errno()
    return f"{errno.errorcode.get(code, code)}: {os.strerror(code)}"


# --- network namespace and privileges -------------------------------------------


def unshare_network() -> dict[str, Any]:
    """A new, empty network namespace (only a downed loopback): no network at all."""
    if os.geteuid() == 0:
        if _libc.unshare(CLONE_NEWNET) == 0:
            return {"ok": True, "detail": "network namespace"}
        return {"ok": False, "detail": f"unshare(CLONE_NEWNET): {_errno_text()}"}
    uid, gid = os.getuid(), os.getgid()
    if _libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0:
        return {"ok": False, "detail": f"unshare(user+net): {_errno_text()} "
                                       "(user namespaces unavailable)"}
    try:
        for path, text in (("/proc/self/setgroups", "deny"),
                           ("/proc/self/uid_map", f"{uid} {uid} 1"),
                           ("/proc/self/gid_map", f"{gid} {gid} 1")):
            with open(path, "w") as fh:
                fh.write(text)
    except OSError as err:
        return {"ok": True, "detail": f"user+network namespace (id maps failed: {err})"}
    return {"ok": True, "detail": "user+network namespace"}


def drop_privileges(target_uid: int | None) -> dict[str, Any]:
    """Become ``target_uid`` if asked (host was root), and drop every capability."""
    report: dict[str, Any] = {"uid": os.getuid()}
    if target_uid is not None and os.geteuid() == 0:
        try:
            os.setgroups([])
            os.setgid(target_uid)
            os.setuid(target_uid)
            report["uid"] = target_uid
        except OSError as err:
            report["uid_error"] = str(err)
    report["capabilities_dropped"] = _drop_capabilities()
    return report


def _drop_capabilities() -> bool:
    for cap in range(64):  # the bounding set: caps cannot come back on exec
        if _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            break
    _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    header, data = Header(0x20080522, 0), (Data * 2)()
    return _libc.capset(ctypes.byref(header), ctypes.byref(data)) == 0


def readable_by_others(path: str) -> bool:
    """Whether a non-owner user could read ``path`` (every parent searchable)."""
    path = os.path.realpath(path)
    parts = path.split(os.sep)
    for i in range(2, len(parts) + 1):
        current = os.sep.join(parts[:i]) or os.sep
        try:
            mode = os.stat(current).st_mode
        except OSError:
            return False
        if not mode & 0o001 and os.path.isdir(current):
            return False
    return bool(os.stat(path).st_mode & 0o004)


# --- rlimits ----------------------------------------------------------------------


def set_rlimits(memory_mb: int, file_mb: int, cpu_step_s: int) -> dict[str, Any]:
    """Address space, file size, open files, processes, CPU time and core dumps.

    The CPU limit is a soft limit moved before each step (:func:`set_step_cpu_limit`):
    the worker lives for many steps, and only the current one must be bounded.
    """
    report: dict[str, Any] = {}
    wanted = {
        "as_mb": (resource.RLIMIT_AS, memory_mb * _MB, None),
        "fsize_mb": (resource.RLIMIT_FSIZE, file_mb * _MB, None),
        "nofile": (resource.RLIMIT_NOFILE, 256, None),
        "core": (resource.RLIMIT_CORE, 0, None),
        "cpu_s_per_step": (resource.RLIMIT_CPU, cpu_step_s, resource.RLIM_INFINITY),
        "nproc": (resource.RLIMIT_NPROC, _nproc_limit(), None),
    }
    for label, (which, value, hard) in wanted.items():
        try:
            resource.setrlimit(which, (value, value if hard is None else hard))
            report[label] = value // _MB if label.endswith("_mb") else value
        except (ValueError, OSError) as err:
            report[label] = f"failed: {err}"
    if os.getuid() == 0:
        report["nproc"] = "not enforced for uid 0 (seccomp blocks process creation)"
    return report


def _nproc_limit() -> int:
    """Threads the worker's uid runs now plus headroom (NPROC counts all of them)."""
    uid, count = os.getuid(), 0
    try:
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    if os.stat(f"/proc/{pid}").st_uid == uid:
                        count += len(os.listdir(f"/proc/{pid}/task"))
                except OSError:
                    continue
    except OSError:
        return 4096
    return count + 64


def set_step_cpu_limit(step_timeout_s: float) -> None:
    """Soft CPU limit for the next step: SIGXCPU kills a worker stuck in C code."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    spent = int(used.ru_utime + used.ru_stime)
    _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = spent + int(step_timeout_s) + 5
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    try:
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
    except (ValueError, OSError):
        pass


# --- Landlock -----------------------------------------------------------------------

_FS_READ_FILE, _FS_READ_DIR, _FS_WRITE_FILE = 1 << 2, 1 << 3, 1 << 1
_FS_TRUNCATE, _FS_IOCTL_DEV = 1 << 14, 1 << 15


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _landlock_abi() -> int:
    abi = _libc.syscall(444, None, 0, 1)  # LANDLOCK_CREATE_RULESET_VERSION
    return abi if abi > 0 else 0


def apply_landlock(read_paths: Iterable[str], write_paths: Iterable[str],
                   rw_files: Iterable[str] = ()) -> dict[str, Any]:
    """Confine the filesystem to ``write_paths`` (full access) and ``read_paths``
    (read-only); deny TCP bind/connect (ABI >= 4), signals and abstract UNIX sockets
    outside the sandbox (ABI >= 6)."""
    abi = _landlock_abi()
    if not abi:
        return {"ok": False, "detail": f"Landlock unavailable ({_errno_text()})"}
    fs_all = (1 << 13) - 1
    fs_all |= (1 << 13) if abi >= 2 else 0  # REFER
    fs_all |= _FS_TRUNCATE if abi >= 3 else 0
    fs_all |= _FS_IOCTL_DEV if abi >= 5 else 0
    attr = _RulesetAttr(fs_all, 0b11 if abi >= 4 else 0, 0b11 if abi >= 6 else 0)
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    ruleset = _libc.syscall(444, ctypes.byref(attr), size, 0)
    if ruleset < 0:
        return {"ok": False, "detail": f"landlock_create_ruleset: {_errno_text()}"}
    file_rights = _FS_READ_FILE | _FS_WRITE_FILE | (_FS_TRUNCATE if abi >= 3 else 0)
    granted: list[str] = []
    try:
        for path in dict.fromkeys(read_paths):
            if _add_rule(ruleset, path, _FS_READ_FILE | _FS_READ_DIR, _FS_READ_FILE):
                granted.append(path)
        for path in dict.fromkeys(rw_files):
            _add_rule(ruleset, path, file_rights, file_rights)
        for path in dict.fromkeys(write_paths):
            if not _add_rule(ruleset, path, fs_all, file_rights):
                return {"ok": False, "detail": f"cannot add a rule for {path}"}
        if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 or \
                _libc.syscall(446, ruleset, 0) != 0:
            return {"ok": False, "detail": f"landlock_restrict_self: {_errno_text()}"}
    finally:
        os.close(ruleset)
    return {"ok": True, "abi": abi, "network_tcp_denied": abi >= 4,
            "signals_scoped": abi >= 6, "read_only": granted, "read_write": list(write_paths)}


def _add_rule(ruleset: int, path: str, dir_rights: int, file_rights: int) -> bool:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        rights = dir_rights if os.path.isdir(path) else file_rights
        rule = _PathBeneath(rights, fd)
        return _libc.syscall(445, ruleset, 1, ctypes.byref(rule), 0) == 0
    finally:
        os.close(fd)


# --- seccomp ------------------------------------------------------------------------

_DENIED_SYSCALLS = (
    "socket", "socketpair", "execve", "execveat", "fork", "vfork", "ptrace",
    "process_vm_readv", "process_vm_writev", "mount", "umount2", "pivot_root", "chroot",
    "unshare", "setns", "bpf", "perf_event_open", "kexec_load", "kexec_file_load",
    "init_module", "finit_module", "delete_module", "keyctl", "add_key", "request_key",
    "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
    "open_by_handle_at", "name_to_handle_at", "reboot", "swapon", "swapoff", "acct",
    "quotactl", "settimeofday", "clock_settime", "adjtimex", "sethostname",
    "setdomainname", "syslog", "pidfd_getfd", "pidfd_send_signal", "kcmp", "iopl",
    "ioperm", "fanotify_init", "move_mount", "fsopen", "fsmount", "open_tree",
)


def load_seccomp_binding() -> Any:
    """Import a seccomp binding (before Landlock: finding libseccomp may run ldconfig)."""
    import ctypes.util

    known = {"c": "libc.so.6", "seccomp": "libseccomp.so.2"}
    original = ctypes.util.find_library

    def find_library(name: str) -> str | None:
        # pyseccomp calls find_library, which spawns ldconfig twice; the usual sonames
        # load directly, ~30 ms faster.
        soname = known.get(name)
        if soname:
            try:
                ctypes.CDLL(soname)
                return soname
            except OSError:
                pass
        return original(name)

    ctypes.util.find_library = find_library
    try:
        import pyseccomp

        return pyseccomp
    except (ImportError, RuntimeError):
        try:
            import seccomp  # Debian's python3-seccomp

            return seccomp
        except ImportError:
            return None
    finally:
        ctypes.util.find_library = original


def apply_seccomp(sc: Any) -> dict[str, Any]:
    """Deny sockets, process creation (threads stay allowed), exec, ptrace, mounts..."""
    if sc is None:
        return {"ok": False, "detail": "no seccomp binding (pip install pyseccomp; needs "
                                       "libseccomp2)"}
    try:
        filt = sc.SyscallFilter(sc.ALLOW)
        deny = sc.ERRNO(errno.EPERM)
        for name in _DENIED_SYSCALLS:
            try:
                filt.add_rule(deny, name)
            except Exception:  # noqa: BLE001 - syscall unknown on this architecture
                continue
        # clone without CLONE_THREAD creates a process; with it, a thread (allowed).
        filt.add_rule(deny, "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_THREAD, 0))
        # glibc falls back from clone3 to clone on ENOSYS, where flags can be checked.
        filt.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
        filt.load()
    except Exception as err:  # noqa: BLE001 - any failure: report the layer missing
        return {"ok": False, "detail": f"seccomp filter failed: {err}"}
    return {"ok": True, "denied": ["socket", "process creation", "exec", "ptrace",
                                   "mount/namespaces", "kernel admin"]}


# --- all together ---------------------------------------------------------------------


LAYERS = ("network_namespace", "privileges", "rlimits", "landlock", "seccomp")


def apply_layers(config: dict[str, Any]) -> dict[str, Any]:
    """Apply every layer ``config["layers"]`` asks for; return what is in force.

    ``config`` keys: layers, scratch, read_paths, memory_mb, file_mb, timeout,
    drop_uid (uid or None).
    """
    wanted = set(config.get("layers", LAYERS))
    off = {"ok": False, "detail": "disabled by configuration"}
    seccomp_binding = load_seccomp_binding() if "seccomp" in wanted else None
    report: dict[str, Any] = {"env_scrubbed": True}
    report["network_namespace"] = unshare_network() if "network_namespace" in wanted else off
    report["privileges"] = drop_privileges(config.get("drop_uid")) \
        if "privileges" in wanted else {"uid": os.getuid(), "capabilities_dropped": False}
    report["rlimits"] = set_rlimits(config["memory_mb"], config["file_mb"],
                                    int(config.get("timeout") or 3600) + 5) \
        if "rlimits" in wanted else {}
    _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)  # no ptrace/proc access to this process
    report["no_new_privs"] = _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0
    report["landlock"] = apply_landlock(config["read_paths"], [config["scratch"]],
                                        rw_files=["/dev/null"]) if "landlock" in wanted else off
    report["seccomp"] = apply_seccomp(seccomp_binding) if "seccomp" in wanted else off
    return report


def default_read_paths(package_dir: str) -> list[str]:
    """Read-only paths the worker needs: the Python install, libraries, this package."""
    import sysconfig

    paths = [sys.prefix, sys.base_prefix, sys.exec_prefix, package_dir,
             *(sysconfig.get_paths().get(k, "") for k in ("stdlib", "platstdlib", "purelib",
                                                          "platlib")),
             "/usr", "/lib", "/lib64", "/lib32", "/etc/ld.so.cache", "/etc/localtime",
             "/dev/urandom", "/dev/random", "/dev/zero"]
    prefixes = tuple(os.path.realpath(p) + os.sep for p in {sys.prefix, sys.base_prefix})
    for entry in sys.path:
        # Installed packages only: not the script's or the project's own directory (which
        # may hold .env files or data); editable installs go in ``extra_read_paths``.
        real = os.path.realpath(entry) if entry else ""
        if real and (real.startswith(prefixes) or "site-packages" in real
                     or "dist-packages" in real):
            paths.append(entry)
    return [p for p in dict.fromkeys(paths) if p and os.path.exists(p)]
