"""Connecting to a Ray cluster from what `--ray` says."""

from __future__ import annotations

from artify_stream.errors import ArtifyError

LOCAL = "local"  # start a one-machine cluster inside this process
REACH_TIMEOUT_S = 5.0  # Ray itself retries an address that does not answer for minutes


class ClusterError(ArtifyError):
    """The cluster cannot be reached or used."""


def check_reachable(address: str) -> None:
    """A HOST:PORT (or ray://HOST:PORT) that refuses or does not answer is an error at once."""
    import socket

    host_port = address.removeprefix("ray://")
    if address in ("auto", LOCAL) or ":" not in host_port:
        return
    host, _, port = host_port.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=REACH_TIMEOUT_S):
            pass
    except ValueError:
        raise ClusterError(f"--ray {address}: not an address (auto, HOST:PORT, ray://HOST:10001 or local)") from None
    except OSError as exc:
        raise ClusterError(f"--ray {address}: cannot reach the cluster ({exc.strerror or exc.__class__.__name__})") from None


def connect(address: str, num_cpus: int | None = None):
    """`auto`, `HOST:PORT`, `ray://HOST:10001` (what ray.init takes) or `local`; returns the ray module."""
    try:
        import ray
    except ImportError:
        raise ClusterError("--ray needs Ray: pip install 'artify-stream[cluster]'") from None
    if ray.is_initialized():
        return ray
    check_reachable(address)
    kwargs = dict(include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        if address == LOCAL:
            ray.init(num_cpus=num_cpus, **kwargs)
        else:
            ray.init(address=address, **kwargs)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise ClusterError(f"--ray {address}: cannot reach the cluster ({first})") from None
    return ray
