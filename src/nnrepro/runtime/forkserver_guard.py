"""Imported by the fork server alone (parallel.PRELOAD), never by a stage: the kernel kills the fork server when the
stage that started it dies, even by SIGKILL, and its workers then die with it (each asked the same at start).
Without this, a stage killed outright would leave its workers training: they hold the fork server's liveness pipe
open, so the fork server never learns that the stage is gone."""

from nnrepro.runtime import parallel

parallel.die_with_parent()
