"""Each seed's view of the facts: every run replaced by its replicate k, the probe cut to its seed k, or each CNN cell
run over seeds (the linear probe's) replaced by its seed k. A claim is judged on each view as it is on the seeds'
mean (core.assess)."""

# Where a claim's seeds come from: the MLP runs' replicates, the gradient probe's seeds, the CNN cells' replicates
# (cells of one seed stay as they are in every view), or nowhere (one run: its noise is binomial).
RUNS, PROBE, CNN, ONE = "runs", "probe", "cnn", "one"
SUMMARY = ("final_", "best_")  # a mean run's summary values, stale in a replicate's view: dropped there
PER_SEED = ("seeds", "grad_sq_norm", "dead_fraction", "final_validation_acc", "diverged", "collapsed")  # probe lists


def _replicated(node):
    """Every node holding a `replicates` list (a RUN, a grid cell, the best model's test points)."""
    if isinstance(node, dict):
        if isinstance(node.get("replicates"), list):
            yield node
        for value in node.values():
            yield from _replicated(value)


def project(node, k: int):
    """`node` as replicate k saw it: each replicated node replaced by its k-th replicate, {} where it has fewer."""
    if not isinstance(node, dict):
        return node
    replicates = node.get("replicates")
    if isinstance(replicates, list):
        if k >= len(replicates):
            return {}
        mean = {key: v for key, v in node.items() if key != "replicates" and not key.startswith(SUMMARY)}
        return {**mean, **replicates[k]}
    return {key: project(value, k) for key, value in node.items()}


def probe_seed(probe: dict, k: int) -> dict:
    """The probe facts of seed k alone: each variant's per-seed lists cut to [k]."""

    def cut(variant):
        return {**variant, **{key: variant[key][k : k + 1] for key in PER_SEED if isinstance(variant.get(key), list)}}

    return {key: cut(value) if isinstance(value, dict) else value for key, value in probe.items()}


def _probe(facts) -> dict:
    probe = facts.get("probe") if isinstance(facts, dict) else None
    return probe if isinstance(probe, dict) else {}


def _scope(facts, over: str) -> dict:
    """The part of the facts a kind of claim projects: the CNN study (CNN), or everything else (RUNS)."""
    if not isinstance(facts, dict):
        return {}
    return {k: v for k, v in facts.items() if (k == "cnn") == (over == CNN)}


def seed_count(facts: dict, over: str) -> int:
    """How many seeds a claim of kind `over` is judged over (1: its facts are its one seed)."""
    if over == PROBE:
        variants = [v for v in _probe(facts).values() if isinstance(v, dict) and isinstance(v.get("seeds"), list)]
        return max((len(v["seeds"]) for v in variants), default=1)
    if over in (RUNS, CNN):
        return max((len(node["replicates"]) for node in _replicated(_scope(facts, over))), default=1)
    return 1


def shared_count(facts: dict, over: str) -> int:
    """How many seeds every replicated part of a claim's scope has (the CNN study: its cells run over 3 seeds beside
    the linear probe's 8); views past it are missing some part."""
    if over in (RUNS, CNN):
        return min((len(node["replicates"]) for node in _replicated(_scope(facts, over))), default=1)
    return seed_count(facts, over)


def seed_views(facts: dict, over: str, cache: dict | None = None) -> list:
    """Each seed's view of the facts, [] with one seed; `cache` shares them between the claims of one check_all."""
    if cache is not None and over in cache:
        return cache[over]
    n = seed_count(facts, over)
    if n < 2:
        views = []
    elif over == PROBE:
        views = [{**facts, "probe": probe_seed(_probe(facts), k)} for k in range(n)]
    else:
        views = [{**facts, **project(_scope(facts, over), k)} for k in range(n)]
    if cache is not None:
        cache[over] = views
    return views
