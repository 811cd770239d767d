"""The engines ``pnyx up`` (and ``pnyx demo``) drive, built from the settings.

Each backend is named after the inventory cluster it serves
(:func:`pnyx.services.dispatch_order.serving_cluster`):

- ``local``: one :class:`~pnyx.backends.local.LocalBackend` with ``local_accelerators`` slots,
  keeping its jobs under ``local_state_dir`` (default DATA_DIR/backends/local), serving
  ``local_cluster`` when set.
- ``slurm``: one Slurm backend per configured cluster: ``slurm_conf`` / ``slurm_cluster`` /
  ``slurm_log_dir`` and optionally ``slurm_conf2`` / ``slurm_cluster2`` / ``slurm_log_dir2``
  (environment PNYX_SLURM_CONF, ...; ``deploy/slurm/dev-cluster.sh env`` prints them for the
  test clusters). Without ``slurm_conf``, $SLURM_CONF, then /etc/slurm/slurm.conf; job output
  goes to ``slurm_log_dir`` (a path the nodes share), default DATA_DIR/backends/slurm-NAME;
  ``slurm_accounting`` false when the cluster has no slurmdbd.
"""

from __future__ import annotations

import os
from pathlib import Path

from pnyx.backends.base import Backend, BackendUnavailableError
from pnyx.errors import InvalidInputError
from pnyx.services.context import ServiceContext
from pnyx.services.dispatch_order import serving_cluster
from pnyx.settings import Backend as BackendKind
from pnyx.settings import Settings

DEFAULT_SLURM_CONF = Path("/etc/slurm/slurm.conf")


def build_backends(ctx: ServiceContext, settings: Settings) -> dict[str, Backend]:
    """cluster id -> backend, for the kind of backend the settings name."""
    if settings.backend is BackendKind.LOCAL:
        name = _local_name(ctx, settings)
        return {name: _local(name, settings)}
    return _slurm_backends(ctx, settings)


def _local_name(ctx: ServiceContext, settings: Settings) -> str:
    if settings.local_cluster:
        return settings.local_cluster
    return serving_cluster(ctx, "local", "local", list(settings.local_accelerators))


def _local(name: str, settings: Settings) -> Backend:
    from pnyx.backends.local import LocalBackend

    return LocalBackend(
        name, state_dir=settings.local_state_path, accelerators=settings.local_accelerators
    )


def _slurm_backends(ctx: ServiceContext, settings: Settings) -> dict[str, Backend]:
    from pnyx.backends.slurm import SlurmBackend, SlurmConfig

    configured = [(settings.slurm_conf, settings.slurm_cluster, settings.slurm_log_dir)]
    if settings.slurm_conf2 is not None:
        configured.append((settings.slurm_conf2, settings.slurm_cluster2, settings.slurm_log_dir2))
    out: dict[str, Backend] = {}
    for conf, cluster, log_dir in configured:
        path = conf or Path(os.environ.get("SLURM_CONF", DEFAULT_SLURM_CONF))
        if not path.is_file():
            raise InvalidInputError(
                f"no Slurm configuration at {path}: set PNYX_SLURM_CONF (for the test clusters: "
                'eval "$(deploy/slurm/dev-cluster.sh env)")'
            )
        slurm_name = cluster or path.parent.parent.name
        logs = log_dir or settings.data_dir / "backends" / f"slurm-{slurm_name}"
        config = SlurmConfig(
            conf=str(path), log_dir=str(logs.resolve()), accounting=settings.slurm_accounting
        )
        backend = SlurmBackend(slurm_name, config)
        name = serving_cluster(ctx, slurm_name, "slurm", _types(backend), list(out))
        out[name] = backend
    return out


def _types(backend: Backend) -> list[str]:
    """The accelerator types of the engine's nodes ([] while it cannot be reached)."""
    try:
        return sorted({n.accelerator_type for n in backend.nodes()})
    except BackendUnavailableError:
        return []
