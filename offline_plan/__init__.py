"""The offline plan: what `pulumi up` would do for a stack, with no CLI, cloud or credentials.

Not infrastructure: tooling that runs the real program under Pulumi's mock runtime.

    __main__.py        the command line (`python -m offline_plan <stack>`)
    runtime.py         mocks that answer like the providers, and the recording monitor
    report.py          renderings: tree, JSON, manifests, diff, markdown
    config_reference.py the README's config reference, generated from the config models
"""
