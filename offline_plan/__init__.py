"""The offline plan: what `pulumi up` would do for a stack, with no CLI, cloud or credentials.

Not infrastructure: tooling that runs the real program under Pulumi's mock runtime.

    __main__.py          the command line (`python -m offline_plan <stack>`), exit statuses
    runtime.py           mocks that answer like the providers, and the recording monitor
    report.py            renderings of one plan: tree, JSON, manifests
    diffing.py           keyed structural diff of two values (names, not positions; secret digests)
    changes.py           create / update / replace / delete between two plans, protected-data hits
    replace_table.py     which properties force a replacement, generated from the pinned providers
    render.py            the diff as a terminal report and as one pull-request comment
    policy_check.py      the platform's policies (`policy/rules.py`) on a plan
    config_reference.py  the README's config reference, generated from the config models
"""
