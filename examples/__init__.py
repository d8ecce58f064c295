"""The seed comparisons: one runnable program per question, also `autograd_mini.examples.NAME`.

Each module has a `main(out=None)` returning an `autograd_mini.compare.Result`; run one with
`python examples/NAME.py [--out DIR]` or `autograd-mini compare NAME`, all five with
`autograd-mini demo`.
"""
