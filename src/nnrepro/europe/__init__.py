"""The Europe study's training side: data, MLPs, the stacked trainer, the gradient probe, the grid."""
