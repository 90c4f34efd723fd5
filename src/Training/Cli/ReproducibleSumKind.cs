namespace AllReduceNet.Training.Cli;

/// <summary>How ddp --reproducible sums the micro-batch gradients (--reproducible-sum, docs/reproducible.md).</summary>
internal enum ReproducibleSumKind
{
    /// <summary>Floats added in a fixed binary-tree order: the kernel within a rank, recursive doubling or halving across ranks.
    /// Needs power-of-two part and rank counts and --algorithm auto, rd or rh.</summary>
    Tree,

    /// <summary>The binned fixed-point reproducible sum of every micro-batch gradient: any rank count dividing the
    /// parts, any algorithm, slower.</summary>
    Exact,
}
