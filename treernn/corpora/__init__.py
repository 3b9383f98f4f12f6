"""Corpora: treebank files, labeled-tree TSV files, the Stanford Sentiment Treebank and SICK's
sentence pairs.

Pure Python: importing this package imports neither torch, DGL nor spaCy.
"""

from treernn.corpora.files import ReadResult, parse_tree_line, read_text, read_treebank
from treernn.corpora.labeled import (
    LabeledTree,
    format_labeled_tree,
    parse_labeled_line,
    read_labeled_trees,
    write_labeled_trees,
)
from treernn.corpora.sick import (
    ENTAILMENT_LABELS,
    SICK_URL,
    SickPair,
    download_sick,
    find_sick,
    load_sick,
    read_sick,
    sick_cache_dir,
)
from treernn.corpora.sst import (
    SST_URL,
    SSTSplits,
    download_sst,
    find_sst,
    load_sst,
    sst_cache_dir,
    sst_stats,
)

__all__ = [
    "ReadResult",
    "read_text",
    "read_treebank",
    "parse_tree_line",
    "LabeledTree",
    "parse_labeled_line",
    "format_labeled_tree",
    "read_labeled_trees",
    "write_labeled_trees",
    "SST_URL",
    "SSTSplits",
    "find_sst",
    "download_sst",
    "load_sst",
    "sst_cache_dir",
    "sst_stats",
    "SICK_URL",
    "ENTAILMENT_LABELS",
    "SickPair",
    "find_sick",
    "download_sick",
    "read_sick",
    "load_sick",
    "sick_cache_dir",
]
