"""The Europe study's training side: data, MLPs, the loop, the gradient probe, the grid."""
