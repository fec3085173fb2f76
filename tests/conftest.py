"""Shared test set-up: no test may reach a remote API by accident."""

from __future__ import annotations

import ipaddress
import os
import socket

import pytest

# Quiet, offline-friendly defaults for the libraries the tests drive.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_XET", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback", ""}


class RemoteCallBlocked(RuntimeError):
    """A test tried to talk to a host other than this machine."""


def _is_local(host) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode()
    host = str(host).strip("[]")
    if host in _LOOPBACK_NAMES or host.startswith("/"):
        return True
    try:
        ip = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    return ip.is_loopback or ip.is_unspecified


def _address_host(address):
    if isinstance(address, (tuple, list)) and address:
        return address[0]
    return None  # AF_UNIX paths and the like


@pytest.fixture(autouse=True)
def _block_remote_network(monkeypatch):
    """Fail loudly on any connection to a non-loopback host (real APIs, the Hub...)."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def guard(host):
        if not _is_local(host):
            raise RemoteCallBlocked(f"Test tried to reach remote host {host!r}; tests talk "
                                    "only to servers on 127.0.0.1")

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            guard(_address_host(address))
        return real_connect(self, address)

    def connect_ex(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            guard(_address_host(address))
        return real_connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):
        guard(host)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield
