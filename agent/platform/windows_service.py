"""The agent as a Windows service: the service control protocol through ctypes (advapi32).

The MSI (deploy/windows/, docs/operations.md) registers `python.exe -m fleetprint agent service
--config ...` as the service `fleetprint-agent`. The embeddable python.exe cannot be a service
by itself, and a wrapper (pywin32's pythonservice, WinSW) would be a heavy dependency or a
binary download: the protocol is four calls, made here. `run_as_service` hands the main thread
to StartServiceCtrlDispatcherW; the Service Control Manager then calls `ServiceMain` on a
thread of its own, which reports RUNNING and runs the agent until the SCM asks it to stop
(STOP or SHUTDOWN: `Agent.stop`, what SIGTERM does on Linux). The agent's exit code becomes the
service's: 1 (the forwarder failed) is a failure, and `set_restart_on_failure` (called by
`fleetprint agent configure` at install) has the SCM restart the service then, as systemd's
Restart=on-failure does.
"""

from __future__ import annotations

import ctypes
import logging
import threading
from collections.abc import Callable
from ctypes import wintypes

log = logging.getLogger(__name__)

SERVICE_NAME = "fleetprint-agent"

_SERVICE_WIN32_OWN_PROCESS = 0x10
_SERVICE_START_PENDING, _SERVICE_STOP_PENDING, _SERVICE_RUNNING, _SERVICE_STOPPED = 2, 3, 4, 1
_SERVICE_CONTROL_STOP, _SERVICE_CONTROL_INTERROGATE, _SERVICE_CONTROL_SHUTDOWN = 1, 4, 5
_SERVICE_ACCEPT_STOP, _SERVICE_ACCEPT_SHUTDOWN = 1, 4
_ERROR_SERVICE_SPECIFIC_ERROR = 1066
_ERROR_CALL_NOT_IMPLEMENTED = 120
_SERVICE_CONFIG_FAILURE_ACTIONS, _SERVICE_CONFIG_FAILURE_ACTIONS_FLAG = 2, 4
_SC_ACTION_RESTART = 1
_SERVICE_CHANGE_CONFIG, _SERVICE_START = 0x0002, 0x0010
_SC_MANAGER_CONNECT = 0x0001


class _ServiceStatus(ctypes.Structure):
    _fields_ = [("dwServiceType", wintypes.DWORD), ("dwCurrentState", wintypes.DWORD),
                ("dwControlsAccepted", wintypes.DWORD), ("dwWin32ExitCode", wintypes.DWORD),
                ("dwServiceSpecificExitCode", wintypes.DWORD), ("dwCheckPoint", wintypes.DWORD),
                ("dwWaitHint", wintypes.DWORD)]


class _ScAction(ctypes.Structure):
    _fields_ = [("Type", ctypes.c_int), ("Delay", wintypes.DWORD)]


class _FailureActions(ctypes.Structure):
    _fields_ = [("dwResetPeriod", wintypes.DWORD), ("lpRebootMsg", wintypes.LPWSTR),
                ("lpCommand", wintypes.LPWSTR), ("cActions", wintypes.DWORD),
                ("lpsaActions", ctypes.POINTER(_ScAction))]


class _FailureActionsFlag(ctypes.Structure):
    _fields_ = [("fFailureActionsOnNonCrashFailures", wintypes.BOOL)]


# The service manager's callbacks use the stdcall convention (WINFUNCTYPE, Windows only); elsewhere
# the types are only declared, so that the module imports on every OS.
_CALLBACK = getattr(ctypes, "WINFUNCTYPE", ctypes.CFUNCTYPE)
_SERVICE_MAIN = _CALLBACK(None, wintypes.DWORD, ctypes.POINTER(wintypes.LPWSTR))
_HANDLER_EX = _CALLBACK(wintypes.DWORD, wintypes.DWORD, wintypes.DWORD, wintypes.LPVOID, wintypes.LPVOID)


class _TableEntry(ctypes.Structure):
    _fields_ = [("lpServiceName", wintypes.LPWSTR), ("lpServiceProc", _SERVICE_MAIN)]


def _advapi32():  # resolved on Windows only: the module imports everywhere, for the tests' sake
    advapi32 = ctypes.WinDLL("advapi32", use_last_error=True)  # type: ignore[attr-defined]
    advapi32.RegisterServiceCtrlHandlerExW.restype = wintypes.HANDLE
    advapi32.RegisterServiceCtrlHandlerExW.argtypes = (wintypes.LPCWSTR, _HANDLER_EX, wintypes.LPVOID)
    advapi32.SetServiceStatus.argtypes = (wintypes.HANDLE, ctypes.POINTER(_ServiceStatus))
    advapi32.StartServiceCtrlDispatcherW.argtypes = (ctypes.POINTER(_TableEntry),)
    advapi32.OpenSCManagerW.restype = wintypes.HANDLE
    advapi32.OpenSCManagerW.argtypes = (wintypes.LPCWSTR, wintypes.LPCWSTR, wintypes.DWORD)
    advapi32.OpenServiceW.restype = wintypes.HANDLE
    advapi32.OpenServiceW.argtypes = (wintypes.HANDLE, wintypes.LPCWSTR, wintypes.DWORD)
    advapi32.ChangeServiceConfig2W.argtypes = (wintypes.HANDLE, wintypes.DWORD, wintypes.LPVOID)
    advapi32.CloseServiceHandle.argtypes = (wintypes.HANDLE,)
    return advapi32


class AgentService:
    """One run of the service: `start()` runs the agent and returns its exit code; `stop()` ends it."""

    def __init__(self, start: Callable[[], int], stop: Callable[[], None]) -> None:
        self.start, self.stop = start, stop


def run_as_service(make_service: Callable[[], AgentService]) -> int:
    """Serve the SCM until the service stops; the agent's exit code. Raises OSError when not
    started by the SCM (ERROR_FAILED_SERVICE_CONTROLLER_CONNECT, 1063: a console run)."""
    advapi32 = _advapi32()
    result = {"code": 0}
    status = _ServiceStatus(_SERVICE_WIN32_OWN_PROCESS, _SERVICE_START_PENDING, 0, 0, 0, 0, 10_000)
    handle_box: dict[str, int] = {}
    stopping = threading.Event()
    service_box: dict[str, AgentService] = {}

    def report(state: int, accepted: int = 0, exit_code: int = 0) -> None:
        status.dwCurrentState, status.dwControlsAccepted = state, accepted
        status.dwWin32ExitCode = _ERROR_SERVICE_SPECIFIC_ERROR if exit_code else 0
        status.dwServiceSpecificExitCode = exit_code
        advapi32.SetServiceStatus(handle_box["handle"], ctypes.byref(status))

    @_HANDLER_EX
    def handler(control, _event_type, _event_data, _context):  # the SCM's requests, on the dispatcher's thread
        if control in (_SERVICE_CONTROL_STOP, _SERVICE_CONTROL_SHUTDOWN):
            if not stopping.is_set():
                stopping.set()
                report(_SERVICE_STOP_PENDING)
                if "service" in service_box:  # else it is loading, and will not start
                    service_box["service"].stop()
            return 0
        if control == _SERVICE_CONTROL_INTERROGATE:
            return 0
        return _ERROR_CALL_NOT_IMPLEMENTED

    @_SERVICE_MAIN
    def service_main(_argc, _argv):  # on a thread the SCM starts
        handle_box["handle"] = advapi32.RegisterServiceCtrlHandlerExW(SERVICE_NAME, handler, None)
        # RUNNING first, so that the SCM's wait ends and a STOP is taken while the agent loads.
        report(_SERVICE_RUNNING, _SERVICE_ACCEPT_STOP | _SERVICE_ACCEPT_SHUTDOWN)
        code = 1
        try:
            service = service_box["service"] = make_service()
            code = 0 if stopping.is_set() else service.start()
        except Exception:
            log.exception("the agent failed")
        result["code"] = code
        report(_SERVICE_STOPPED, exit_code=code)

    table = (_TableEntry * 2)(_TableEntry(SERVICE_NAME, service_main), _TableEntry(None, _SERVICE_MAIN()))
    if not advapi32.StartServiceCtrlDispatcherW(table):
        raise ctypes.WinError(ctypes.get_last_error())  # type: ignore[attr-defined]
    return result["code"]


def set_restart_on_failure(name: str = SERVICE_NAME, delays_s: tuple[int, ...] = (10, 60, 300),
                           reset_s: int = 86_400) -> None:
    """Have the SCM restart the service after a crash or a non-zero exit, after each delay in turn
    (the last one repeats); the count of failures resets after `reset_s` without one. Raises OSError."""
    advapi32 = _advapi32()
    manager = advapi32.OpenSCManagerW(None, None, _SC_MANAGER_CONNECT)
    if not manager:
        raise ctypes.WinError(ctypes.get_last_error())  # type: ignore[attr-defined]
    try:
        service = advapi32.OpenServiceW(manager, name, _SERVICE_CHANGE_CONFIG | _SERVICE_START)
        if not service:
            raise ctypes.WinError(ctypes.get_last_error())  # type: ignore[attr-defined]
        try:
            actions = (_ScAction * len(delays_s))(*(_ScAction(_SC_ACTION_RESTART, s * 1000) for s in delays_s))
            failure = _FailureActions(reset_s, None, None, len(delays_s), actions)
            if not advapi32.ChangeServiceConfig2W(service, _SERVICE_CONFIG_FAILURE_ACTIONS, ctypes.byref(failure)):
                raise ctypes.WinError(ctypes.get_last_error())  # type: ignore[attr-defined]
            flag = _FailureActionsFlag(True)  # a non-zero exit code counts as a failure, not only a crash
            if not advapi32.ChangeServiceConfig2W(service, _SERVICE_CONFIG_FAILURE_ACTIONS_FLAG, ctypes.byref(flag)):
                raise ctypes.WinError(ctypes.get_last_error())  # type: ignore[attr-defined]
        finally:
            advapi32.CloseServiceHandle(service)
    finally:
        advapi32.CloseServiceHandle(manager)
