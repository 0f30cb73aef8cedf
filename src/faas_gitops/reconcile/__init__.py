"""The reconcile core: classify, read remote state, plan purely, write, run them once."""
