"""Helpers of the studies beyond the exercises: the code-size hyper-parameter search (`search`) and
fine-tuning a pretrained encoder (`finetune`)."""
