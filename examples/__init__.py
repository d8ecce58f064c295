"""The example comparisons: one runnable program per question, also `autograd_mini.examples.NAME`.

Each answers a public question about gradient descent for linear regression, or takes the
next step to classification (listed in `autograd_mini.compare.QUESTIONS`, and linked from
the demo's report). Each module has a
`main(out=None)` returning an `autograd_mini.compare.Comparison`; run one with
`python examples/NAME.py [--out DIR]` or `autograd-mini compare NAME`, all seven with
`autograd-mini demo`.
"""
