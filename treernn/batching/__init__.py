"""Batches: trees and token sequences as index tensors, built once per batch on the CPU.

Importing this package imports torch and numpy, never DGL.
"""

from treernn.batching.tree import TreeBatch, TreeBatchError, TreePlan, batch_trees, plan_tree
